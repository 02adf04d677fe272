"""One guard for the Optuna integration's own work, keeping the failures for the run's tag."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from autolog.plugin import guarded


@contextmanager
def recording(kind: str, errors: list[str]) -> Iterator[None]:
    """``guarded(kind)`` that also appends the failure to ``errors``.

    Trials run outside any patched call (on Optuna's worker threads, or in the child scope
    the objective runs in), so the core cannot attach these failures to a call: the trial's
    run gets them as its ``autolog.error`` tag from ``errors``.
    """
    with guarded(kind):
        try:
            yield
        except Exception as exc:
            errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            raise

"""The interface between the harness, its workloads and the tools they are measured with.

A **workload** is data plus one function, ``prepare(sizes) -> call``, run inside a fresh
process: ``prepare`` builds the data untimed and returns ``call(hooks)``, the timed part,
which does what a user's script does (fit, train, optimize). Where a tool needs something in
the user's code (a callback, a logger, its own calls around a fit), the workload asks
``hooks``, a :class:`Hooks` the tool provides; the bare run gets the defaults, which add
nothing. ``call`` may return a dict of extra timings in seconds (``{"search_after_fits": s}``),
reported beside the call's wall time.

A new workload is a ``Workload(...)`` in one of ``autolog/_bench/workloads/*.py`` listed in
that package's ``WORKLOADS``; a new tool is a module in ``autolog/_bench/tools/``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from autolog._bench._sizes import Sizes

#: Which set a workload belongs to: the README's headline table (issue-18 workloads, against
#: MLflow and servers), the peer comparison (every tracker, local/offline), or details.
GROUPS = ("headline", "peers", "detail")


class Hooks:
    """What a tool adds to a workload's code. These defaults add nothing (the bare run, and
    tools that patch the frameworks themselves)."""

    def sklearn_fit(self, estimator: Any, X: Any, y: Any) -> Any:
        """``estimator.fit(X, y)``; a tool without scikit-learn autologging may wrap it in the
        calls its documentation shows."""
        return estimator.fit(X, y)

    def xgboost_callbacks(self) -> list[Any]:
        return []

    @contextlib.contextmanager
    def xgboost_train(self) -> Iterator[None]:
        """Around one ``xgboost.train`` (a tool whose callback needs a run opened for it)."""
        yield

    def lightning_loggers(self) -> list[Any] | bool:
        return False

    def lightning_callbacks(self) -> list[Any]:
        return []

    def optuna_callbacks(self) -> list[Any]:
        return []

    def optuna_objective(self, objective: Callable[[Any], float]) -> Callable[[Any], float]:
        return objective

    @contextlib.contextmanager
    def metrics_run(self) -> Iterator[Callable[[dict[str, float], int], None]]:
        """A run for a hand-written training loop: yields ``log(metrics, step)`` (here a
        no-op)."""
        yield lambda metrics, step: None

    # The logging workloads call the tool's API directly; a tool without one has no row.
    def log_run(self, index: int, steps: int) -> None:
        """One run of ``steps`` metric points, one logging call per point."""
        raise NotImplementedError

    def log_model(self, model: Any, example: Any, index: int) -> None:
        """Log a fitted scikit-learn model (``example``: its training rows)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Workload:
    key: str  # "sklearn.fits": the first part is the framework
    groups: tuple[str, ...]  # of GROUPS
    title: Callable[[Sizes], str]  # what is trained, on what, at these sizes
    needs: tuple[str, ...]  # modules that must be importable
    prepare: Callable[[Sizes], Callable[[Hooks], dict[str, float] | None]]
    #: The tools' integrations this workload exercises, for the tools' "what it records" text:
    #: e.g. ("optuna", "sklearn") for a study whose trials fit scikit-learn models.
    frameworks: tuple[str, ...]
    #: Log models (and checkpoints) with each tool's default, or switch them off where the
    #: tool has an option: the headline workloads run every tool as a new user would.
    models: bool = False
    #: Tools this workload is limited to (None: every tool with an integration for it).
    tools: tuple[str, ...] | None = None
    note: str = ""
    #: Embedded store only, whatever --servers says (a workload about the local store).
    local_only: bool = False
    #: Tools left out at the smoke-test sizes (``--tiny``), with why: rows whose cost is
    #: seconds per call by design and whose code the other rows already run.
    smoke_skip: dict[str, str] = field(default_factory=dict)
    #: Also run the tools that talk to servers against one that is down (nothing listens
    #: at its address): training must go on as fast, nothing lost.
    outage: bool = False
    #: Does it record anything (a run)? The patching workload only times calls.
    records: bool = True
    #: tool -> sizes it runs at instead (at most these), where the full size would take it
    #: far too long; its row says so and what it recorded shows the difference.
    tool_sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def framework(self) -> str:
        return self.key.split(".", 1)[0]

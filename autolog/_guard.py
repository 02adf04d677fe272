"""The one guard around autolog's own work: it must never break the user's training.

``with guarded("sklearn.fit:after"): ...`` catches ``Exception`` (never ``BaseException``:
Ctrl-C and ``SystemExit`` belong to the user), emits one ``AutologWarning`` per failure kind,
and lets training go on. With ``AUTOLOG_TESTING=1`` it re-raises instead, so tests see
autolog's bugs. Every swallowed failure is also counted here, so the test suite can fail any
test in which autolog swallowed an error even when re-raising was not possible (import hooks).

Inside a patched call the failure is attached to that call, so the runs it opened end with
the training's own status and carry the error as the ``autolog.error`` tag; with the
``silent`` option the warning becomes a debug log.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from autolog._config import env_flag
from autolog._nesting import current_call
from autolog._warnings import warn_once

logger = logging.getLogger("autolog.patching")

F = TypeVar("F", bound=Callable[..., Any])

_swallowed: deque[str] = deque(maxlen=100)


def testing() -> bool:
    """``AUTOLOG_TESTING=1``: autolog's own failures raise instead of warning."""
    return env_flag("AUTOLOG_TESTING")


def is_silenced() -> bool:
    """True inside a patched call whose integration runs with ``silent=True``."""
    call = current_call.get()
    return call is not None and call.options.silent


def swallowed_errors() -> list[str]:
    """Failures autolog swallowed since the last :func:`clear_swallowed` (newest last)."""
    return list(_swallowed)


def clear_swallowed() -> None:
    _swallowed.clear()


def user_stacklevel(frame: Any = None) -> int:
    """``stacklevel`` for ``warn_once`` that points a warning at the user's code.

    Counts the frames of autolog (and of the import machinery, for import hooks) between
    the caller of ``warn_once`` and the first frame of someone else's code. ``frame``: the
    frame that calls ``warn_once`` (default: the caller of this function's caller).
    """
    # the caller of the function that calls warn_once
    frame = sys._getframe(2) if frame is None else frame.f_back
    level = 3
    while frame is not None and _is_own(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        # warnings.warn does not count the import system's frames (like this one does not)
        if frame is not None and not _is_import_system(frame.f_code.co_filename):
            level += 1
    return level


def _is_import_system(filename: str) -> bool:
    return "importlib" in filename and "_bootstrap" in filename


def _is_own(module_name: str) -> bool:
    return module_name in ("autolog", "importlib") or module_name.startswith(_OWN_MODULE_PREFIXES)


_OWN_MODULE_PREFIXES = ("autolog.", "integrations.", "importlib.", "wrapt.")


def report_failure(kind: str, exc: BaseException) -> None:
    """Record a failure of autolog's own code that was not re-raised."""
    summary = f"{type(exc).__name__}: {exc}"
    _swallowed.append(f"{kind}: {summary}")
    call = current_call.get()
    if call is not None:
        call.errors.append(f"{kind}: {summary}")
    logger.debug("autolog: %s failed", kind, exc_info=exc)
    if call is not None and call.options.silent:
        return
    warn_once(
        f"guard:{kind}:{type(exc).__qualname__}",
        f"autolog: {kind} failed ({summary}); training was not affected. "
        "Set AUTOLOG_TESTING=1 to raise such errors instead.",
        stacklevel=user_stacklevel(),
    )


class guarded:  # noqa: N801 - used like a function: ``with guarded("kind"):``
    """Context manager and decorator that keeps autolog's failures out of the user's code.

    ``reraise=False`` swallows even under ``AUTOLOG_TESTING`` (for code that must never raise,
    such as an import hook running inside the user's ``import``); the failure is still
    recorded for the test suite.
    """

    __slots__ = ("kind", "reraise", "failed")

    def __init__(self, kind: str, *, reraise: bool = True) -> None:
        self.kind = kind
        self.reraise = reraise
        self.failed = False

    def __enter__(self) -> guarded:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None or not issubclass(exc_type, Exception):
            return False
        self.failed = True
        if self.reraise and testing():
            return False
        report_failure(self.kind, exc)
        return True

    def __call__(self, func: F) -> F:
        """As a decorator: the function returns None when it failed."""
        kind, reraise = self.kind, self.reraise

        @functools.wraps(func)
        def _guarded_call(*args: Any, **kwargs: Any) -> Any:
            with guarded(kind, reraise=reraise):
                return func(*args, **kwargs)
            return None

        return _guarded_call  # type: ignore[return-value]


class SilencingFilter(logging.Filter):
    """Drops autolog's INFO-and-below records inside a ``silent`` patched call."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not is_silenced()


logger.addFilter(SilencingFilter())

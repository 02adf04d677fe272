"""Keep a search's worker threads inside its autologged call.

"Inside an autologged call" is a context variable, and a new thread starts outside every
call. With joblib's threading backend (``parallel_config(backend="threading")``, or a library
that picks it), the clone fits of a ``GridSearchCV`` or ``cross_validate`` run on pool threads
that would each look like a top-level fit and open a run per fold. So
``sklearn.utils.parallel.Parallel.__call__`` is wrapped: called inside an autologged call with a
thread-based backend, it runs each task with the caller's call marked as current. Process
backends (loky, the default for ``n_jobs>1``) are left alone: their workers run in other
processes, where autolog is not enabled.

Not a registry patch: registry wrappers act only around outermost calls, and this one must act
only inside them. :func:`install` returns an undo function that restores the identical
original.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from autolog._nesting import current_call


class _InCall:
    """A sklearn ``delayed`` task that runs with ``call`` as the current autologged call."""

    __slots__ = ("function", "call")

    def __init__(self, function: Any, call: Any) -> None:
        self.function = function
        self.call = call

    def with_config_and_warning_filters(self, config: Any, warning_filters: Any) -> _InCall:
        # scikit-learn's Parallel attaches its configuration through this method
        self.function = self.function.with_config_and_warning_filters(config, warning_filters)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token = current_call.set(self.call)
        try:
            return self.function(*args, **kwargs)
        finally:
            current_call.reset(token)

    def __getattr__(self, name: str) -> Any:  # __name__ and friends, for joblib's messages
        if name in _InCall.__slots__:
            raise AttributeError(name)
        return getattr(self.function, name)


def install(parallel_class: type, is_enabled: Callable[[], bool]) -> Callable[[], None]:
    """Wrap ``parallel_class.__call__``; returns the undo function."""
    original = vars(parallel_class)["__call__"]

    def __call__(self: Any, iterable: Iterable[Any]) -> Any:
        call = current_call.get()
        if call is None or not is_enabled() or not getattr(self._backend, "uses_threads", False):
            return original(self, iterable)
        return original(self, (_mark(task, call) for task in iterable))

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    parallel_class.__call__ = __call__  # type: ignore[method-assign]

    def undo() -> None:
        if vars(parallel_class).get("__call__") is __call__:
            parallel_class.__call__ = original  # type: ignore[method-assign]

    return undo


def _mark(task: Any, call: Any) -> Any:
    try:
        function, args, kwargs = task
    except (TypeError, ValueError):
        return task
    if not hasattr(function, "with_config_and_warning_filters"):
        return task  # not scikit-learn's delayed: left exactly as it is
    return _InCall(function, call), args, kwargs

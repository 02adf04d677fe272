"""Which autologged call the current thread (or task) is inside.

A context variable, never a process-global flag: two threads training at once each see only
their own calls, and a new thread starts outside any call. A patched call made while another
is in progress (Pipeline → step.fit, GridSearchCV → clone.fit) therefore does no work of its
own; an integration that deliberately hosts inner calls (an Optuna trial that opened a run
for the models fitted inside it) opens a :func:`child_scope`.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The ``PatchedCall`` in progress in this context, or None.
current_call: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "autolog_current_call", default=None
)


@contextmanager
def child_scope() -> Iterator[None]:
    """Patched calls inside this block act as outermost calls again.

    Use it after opening a run meant to host them: the calls inside then open their own runs,
    which become children of the active run.
    """
    token = current_call.set(None)
    try:
        yield
    finally:
        current_call.reset(token)


class _Training:
    """Whether autologged calls are running in this process (any thread), and since when none
    is: the background threads keep their heavier work for the pauses (see
    ``client._pipeline``), since on a small machine every step they take delays the
    training thread's next turn at the GIL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.last_end = 0.0  # time.monotonic() when the last one ended; 0.0: none ever ran

    def started(self) -> None:
        with self._lock:
            self.running += 1

    def ended(self) -> None:
        with self._lock:
            self.running -= 1
            self.last_end = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last autologged call ended; 0.0 while one runs."""
        if self.running > 0:
            return 0.0
        return time.monotonic() - self.last_end

    def reset_after_fork(self) -> None:
        """The child runs none of the parent's calls (a thread that forked from inside one
        goes on as the child's only thread, outside the parent's bookkeeping)."""
        self._lock = threading.Lock()
        self.running = 0


#: The process's one :class:`_Training`.
training = _Training()

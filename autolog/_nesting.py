"""Which autologged call the current thread (or task) is inside.

A context variable, never a process-global flag: two threads training at once each see only
their own calls, and a new thread starts outside any call. A patched call made while another
is in progress (Pipeline → step.fit, GridSearchCV → clone.fit) therefore does no work of its
own; an integration that deliberately hosts inner calls (an Optuna trial that opened a run
for the models fitted inside it) opens a :func:`child_scope`.
"""

from __future__ import annotations

import contextvars
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

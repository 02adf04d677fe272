"""The process's end as autolog sees it: background work to wait for, and no thread at exit.

Python 3.12 and later refuse to start a thread once interpreter shutdown has begun (exit
handlers included, and any thread still running after the main thread ended): ``start()``
raises ``RuntimeError: can't create new thread at interpreter shutdown``. So autolog never
starts a thread on its exit path. From the moment exit begins, :func:`start_thread` answers
None and its caller does the work inline; work already running on a thread is waited for
with a bounded wait, never by a helper thread.

Integrations whose work runs on threads of their own (Optuna's history plots) register a
waiter with :func:`register_background_work`; the core's exit handler calls
:func:`wait_for_background_work` before its final flush, so what that work logs is delivered
with everything else, in one exit path for the core and every integration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("autolog")

#: ``wait(timeout) -> bool``: True once the work handed over so far is done.
Waiter = Callable[[float | None], bool]

_waiters: dict[str, Waiter] = {}
_exiting = False


def register_background_work(name: str, wait: Waiter) -> None:
    """Have the exit path wait for ``name``'s background work (registering twice replaces)."""
    _waiters[name] = wait


def wait_for_background_work(timeout: float | None) -> list[str]:
    """Wait for every registered piece of background work; the names of those not done in time.

    ``timeout`` bounds the whole wait. A waiter that raises counts as not done (and is logged):
    one broken integration must not keep the others' work from being waited for.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    unfinished = []
    for name, wait in list(_waiters.items()):
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            done = wait(remaining)
        except Exception:
            logger.debug("waiting for %s failed", name, exc_info=True)
            done = False
        if not done:
            unfinished.append(name)
    return unfinished


def begin_exit() -> None:
    """Called first by the exit handler: from now on no new threads, work is done inline."""
    global _exiting
    _exiting = True


def start_thread(target: Callable[[], object], name: str) -> threading.Thread | None:
    """A started daemon thread running ``target``, or None where no thread may start.

    None once exit has begun, or when Python refuses (3.12+ after shutdown began, e.g. from a
    thread still running after the main thread ended): the caller then does the work inline.
    """
    if _exiting:
        return None
    thread = threading.Thread(target=target, name=name, daemon=True)
    try:
        thread.start()
    except RuntimeError:
        logger.debug("no thread %s: the interpreter is shutting down", name)
        return None
    return thread

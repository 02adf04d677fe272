"""The process's life as autolog sees it: fork, background work, exit, in one stated order.

**Fork.** Modules holding locks, threads or connections register handlers with
:func:`on_fork` under a stage; the lifecycle registers one ``os.register_at_fork`` and calls
them in :data:`FORK_ORDER` (before the fork in reverse, so the store locks are taken last and
released first): ``stores`` (SQLite connections and their locks: each store resets once),
``pipelines`` (queues, threads), ``runs`` (the open-run registry), ``integrations`` (their
own threads, e.g. Optuna's plotter).

**Background work.** Integrations whose work runs on threads of their own (Optuna's history
plots) register a waiter with :func:`register_background_work`. ``autolog.flush()`` and the
exit path wait for it (within their timeout) before flushing, so what that work logs is
delivered with everything else.

**Exit.** One ``atexit`` handler, :func:`_at_exit`: no new thread from then on, background
work waited for (bounded by ``AUTOLOG_EXIT_TIMEOUT``), then the handlers registered with
:func:`on_exit` in :data:`EXIT_ORDER` (the core's: end the open runs, final flush).

Python 3.12 and later refuse to start a thread once interpreter shutdown has begun (exit
handlers included, and any thread still running after the main thread ended): ``start()``
raises ``RuntimeError: can't create new thread at interpreter shutdown``. So autolog never
starts a thread on its exit path. From the moment exit begins, :func:`start_thread` answers
None and its caller does the work inline; work already running on a thread is waited for
with a bounded wait, never by a helper thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from autolog._config import env_float
from autolog._guard import report_failure

logger = logging.getLogger("autolog")

#: Fork stages, in the order their handlers run in the child (and the parent) after a fork.
FORK_ORDER = ("stores", "pipelines", "runs", "integrations")
#: Exit stages, in the order they run after the background work was waited for.
EXIT_ORDER = ("runs",)

#: ``wait(timeout) -> bool``: True once the work handed over so far is done.
Waiter = Callable[[float | None], bool]

_waiters: dict[str, Waiter] = {}
_exiting = False
#: stage -> name -> (before, after_in_parent, after_in_child)
_fork_handlers: dict[str, dict[str, tuple[Callable[[], None] | None, ...]]] = {
    stage: {} for stage in FORK_ORDER}
_exit_handlers: dict[str, Callable[[float], None]] = {}


def register_background_work(name: str, wait: Waiter) -> None:
    """Have ``autolog.flush()`` and the exit path wait for ``name``'s background work
    (registering twice replaces)."""
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
        except Exception as error:
            report_failure(f"waiting for {name}", error)
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


# -- fork ----------------------------------------------------------------------------------------
def on_fork(stage: str, name: str, *, before: Callable[[], None] | None = None,
            after_in_parent: Callable[[], None] | None = None,
            after_in_child: Callable[[], None] | None = None) -> None:
    """Call these around every fork, in the order of ``stage`` in :data:`FORK_ORDER`
    (registering ``name`` twice replaces: a reloaded module does not double its handlers)."""
    if stage not in _fork_handlers:
        raise ValueError(f"unknown fork stage {stage!r}; one of {FORK_ORDER}")
    _fork_handlers[stage][name] = (before, after_in_parent, after_in_child)


def _fork_phase(which: int, stages: tuple[str, ...]) -> None:
    for stage in stages:
        for name, handlers in list(_fork_handlers[stage].items()):
            handler = handlers[which]
            if handler is None:
                continue
            try:
                handler()
            except Exception as error:  # one broken handler must not leave the others undone
                report_failure(f"fork handling: {name}", error)


def _before_fork() -> None:
    _fork_phase(0, FORK_ORDER[::-1])


def _after_fork_in_parent() -> None:
    _fork_phase(1, FORK_ORDER)


def _after_fork_in_child() -> None:
    _fork_phase(2, FORK_ORDER)


# -- exit ----------------------------------------------------------------------------------------
def on_exit(stage: str, handler: Callable[[float], None]) -> None:
    """Run ``handler(timeout)`` at exit, at ``stage``'s place in :data:`EXIT_ORDER`."""
    if stage not in EXIT_ORDER:
        raise ValueError(f"unknown exit stage {stage!r}; one of {EXIT_ORDER}")
    _exit_handlers[stage] = handler


def exit_timeout() -> float:
    """``AUTOLOG_EXIT_TIMEOUT``: how long the exit path waits, in seconds (default 10)."""
    return env_float("AUTOLOG_EXIT_TIMEOUT", 10.0)


def _at_exit() -> None:
    """The one exit path: no new threads, background work, then the exit stages in order."""
    begin_exit()
    timeout = exit_timeout()
    unfinished = wait_for_background_work(timeout)
    if unfinished:
        logger.warning("autolog: %s still in progress at exit (AUTOLOG_EXIT_TIMEOUT=%gs); what "
                       "it had not logged by then is not recorded", ", ".join(unfinished), timeout)
    for stage in EXIT_ORDER:
        handler = _exit_handlers.get(stage)
        if handler is not None:
            handler(timeout)


atexit.register(_at_exit)
os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)

"""Which run a trainer's work records into, here and in the processes Lightning starts.

Lightning trains in processes autolog did not open the run in: ``ddp_spawn`` pickles the
trainer, callbacks included, into fresh processes; ``ddp_fork`` / ``ddp_notebook`` fork them. A
:class:`~autolog.Run` holds a pipeline with threads and locks and must cross neither boundary,
so the callback carries a :class:`RunLink` (ids, and where the records go) instead. In another
process :func:`run_for` attaches to the run by id: records are written to the same local store
the owning process uses, through a pipeline that never delivers by itself. The owning process
still holds the run; its sender delivers what the other process wrote and it closes the run.
So exactly one process creates, delivers and ends each run, whatever the strategy.

:func:`_attach` is the core's ``attach_run`` over a ``recording_pipeline`` (store only).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from autolog._run_handles import recording_pipeline
from autolog.plugin import Run, attach_run

logger = logging.getLogger("autolog.integrations.lightning")

_live: weakref.WeakValueDictionary[str, Run] = weakref.WeakValueDictionary()
_attached: dict[tuple[str, int], Run] = {}
_attach_lock = threading.Lock()

#: The run (and last fitted epoch) each trainer and module recorded into, so that
#: ``trainer.validate`` / ``trainer.test`` after ``fit`` land in the fit's run, even when
#: that run has ended already (a tracking server accepts data on a finished run).
_fitted: weakref.WeakKeyDictionary[Any, tuple[Run, int]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class RunLink:
    """Everything another process needs to record into a run: small, plain, picklable."""

    run_id: str
    name: str
    experiment: str
    target: str
    store_dir: str
    start_time: int
    owner_pid: int

    @classmethod
    def to(cls, run: Run) -> RunLink:
        _live[run.run_id] = run
        pipeline = run.pipeline
        return cls(run.run_id, run.name, run.experiment, pipeline.target,
                   str(pipeline.store.directory), run.start_time, os.getpid())

    @property
    def in_owner_process(self) -> bool:
        return os.getpid() == self.owner_pid


def run_for(link: RunLink) -> Run:
    """The run to record into from this process: the live one, or one attached by id."""
    if link.in_owner_process:
        run = _live.get(link.run_id)
        if run is not None:
            return run
    return _attach(link)


def is_attached(run: Run) -> bool:
    return _attached.get((run.run_id, os.getpid())) is run


def flush_attached(run: Run, timeout: float = 30.0) -> None:
    """Write what this process recorded into the shared store now.

    Forked processes end with ``os._exit`` (no exit handlers), and a spawned one may be killed
    right after training, so an attached run is flushed at the end of each stage.
    """
    if is_attached(run) and not run.pipeline.flush(timeout):
        logger.warning("autolog: records of run %s are still being written to %s",
                       run.run_id, run.pipeline.store.path)


def _attach(link: RunLink) -> Run:
    key = (link.run_id, os.getpid())
    with _attach_lock:
        run = _attached.get(key)
        if run is None:
            # No backend: delivery stays with the owning process, which holds the run and
            # ends it after this one finished writing (no lease races, nothing re-sent).
            pipeline = recording_pipeline(link.store_dir, link.target)
            run = attach_run(link.run_id, link.name, pipeline=pipeline,
                             experiment=link.experiment, start_time=link.start_time)
            _attached[key] = run
            logger.debug("attached to run %s from process %d", link.run_id, os.getpid())
        return run


def remember_fit(run: Run, last_epoch: int, *keys: Any) -> None:
    """Associate a fit's run with its trainer and module (weakly: they keep it alive)."""
    for key in keys:
        if key is not None:
            try:
                _fitted[key] = (run, last_epoch)
            except TypeError:  # not weak-referenceable: validate/test then open their own run
                logger.debug("cannot remember the run of a %s", type(key).__name__)


def fitted_run(*keys: Any) -> tuple[Run, int] | None:
    """The fit run (and its last epoch) recorded for the first of ``keys`` that has one."""
    for key in keys:
        if key is None:
            continue
        try:
            found = _fitted.get(key)
        except TypeError:
            continue
        if found is not None:
            return found
    return None

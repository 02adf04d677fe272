"""Runs this process did not create: handles on them, and the active-run context.

A run is created by exactly one process; others record into it by id. Optuna workers share
a study's run (its id agreed on through the study's storage), Lightning's spawned and forked
ranks record into the trainer's run. These helpers give them a :class:`~autolog.Run` to log
into without touching the core's bookkeeping: what they log reaches the tracking server when
a local store holds the run's row (the creating process's, or one bound with
:func:`bind_to_remote`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from autolog._runs import Run, activate, deactivate, open_run, store_for

if TYPE_CHECKING:  # the pipeline module loads with the first run, not with autolog()
    from autolog.client._pipeline import Pipeline


def attach_run(run_id: str, name: str, *, pipeline: Pipeline, experiment: str,
               start_time: int | None = None) -> Run:
    """A handle on the existing run ``run_id``: logging and children only, never its creation.

    The run object itself when this process opened it through ``pipeline`` and it is still
    open. Otherwise a handle (``run.attached`` is True) that its owner, not this process, ends.
    """
    run = open_run(run_id)
    if run is not None and run.pipeline is pipeline:
        return run
    started = int(time.time() * 1000) if start_time is None else start_time
    run = Run(pipeline, run_id, name, experiment, None, started)
    run.attached = True
    return run


def recording_pipeline(store_dir: str, target: str) -> Pipeline:
    """A pipeline that writes into the store at ``store_dir`` for ``target`` and never
    delivers: the process that owns the run delivers what it finds there, and ends the run."""
    from autolog.client._pipeline import Pipeline

    return Pipeline(store_for(store_dir), target, None)


def bind_to_remote(run: Run, remote_id: str) -> None:
    """Give this process's local store a row for ``run``, already created as ``remote_id``
    (by another machine): its sender then delivers what this process logs into the run and
    parents its children under it, and never creates the run nor sends its end."""
    pipeline = run.pipeline
    pipeline.store.bind_remote_run(run.run_id, run.experiment, run.name, run.start_time,
                                   pipeline.target, remote_id)
    if pipeline.sender is not None:
        pipeline.sender.wake()


def store_has_run(pipeline: Pipeline, run_id: str) -> bool:
    """Whether the pipeline's local store (or spool) knows ``run_id`` already."""
    return pipeline.store.run_row(run_id) is not None


@contextlib.contextmanager
def activated(run: Run) -> Iterator[Run]:
    """Inside, ``run`` is this thread's active run (where autologged calls record); it stays
    open after. Nothing changes if it was active already."""
    pushed = activate(run)
    try:
        yield run
    finally:
        if pushed:
            deactivate(run)

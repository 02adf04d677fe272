"""Runs whose id is agreed on beforehand: created here with a chosen id, or attached to.

A study's run must be one run however many processes optimize the study, so its id is
agreed through the study's storage *before* the run exists (see ``_claim``). The core's
``start_run`` always makes up a new id, so this module adds the two missing pieces on top of
``autolog._runs``:

- :func:`open_run_with_id` is ``start_run`` with the id given (only the process that won the
  claim calls it, so exactly one process emits the run's creation record);
- :func:`attach_run` is a handle on a run another process (or an earlier one) created: it
  logs into that run and parents children under it, and never creates or ends it.

Both belong in the core (``start_run(run_id=...)`` and ``attach_run(...)``); they are kept
small here so that moving them is a cut and paste.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autolog import _config, _runs
from autolog._context import process_tags
from autolog._runs import Run

if TYPE_CHECKING:  # the pipeline module loads with the first run, not with autolog()
    from autolog.client._pipeline import Pipeline

#: ``Run.integration_state`` key: the run is a handle on a run this process did not create.
ATTACHED = "autolog.optuna.attached"


def open_run_with_id(run_id: str, name: str, *, parent: Run | None, tags: Mapping[str, Any],
                     experiment: str | None, tracking_uri: str | None) -> Run:
    """Like ``autolog.start_run(name, parent=parent, tags=tags)``, with ``run_id`` as its id.

    The run is registered as open (so it is ended at exit if nobody ends it) but not pushed on
    this thread's stack: the caller decides whether it becomes the active run.
    """
    if parent is not None:
        pipeline = parent.pipeline
        experiment = experiment or parent.experiment
    else:
        pipeline = _runs.get_pipeline(tracking_uri)
    experiment = _config.experiment_name(experiment)
    start = int(time.time() * 1000)
    run = Run(pipeline, run_id, name, experiment, parent, start)
    pipeline.append(("run", run_id, experiment, name, run.parent_id, start, next(_runs._run_seq)))
    run.set_tags({**process_tags(), **tags})
    with _runs._open_lock:
        _runs._open_runs[run_id] = run
    return run


def attach_run(run_id: str, name: str, *, pipeline: Pipeline, experiment: str) -> Run:
    """A handle on the existing run ``run_id``: logging and children only, no creation, no end.

    What it logs reaches the tracking server when the local store holds the run's row (the
    same ``AUTOLOG_DIR`` as the process that created it, or a later process on the same
    machine); see ``store_has_run``.
    """
    for run in _runs.open_runs():  # created by this process and still open: the same object
        if run.run_id == run_id:
            return run
    run = Run(pipeline, run_id, name, experiment, None, int(time.time() * 1000))
    run.integration_state[ATTACHED] = True
    return run


def bind_to_remote(run: Run, remote_id: str) -> None:
    """Give this process's local store a row for ``run``, already created as ``remote_id``.

    For a run another machine created: with the row, this process's shipper delivers what it
    logs into the run (it never creates the run, nor sends its end), and parents its children
    under it. One statement, so the shipper can never see the row without its remote id and
    create the run a second time. (Belongs in ``LocalStore``, e.g. ``attach_run``.)
    """
    pipeline = run.pipeline
    with pipeline.store._transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO runs (run_id, experiment, name, parent_id, status, start_time, "
            "target, owner_pid, remote_id, create_attempted, end_sent, seq) "
            "VALUES (?, ?, ?, NULL, 'RUNNING', ?, ?, ?, ?, 1, 1, 0)",
            (run.run_id, run.experiment, run.name, run.start_time, pipeline.target, os.getpid(),
             remote_id))
    if pipeline.sender is not None:
        pipeline.sender.wake()


def store_has_run(pipeline: Pipeline, run_id: str) -> bool:
    """Whether this process's local store (or spool) knows ``run_id`` already."""
    return pipeline.store.run_row(run_id) is not None


def push_active(run: Run) -> bool:
    """Make ``run`` this thread's active run; False if it already is on the stack."""
    stack = _runs._stack()
    if run in stack:
        return False
    stack.append(run)
    return True


def pop_active(run: Run) -> None:
    stack = _runs._stack()
    if run in stack:
        stack.remove(run)

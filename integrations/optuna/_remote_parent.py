"""Logging into a study run that another machine's autolog created.

Workers of one study usually run on several machines, each with its own local store. A worker
that did not create the study run has no row for it in its store, so its shipper can neither
deliver into it nor map it to the tracking server's id (it would create its trial runs
unparented). The process that created the study run therefore publishes the server's id in the
study's system attrs once its shipper has created the run; the other workers read it (polling
in the background until it appears), give their store a row bound to that id
(``bind_to_remote``), and set ``mlflow.parentRunId`` on the trial runs opened before — tags are
upserts, so those are linked when the id arrives, and what they logged into the study run
meanwhile is delivered then.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from autolog._lifecycle import start_thread
from autolog._run_handles import bind_to_remote
from autolog.plugin import Run, guarded

logger = logging.getLogger("autolog.integrations.optuna")

PARENT_TAG = "mlflow.parentRunId"
#: How long a worker keeps looking for the published id (the creating process may still be
#: waiting for a server that is down; past this, trial runs stay unlinked).
POLL_SECONDS = 600.0
POLL_INTERVAL = 0.5


def remote_key(claim_key: str) -> str:
    return claim_key + "/remote"


_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def _background(target: Any, name: str) -> threading.Thread | None:
    """``target`` on a thread of its own; None (and nothing done) once exit has begun: it may
    poll for minutes, too long to run inline at exit. Trial runs then stay unlinked."""

    def _run() -> None:
        try:
            target()
        finally:
            with _threads_lock:
                _threads.discard(threading.current_thread())

    with _threads_lock:  # in the set before it can finish, so wait_for_links never misses it
        thread = start_thread(_run, name)
        if thread is not None:
            _threads.add(thread)
    if thread is None:
        logger.warning("autolog: the interpreter is shutting down, so %s did not start: trial "
                       "runs of this study may stay unlinked from the study run", name)
    return thread


def wait_for_links(timeout: float | None) -> bool:
    """Wait for publishing and finding study-run ids still in progress (at exit, in tests)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _threads_lock:
            pending = list(_threads)
        if not pending:
            return True
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        pending[0].join(remaining)


def publish(storage: Any, study_id: int, claim_key: str, run: Run) -> None:
    """In the background: once the server created ``run``, write its id to the study."""

    def _publish() -> None:
        with guarded("optuna: publishing the study run's id", reraise=False):
            remote_id = run.remote_id(timeout=POLL_SECONDS)
            if remote_id:
                storage.set_study_system_attr(study_id, remote_key(claim_key), remote_id)

    _background(_publish, "autolog-optuna-publish")


class RemoteParent:
    """The server id of a study run created elsewhere, for this worker's store and trials."""

    def __init__(self, storage: Any, study_id: int, claim_key: str, study_run: Run) -> None:
        self.storage = storage
        self.study_id = study_id
        self.key = remote_key(claim_key)
        self.study_run = study_run
        self.waiting: list[Run] = []
        self.lock = threading.Lock()
        self.poller: threading.Thread | None = None
        self.remote_id: str | None = self._read()
        if self.remote_id is not None:
            bind_to_remote(study_run, self.remote_id)
        else:
            self._start_polling()

    def _start_polling(self) -> None:
        self.poller = _background(self._poll, "autolog-optuna-parent")

    def link(self, child: Run) -> None:
        """Parent ``child`` under the study run now, or as soon as its id is published."""
        with self.lock:
            if self.remote_id is None:
                self.waiting.append(child)
                return
        child.set_tags({PARENT_TAG: self.remote_id})

    def _read(self) -> str | None:
        value = self.storage.get_study_system_attrs(self.study_id).get(self.key)
        return value if isinstance(value, str) and value else None

    def _poll(self) -> None:
        deadline = time.monotonic() + POLL_SECONDS
        with guarded("optuna: finding the study run's id", reraise=False):
            while time.monotonic() < deadline:
                found = self._read()
                if found is not None:
                    bind_to_remote(self.study_run, found)
                    with self.lock:
                        self.remote_id = found
                        waiting, self.waiting = self.waiting, []
                    for child in waiting:
                        child.set_tags({PARENT_TAG: found})
                    return
                time.sleep(POLL_INTERVAL)

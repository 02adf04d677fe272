"""Delivery: from the local store to a remote backend, at least once, never dropping data.

The sender thread reads what the store holds past each run's watermarks, cuts it into requests
within the backend's limits, and advances the watermarks only on success. Failures never lose
data: retryable ones pause the whole backend (a 429 or an outage is a property of the server,
not of one request), oversized requests shrink the limits, and a record the server rejects on
its own merits is set aside in the store's ``rejected`` table with one warning.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from autolog._config import env_float
from autolog._lifecycle import start_thread
from autolog._warnings import forget, warn_once
from autolog.backends.base import Backend, Metric, Result, RunSpec
from autolog.backends.local_store import LocalStore, process_alive
from autolog.client._batching import shrink, take_batch
from autolog.client._retry import Backoff

logger = logging.getLogger("autolog.client")

_PAGE = 5000  # rows read from the store at a time
_AUTH_PAUSE = 60.0
#: How long a sender holds a run it delivers before another live process may take it over.
#: Renewed before any request that could outlast what is left of it: a request may take up to
#: half of it (the HTTP timeout is 30 s), an upload that too plus its size at 1 MB/s.
LEASE_SECONDS = 120.0
_UPLOAD_BYTES_PER_SECOND = 1_000_000


def _dead_owner(owner: str | None) -> str | None:
    """``owner`` if it names a process on this host that no longer exists (its lease is void)."""
    if not owner:
        return None
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    return None if process_alive(int(pid_text)) else owner


class _Stop(Exception):
    """The backend is unavailable for now: end this pass, keep everything pending."""


class _LeaseLost(Exception):
    """Another live process took over the run this sender was delivering: leave it to it."""


class Sender:
    def __init__(
        self,
        store: LocalStore,
        target: str,
        backend: Backend,
        *,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self.target = target
        self.backend = backend
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.limits = backend.limits
        self.on_progress = on_progress
        self.backoff = Backoff(
            env_float("AUTOLOG_RETRY_BASE", 0.5, minimum=0.001),
            cap=env_float("AUTOLOG_RETRY_MAX", 30.0, minimum=0.001),
        )
        self.pause_until = 0.0
        self.last_error = ""
        self.stats = {"runs_created": 0, "records_delivered": 0, "records_rejected": 0}
        self._experiments: dict[str, str] = {}
        self.remote_ids: dict[str, str] = {}
        self.cond = threading.Condition()
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._passes_started = 0
        self._clean_pass = 0  # number of the last pass that left nothing pending

    # -- thread -----------------------------------------------------------------------------
    def start(self) -> None:
        """The sender thread; none once exit has begun (``deliver_pass`` then runs inline)."""
        self._thread = start_thread(self._loop, "autolog-sender")

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        try:
            self.store.release(self.owner)
        except Exception:
            logger.debug("could not release delivery leases", exc_info=True)

    def _loop(self) -> None:
        from autolog.client._threads import shipper_context

        shipper_context.set(True)
        try:  # runs a crashed process left RUNNING: close them before delivering
            self.store.close_runs_of_dead_processes(self.target)
        except Exception:
            logger.debug("could not close runs of dead processes", exc_info=True)
        clean = True
        while not self._closing:
            delay = max(0.0, self.pause_until - time.monotonic())
            self._wake.wait(delay if delay else (1.0 if clean else 0.05))
            self._wake.clear()  # before the pause check: a wake-up during a pause must not spin
            if time.monotonic() < self.pause_until:
                continue
            try:
                clean = self.deliver_pass()
            except Exception as error:  # never let the thread die; data stays in the store
                clean = False
                self._note_failure(f"{type(error).__name__}: {error}", pause=self.backoff.next_delay())
                logger.debug("delivery pass failed", exc_info=True)

    def wait_delivered(self, timeout: float | None) -> bool:
        """Block until a pass that started after this call leaves nothing pending."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            wanted = self._passes_started + 1
        self._wake.set()
        with self.cond:
            while self._clean_pass < wanted:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self.cond.wait(0.5 if remaining is None else min(remaining, 0.5))
                self._wake.set()
        return True

    def wait_remote_id(self, client_id: str, timeout: float | None) -> str | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self.cond:
            while client_id not in self.remote_ids:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self.cond.wait(0.5 if remaining is None else min(remaining, 0.5))
            return self.remote_ids[client_id]

    # -- one pass ---------------------------------------------------------------------------
    def deliver_pass(self, run_ids: set[str] | None = None) -> bool:
        """Deliver what is pending; True when nothing is left for this sender."""
        with self.cond:
            self._passes_started += 1
            number = self._passes_started
        try:
            rows = self.store.undelivered_runs(self.target)
            if run_ids is not None:
                rows = [row for row in rows if row["run_id"] in run_ids]
            all_done = True
            for row in rows:
                claimed = self.store.claim(row["run_id"], self.owner, LEASE_SECONDS,
                                           steal_from=_dead_owner(row["lease_owner"]))
                if claimed is None:
                    continue  # another live process delivers this run
                try:
                    all_done = self._deliver_run(dict(claimed)) and all_done
                except _LeaseLost:
                    continue
        except _Stop:
            return False
        if all_done:
            if self.last_error:
                logger.info("autolog: delivery to %s resumed", self.target)
                self.last_error = ""
                forget("delivery-delayed")
            self.backoff.reset()
            with self.cond:
                self._clean_pass = max(self._clean_pass, number)
                self.cond.notify_all()
        return all_done

    def _deliver_run(self, run: dict[str, Any]) -> bool:
        run_id = run["run_id"]
        remote_id = run["remote_id"] or self._create(run)
        if remote_id is None:
            return False  # parent not created yet; retried on the next pass
        if remote_id == "":
            return True  # the backend refused this run for good; already reported
        for _ in range(20):  # bounded per pass, so one busy run cannot starve the others
            self.hold_lease(run)
            if not self._send_batch(run, remote_id):
                break
        else:
            return False
        self._send_artifacts(run, remote_id)
        from autolog.models._delivery import send_models

        if not send_models(self, run, remote_id):  # models after their files, before the end
            return False
        if run["status"] != "RUNNING" and not run["end_sent"]:
            self.hold_lease(run)
            result = self._call(self.backend.update_run, remote_id, run["status"], run["end_time"])
            if result.ok:
                self.store.mark(run_id, end_sent=1)
        return True

    def hold_lease(self, run: dict[str, Any], upload_bytes: int = 0) -> None:
        """Make sure this sender still holds ``run`` for as long as the next request may take.

        Without it, a run whose delivery outlasts the lease (a slow server, a large upload)
        would be taken over by another process sharing the store, and both would send the
        same pending records. Raises _LeaseLost when that already happened.
        """
        needed = LEASE_SECONDS / 2 + upload_bytes / _UPLOAD_BYTES_PER_SECOND
        if run["lease_until"] - time.time() >= needed:
            return
        claimed = self.store.claim(run["run_id"], self.owner, LEASE_SECONDS + needed)
        if claimed is None:
            raise _LeaseLost
        run["lease_until"] = claimed["lease_until"]

    # -- pieces -------------------------------------------------------------------------------
    def _experiment_id(self, name: str) -> str:
        cached = self._experiments.get(name)
        if cached is None:
            result = self._call(self.backend.get_or_create_experiment, name)
            if not result.ok:
                raise _Stop
            cached = self._experiments[name] = str(result.value)
        return cached

    def _create(self, run: dict[str, Any]) -> str | None:
        run_id = run["run_id"]
        parent_remote = None
        if run["parent_id"]:
            parent = self.store.run_row(run["parent_id"])
            if parent is not None and parent["target"] == self.target:
                parent_remote = parent["remote_id"]
                if not parent_remote:
                    return None
        experiment_id = self._experiment_id(run["experiment"])
        if run["create_attempted"]:
            # A previous attempt may have reached the server: look before creating again.
            found = self._call(self.backend.find_run, experiment_id, run_id)
            if not found.ok:
                raise _Stop
            if found.value:
                return self._remember(run_id, str(found.value))
        tags = {"mlflow.runName": run["name"]}
        if parent_remote:
            tags["mlflow.parentRunId"] = parent_remote
        spec = RunSpec(run_id, experiment_id, run["name"], run["start_time"], tags)
        self.store.mark(run_id, create_attempted=1)
        result = self._call(self.backend.create_run, spec)
        if not result.ok:
            self._reject(run_id, "run", None, result.error)
            self.store.mark(run_id, remote_id="", end_sent=1)
            return ""
        self.stats["runs_created"] += 1
        return self._remember(run_id, str(result.value))

    def _remember(self, run_id: str, remote_id: str) -> str:
        self.store.mark(run_id, remote_id=remote_id)
        with self.cond:
            self.remote_ids[run_id] = remote_id
            self.cond.notify_all()
        return remote_id

    def _send_batch(self, run: dict[str, Any], remote_id: str) -> bool:
        """One request of the run's pending params, tags and metrics; False when none wait."""
        run_id = run["run_id"]
        param_rows = self.store.pending("params", run_id, run["params_sent"], self.limits.max_params)
        tag_rows = self.store.pending("tags", run_id, run["tags_sent"], self.limits.max_tags)
        metric_rows = self.store.pending("metrics", run_id, run["metrics_sent"], _PAGE)
        if not param_rows and not metric_rows and not tag_rows:
            return False
        params, metrics, tags = take_batch(param_rows, metric_rows, tag_rows, self.limits)

        def send(param_part: list[tuple], metric_part: list[tuple],
                 tag_part: list[tuple]) -> Result:
            return self.backend.log_batch(
                remote_id,
                params=[(key, value) for _, key, value in param_part],
                metrics=[Metric(key, float("nan") if value is None else value, ts, step)
                         for _, key, value, ts, step in metric_part],
                tags=[(key, value) for _, key, value in tag_part],
            )

        result = self._call(send, params, metrics, tags)
        if result.ok:
            self._advance(run, "params", params)
            self._advance(run, "metrics", metrics)
            self._advance(run, "tags", tags)
        elif result.too_large and len(params) + len(metrics) + len(tags) > 1:
            self.limits = shrink(self.limits)
        elif not params:
            self._send_refused(run, metrics, tags, send)
        else:
            # Refused on its own merits. A param that conflicts with the one already on the
            # server is the usual cause: params alone first (split if need be), then the rest.
            self._send_rows(run, "params", params, lambda part: send(part, [], []))
            if metrics or tags:
                retry = self._call(send, [], metrics, tags)
                if retry.ok:
                    self._advance(run, "metrics", metrics)
                    self._advance(run, "tags", tags)
                elif not (retry.too_large and len(metrics) + len(tags) > 1):
                    self._send_refused(run, metrics, tags, send)
                else:
                    self.limits = shrink(self.limits)
        return True

    def _send_refused(self, run: dict[str, Any], metrics: list[tuple], tags: list[tuple],
                      send: Callable[..., Result]) -> None:
        """Metrics and tags a backend refused together: find the culprits one at a time."""
        self._send_rows(run, "metrics", metrics, lambda part: send([], part, []), split=True)
        self._send_rows(run, "tags", tags, lambda part: send([], [], part), split=True)

    def _send_artifacts(self, run: dict[str, Any], remote_id: str) -> None:
        run_id = run["run_id"]
        for row_id, path, size in self.store.pending("artifacts", run_id, run["artifacts_sent"], 100):
            from autolog.models._delivery import upload_copy

            self.hold_lease(run, size)
            with upload_copy(self.store, run_id, path, remote_id) as local_file:  # MLmodel: ids
                result = self._call(self.backend.log_artifact, remote_id, path, local_file)
            if not result.ok:
                if result.too_large:
                    self._reject(run_id, "artifact", path, "too large for the server")
                else:
                    self._reject(run_id, "artifact", path, result.error)
            self.store.mark(run_id, artifacts_sent=row_id)
            run["artifacts_sent"] = row_id

    def _send_rows(self, run: dict[str, Any], table: str, rows: list[tuple],
                   send: Callable[[list[tuple]], Result], *, split: bool = False) -> None:
        if not rows:
            return
        if not split:
            result = self._call(send, rows)
            if result.ok:
                self._advance(run, table, rows)
                return
            if result.too_large and len(rows) > 1:
                self.limits = shrink(self.limits)
                return
        for row in rows:
            result = self._call(send, [row])
            if not result.ok and not result.too_large:
                self._reject(run["run_id"], table, row[1], result.error)
            elif result.too_large:
                self._reject(run["run_id"], table, row[1], "too large for the server")
            self._advance(run, table, [row])

    def _advance(self, run: dict[str, Any], table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        field = f"{table}_sent"
        run[field] = rows[-1][0]
        self.store.mark(run["run_id"], **{field: rows[-1][0]})
        self.stats["records_delivered"] += len(rows)
        if self.on_progress is not None:
            self.on_progress(run["run_id"], len(rows))

    def _reject(self, run_id: str, kind: str, key: str | None, error: str) -> None:
        self.stats["records_rejected"] += 1
        self.store.record_rejection(run_id, kind, key, error)
        warn_once(f"rejected:{kind}", f"autolog: the tracking server refused a {kind} record "
                  f"({error}); it is kept in the local store's rejected list ({self.store.path})")

    # -- calling the backend ------------------------------------------------------------------
    def _call(self, method: Callable[..., Result], *args: Any) -> Result:
        """One backend call; raises _Stop when the backend should be left alone for a while."""
        try:
            result = method(*args)
        except Exception as error:  # a backend that raises instead of returning a Result
            result = Result.failure(f"{type(error).__name__}: {error}", retryable=True)
        if result.ok:
            return result
        if result.retryable or result.status_code in (401, 403):
            pause = _AUTH_PAUSE if result.status_code in (401, 403) else self.backoff.next_delay(
                result.retry_after)
            self._note_failure(result.error, pause=pause)
            raise _Stop
        return result

    def _note_failure(self, error: str, *, pause: float) -> None:
        self.pause_until = time.monotonic() + pause
        if error != self.last_error:
            self.last_error = error
            try:
                self.store.record_delivery_error(self.target, error)
            except Exception:
                logger.debug("could not record the delivery error", exc_info=True)
        warn_once("delivery-delayed", f"autolog: delivery to the tracking server is delayed "
                  f"({error}); records wait in {self.store.path} and will be retried")

"""Delivery: from the local store to a remote backend, at least once, never dropping data.

The sender thread reads what the store holds past each run's watermarks and hands each run it
holds to the per-run steps (``autolog.client._run_steps``), which cut it into requests within
the backend's limits and advance the watermarks only on success. Failures never lose data:
retryable ones pause the whole backend (a 429 or an outage is a property of the server, not of
one request), oversized requests shrink the limits, and a record the server rejects on its own
merits is set aside in the store's ``rejected`` table with one warning.

This module is the loop that schedules that work (passes, wake-ups, pauses, delivery leases
shared with other processes) and the small public surface the steps use: :meth:`Sender.call`,
:meth:`Sender.reject`, :meth:`Sender.experiment_id`, :meth:`Sender.hold_lease`,
:meth:`Sender.parallel`.

Several runs are delivered at once, each by one thread from start to end (so what must be
ordered within a run stays ordered: its creation, its batches in watermark order, its end
last), and a run's files go up in parallel. Every request passes through one adaptive
:class:`~autolog.client._window.Window` (``AUTOLOG_MAX_IN_FLIGHT``), so however many threads
work, the server never sees more requests at once than it copes with. A run's parent is
created before the run: runs whose parent waits in the same pass go in a later wave.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from autolog._config import env_float
from autolog._guard import report_failure
from autolog._lifecycle import start_thread
from autolog._warnings import forget, warn_once
from autolog.backends._secrets import scrub
from autolog.backends._store_health import is_store_level
from autolog.backends.base import UPLOAD_BYTES_PER_SECOND, Backend, Limits, ModelBackend, Result
from autolog.backends.local_store import LocalStore, process_alive
from autolog.client._batching import shrink
from autolog.client._retry import Backoff
from autolog.client._run_steps import DeliveryPaused, LeaseLost, deliver_run
from autolog.client._window import Window, max_in_flight_from_env
from autolog.client._workers import Workers

logger = logging.getLogger("autolog.client")

_AUTH_PAUSE = 60.0
#: How long a sender holds a run it delivers before another live process may take it over.
#: Renewed before any request that could outlast what is left of it: a request may take up to
#: half of it (the HTTP timeout is 30 s), an upload that too plus its size at the slowest
#: upload rate a request's deadline allows for.
LEASE_SECONDS = 120.0
#: Statuses by which a server says it is overloaded: fewer requests in flight.
_CONGESTED = (429, 503)

T = TypeVar("T")
R = TypeVar("R")


def _dead_owner(owner: str | None) -> str | None:
    """``owner`` if it names a process on this host that no longer exists (its lease is void)."""
    if not owner:
        return None
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    return None if process_alive(int(pid_text)) else owner


class Sender:
    """Delivers the runs of one store bound for one target, on a thread of its own."""

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
        #: The backend as a model store, when it declares itself one; else None.
        self.models: ModelBackend | None = backend if isinstance(backend, ModelBackend) else None
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
        self._local = threading.local()  # .run_id: the run this thread's steps deliver
        self._run_errors: dict[str, str] = {}  # last error recorded per run, until delivered
        self._lock = threading.Lock()  # stats, errors, the pause of the current pass
        self._experiment_lock = threading.Lock()
        self._pass_paused = False  # a request of this pass asked to leave the backend alone
        self._give_up = threading.Event()  # set by close: requests waiting for a place end
        #: Requests in flight against the backend, adapted to its answers. A backend that does
        #: not declare itself ``thread_safe`` (a plugin written for one caller) gets one.
        self.window = Window(max_in_flight_from_env() if getattr(backend, "thread_safe", False)
                             else 1)
        self.workers = Workers(self.window.maximum)

    # -- thread -----------------------------------------------------------------------------
    def start(self) -> None:
        """The sender thread; none once exit has begun (``deliver_pass`` then runs inline)."""
        self._thread = start_thread(self._loop, "autolog-sender")

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def close(self, wait: float = 1.0) -> None:
        """Stop delivering: a pass in progress ends after its current request (waited for up
        to ``wait`` seconds), and this sender's leases are released."""
        self._closing = True
        self._give_up.set()
        self._wake.set()
        self.workers.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)
        try:
            self.store.release(self.owner)
        except Exception as error:  # the leases lapse on their own; say why they were kept
            report_failure("delivery: releasing leases", error)

    def _loop(self) -> None:
        from autolog.client._threads import shipper_context

        shipper_context.set(True)
        try:  # runs a crashed process left RUNNING: close them before delivering
            self.store.close_runs_of_dead_processes(self.target)
        except Exception as error:
            report_failure("delivery: closing runs of dead processes", error)
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
                self._pass_failed(error)

    def _pass_failed(self, error: Exception) -> None:
        """A pass raised. The local store failing is no delay of the server's: say which."""
        text = f"{type(error).__name__}: {error}"
        if is_store_level(error):
            self.pause_until = time.monotonic() + self.backoff.next_delay()
            warn_once("store-read", f"autolog: the local store {self.store.path} cannot be read "
                      f"({scrub(text)}); delivery resumes once it can (records wait there)")
        else:
            self._note_failure(text, pause=self.backoff.next_delay())
        report_failure("delivery", error)

    def wait_delivered(self, timeout: float | None,
                       progress: Callable[[], None] | None = None) -> bool:
        """Block until a pass that started after this call leaves nothing pending;
        ``progress`` is called about every half second meanwhile (the progress line)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            wanted = self._passes_started + 1
        self._wake.set()
        while True:
            with self.cond:
                if self._clean_pass >= wanted:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self.cond.wait(0.5 if remaining is None else min(remaining, 0.5))
                if self._clean_pass >= wanted:
                    return True
            self._wake.set()
            if progress is not None:
                progress()

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
        with self._lock:
            self._pass_paused = False
        try:
            rows = [dict(row) for row in self.store.undelivered_runs(self.target)]
            if run_ids is not None:
                rows = [row for row in rows if row["run_id"] in run_ids]
            all_done = True
            for wave in _waves(rows):
                # No more runs at once than requests may be in flight: a thread holding a
                # run while it waits for a place only adds GIL handoffs.
                all_done = all(self.workers.run_all(self._deliver_one, wave,
                                                    at_once=self.window.limit)) and all_done
        except DeliveryPaused:
            return False
        if all_done:
            if self.last_error:
                logger.info("autolog: delivery to %s resumed", self.target)
                self.last_error = ""
                forget("delivery-delayed")
            forget("store-read")
            self.backoff.reset()
            with self.cond:
                self._clean_pass = max(self._clean_pass, number)
                self.cond.notify_all()
        return all_done

    def _deliver_one(self, row: dict[str, Any]) -> bool:
        """Claim one run and deliver it on this thread; True when nothing of it is left."""
        run_id = row["run_id"]
        claimed = self.store.claim(run_id, self.owner, LEASE_SECONDS,
                                   steal_from=_dead_owner(row["lease_owner"]))
        if claimed is None:
            return True  # another live process delivers this run
        self._local.run_id = run_id
        try:
            done = deliver_run(self, dict(claimed))
        except LeaseLost:
            return True
        finally:
            self._local.run_id = None
        if done:
            with self._lock:
                had_error = self._run_errors.pop(run_id, None) is not None
            if had_error:
                self.store.clear_run_delivery_error(run_id)
        return done

    # -- what the per-run steps use ---------------------------------------------------------
    def call(self, method: Callable[..., Result], *args: Any) -> Result:
        """One backend call. Raises DeliveryPaused when the backend should be left alone for a
        while (a retryable failure, or credentials it refused); other failures are returned."""
        if self._closing or self._pass_paused:
            raise DeliveryPaused  # stopped meanwhile, or another request of this pass failed
        started_round = self.window.acquire(self._give_up)
        if started_round is None:
            raise DeliveryPaused
        started = time.monotonic()
        result: Result | None = None
        try:
            result = method(*args)
        except Exception as error:  # a backend that raises instead of returning a Result
            result = Result.failure(f"{type(error).__name__}: {error}", retryable=True)
        finally:
            self.window.release(
                started_round,
                congested=result is not None and result.status_code in _CONGESTED,
                latency=time.monotonic() - started if result is not None and result.ok else None)
        if result.ok:
            return result
        if result.retryable or result.status_code in (401, 403):
            with self._lock:
                first = not self._pass_paused
                self._pass_paused = True
            if first:  # the others of this pass failed for the same reason, or were cut short
                pause = _AUTH_PAUSE if result.status_code in (401, 403) else (
                    self.backoff.next_delay(result.retry_after))
                self._note_failure(result.error, pause=pause)
            raise DeliveryPaused
        return result

    def parallel(self, function: Callable[[T], R], items: list[T]) -> list[R]:
        """``function`` over ``items``, several at once on the delivery threads (each request
        still waits for its place in the window); the first exception is raised once all are
        over. For jobs that need no order among them: a run's files."""
        return self.workers.run_all(function, items)

    def reject(self, run_id: str, kind: str, key: str | None, error: str) -> None:
        """Set a record the backend refused on its merits aside, in the store's rejected list."""
        error = scrub(error)
        with self._lock:
            self.stats["records_rejected"] += 1
        self.store.record_rejection(run_id, kind, key, error)
        warn_once(f"rejected:{kind}", f"autolog: the tracking server refused a {kind} record "
                  f"({error}); it is kept in the local store's rejected list ({self.store.path})")

    def experiment_id(self, name: str) -> str:
        """The backend's id of experiment ``name`` (found or created once, then cached)."""
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        with self._experiment_lock:  # runs of a new experiment, delivered at once: one lookup
            cached = self._experiments.get(name)
            if cached is None:
                result = self.call(self.backend.get_or_create_experiment, name)
                if not result.ok:  # refused for good: nothing of the run can go; say why, wait
                    with self._lock:
                        self._pass_paused = True
                    self._note_failure(result.error, pause=_AUTH_PAUSE)
                    raise DeliveryPaused
                cached = self._experiments[name] = str(result.value)
        return cached

    def hold_lease(self, run: dict[str, Any], upload_bytes: int = 0) -> None:
        """Make sure this sender still holds ``run`` for as long as the next request may take.

        Without it, a run whose delivery outlasts the lease (a slow server, a large upload)
        would be taken over by another process sharing the store, and both would send the
        same pending records. Raises LeaseLost when that already happened.
        """
        needed = LEASE_SECONDS / 2 + upload_bytes / UPLOAD_BYTES_PER_SECOND
        if run["lease_until"] - time.time() >= needed:
            return
        claimed = self.store.claim(run["run_id"], self.owner, LEASE_SECONDS + needed)
        if claimed is None:
            raise LeaseLost
        run["lease_until"] = claimed["lease_until"]

    def remember_remote_id(self, run_id: str, remote_id: str, **fields: Any) -> str:
        """The backend's id of run ``run_id``, saved in the store (with ``fields`` of the run's
        row, in the same write) and told to waiting threads."""
        self.store.mark(run_id, remote_id=remote_id, **fields)
        with self.cond:
            self.remote_ids[run_id] = remote_id
            self.cond.notify_all()
        return remote_id

    def count_created(self) -> None:
        with self._lock:
            self.stats["runs_created"] += 1

    def count_delivered(self, run_id: str, records: int) -> None:
        with self._lock:
            self.stats["records_delivered"] += records
        if self.on_progress is not None:
            self.on_progress(run_id, records)

    def shrink_limits(self, used: Limits | None = None) -> None:
        """The backend refused a request as too large: smaller ones from now on. ``used``: the
        limits that request was cut by; when another run's refusal shrank them meanwhile,
        once is enough."""
        with self._lock:
            if used is None or used is self.limits:
                self.limits = shrink(self.limits)

    # -- failures ---------------------------------------------------------------------------
    def _note_failure(self, error: str, *, pause: float) -> None:
        """Pause the backend; keep the error for ``status`` (the target's and the run's)."""
        error = scrub(error)
        self.pause_until = time.monotonic() + pause
        run_id = getattr(self._local, "run_id", None)
        try:
            if error != self.last_error:
                self.store.record_delivery_error(self.target, error)
            with self._lock:
                new_for_run = run_id is not None and self._run_errors.get(run_id) != error
                if new_for_run:
                    self._run_errors[run_id] = error
            if new_for_run:
                self.store.record_run_delivery_error(run_id, error)
        except Exception as store_error:
            report_failure("delivery: recording the delivery error", store_error)
        self.last_error = error
        if self._closing:  # stopped meanwhile: the exit report says what waits
            return
        warn_once("delivery-delayed", f"autolog: delivery to the tracking server is delayed "
                  f"({error}); records wait in {self.store.path} and will be retried")


def _waves(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``rows`` in waves delivered one after the other: a run whose parent is among the rows
    and not created yet goes after the wave that creates the parent (its create needs the
    parent's id); within a wave, runs go in parallel, in the store's order."""
    waves = []
    remaining = rows
    while remaining:
        uncreated = {row["run_id"] for row in remaining if not row["remote_id"]}
        wave = [row for row in remaining if row["parent_id"] not in uncreated]
        if not wave:  # a cycle cannot happen; never stall if it did
            wave = remaining
        waves.append(wave)
        taken = {id(row) for row in wave}
        remaining = [row for row in remaining if id(row) not in taken]
    return waves

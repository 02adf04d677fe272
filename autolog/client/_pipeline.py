"""The recorder queue and the writer that moves it into the local store.

``append`` is the hot path: a ``deque.append`` and a length check, no lock, no I/O. A writer
thread looks at the queue every ``AUTOLOG_FLUSH_INTERVAL`` seconds (default 0.05) and writes
whatever is there in one transaction, sooner when the queue passes a threshold, and hands
remote targets to the sender thread. So what was logged more than ~50 ms ago is on disk even if
the process is killed, and an idle process wakes 20 times a second for a few microseconds.
While autologged training runs (fits back to back, a long one), the writer waits for a pause
of one interval, at most ``MAX_HOLD`` (1 s), before it writes: its work (plots, model files,
SQLite) would otherwise contend with training for the GIL. ``flush()`` never waits for that.

The store can fail; training never waits for it (see :mod:`._store_writer`).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque

from autolog._config import env_float, env_int
from autolog._guard import report_failure
from autolog._lifecycle import on_fork, start_thread
from autolog._nesting import training
from autolog._records import FLUSH, STRUCTURAL
from autolog.backends.base import Backend
from autolog.backends.local_store import LocalStore
from autolog.client._deferred import expand_deferred
from autolog.client._progress import FlushProgress
from autolog.client._sender import Sender
from autolog.client._store_writer import StoreWriter
from autolog.client._threads import shipper_context

logger = logging.getLogger("autolog.client")

#: The sender is woken at most this often by writes (a flush wakes it at once): each of its
#: passes queries the store, and requests to a server cost ~20-45 ms each anyway.
SENDER_WAKE_INTERVAL = 1.0
#: Seconds at most the writer holds records back while autologged training runs.
MAX_HOLD = 1.0


_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()
#: A run's start and end and a waiting flush: kept even when records must be dropped.
_NEVER_SHED = STRUCTURAL | {FLUSH}


class Pipeline:
    """Queue → local store → (optionally) a remote backend, for one tracking target."""

    def __init__(self, store: LocalStore, target: str, backend: Backend | None) -> None:
        self.store = store
        self.target = target
        self.backend = backend
        self.interval = env_float("AUTOLOG_FLUSH_INTERVAL", 0.05, minimum=0.01)
        self.wake_threshold = env_int("AUTOLOG_QUEUE_WAKE", 10_000)
        self.max_queue = max(self.wake_threshold, env_int("AUTOLOG_QUEUE_MAX", 100_000))
        self._init_runtime()
        _pipelines.add(self)

    def _init_runtime(self) -> None:
        self.queue: deque[tuple] = deque()
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._closing = False
        self._started = False
        self.store_writer = StoreWriter(self.store, self.target, self.max_queue)
        self._sender_woken = 0.0
        self._flush_requested = False
        self._shed_lock = threading.Lock()
        self._shed = 0  # records the logging threads dropped themselves (see _shed_newest)
        self._lost_reported = 0
        self.sender = (
            Sender(self.store, self.target, self.backend)
            if self.backend is not None
            else None
        )

    # -- hot path -----------------------------------------------------------------------------
    def append(self, record: tuple) -> None:
        queue = self.queue
        queue.append(record)
        if len(queue) >= self.wake_threshold or not self._started:
            self._slow_path()

    def extend(self, records: list[tuple]) -> None:
        queue = self.queue
        queue.extend(records)
        if len(queue) >= self.wake_threshold or not self._started:
            self._slow_path()

    def _slow_path(self) -> None:
        if not self._started:
            self._start()
        if len(self.queue) < self.max_queue:
            self._wake.set()
        elif not self.store_writer.failing:
            # The writer cannot keep up: spill on the caller's thread rather than grow without
            # bound or drop anything. Rare by construction (the writer wakes long before).
            try:
                self.drain()
            except Exception as error:  # store failures are the writer's: this is a bug
                report_failure("recording: spilling the queue", error)
        else:
            # Never wait for a failing store: the writer keeps memory bounded, and if it falls
            # behind once nothing can be written (the store could not move either), the logging
            # thread drops what it just logged (counted).
            self._wake.set()
            if len(self.queue) >= 2 * self.max_queue and self.store_writer.exhausted:
                self._shed_newest()

    def _shed_newest(self) -> None:
        kept: list[tuple] = []
        queue = self.queue
        with self._shed_lock:
            while len(queue) > self.max_queue:
                try:
                    record = queue.pop()  # the writer takes from the other end
                except IndexError:
                    break
                if record[0] in _NEVER_SHED:
                    kept.append(record)
                else:
                    self._shed += 1
            queue.extend(reversed(kept))

    def deliver_leftovers(self) -> None:
        """Start delivering what earlier processes left undelivered for this target, if any."""
        try:
            if self.store.path.exists() and self.store.pending_counts(self.target):
                self._start()
        except Exception:  # an unreadable store: its leftovers wait for a later process
            logger.debug("could not look for undelivered records", exc_info=True)

    # -- threads ------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._drain_lock:
            if self._started:
                return
            self._started = True
            # None once exit has begun (no new threads then): flush() drains and delivers inline.
            self._writer = start_thread(self._writer_loop, "autolog-writer")
            if self._writer is not None and self.sender is not None:
                self.sender.start()

    def _writer_loop(self) -> None:
        shipper_context.set(True)
        while not self._closing:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self._hold_while_training()
                self.drain()
            except Exception as error:  # the thread lives on; store failures never get here
                report_failure("recording: the writer thread", error)
                time.sleep(self.interval)

    def _hold_while_training(self) -> None:
        """While autologged training runs, what is queued waits for a pause of one interval,
        or ``MAX_HOLD`` seconds at most: writing it costs the writer a few ms of Python per
        fit (plots, model files, SQLite), and on two cores each of its steps delays the
        training thread's next turn at the GIL: 200 LogisticRegression fits back to back,
        1.5 ms each bare, took 2.6-2.9 ms each with the writer beside them and 1.9 ms with
        it holding back. A flush, a long queue or closing write at once."""
        if not self.queue:
            return
        give_up = time.monotonic() + MAX_HOLD
        while (not self._closing and not self._flush_requested
               and len(self.queue) < self.wake_threshold):
            if training.quiet_for() >= self.interval:
                return
            left = give_up - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(min(self.interval, left))
            self._wake.clear()

    def drain(self) -> int:
        """Move everything queued into the store in one transaction; returns records written
        (0 while the store cannot be written: they are kept, see :mod:`._store_writer`)."""
        with self._drain_lock:
            queue = self.queue
            count = len(queue)
            if not count and not self.store_writer.unwritten:
                return 0
            self._flush_requested = False  # before taking: a later request stays seen
            records = []
            take = queue.popleft
            try:
                for _ in range(count):
                    records.append(take())
            except IndexError:  # a logging thread shed records meanwhile (failing store)
                pass
            flush_requests = [r[1] for r in records if r[0] == FLUSH]
            data = [r for r in records if r[0] != FLUSH] if flush_requests else records
            data = expand_deferred(data)
            stored = self.store_writer.write(data, now=bool(flush_requests))
            for request in flush_requests:
                request.answer(stored)
        if stored and self.sender is not None:
            now = time.monotonic()
            if flush_requests or now - self._sender_woken >= SENDER_WAKE_INTERVAL:
                self._sender_woken = now
                self.sender.wake()
        return len(data) if stored else 0

    # -- flush / exit ------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Everything recorded so far is in the store and, for a remote target, delivered.

        False on timeout, and at once while the store cannot be written (records are kept
        and retried; nothing is dropped until the memory bound is reached)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._writer is not None and self._writer.is_alive():
            request = _FlushRequest()
            self.queue.append((FLUSH, request))
            self._flush_requested = True  # after the append (see drain)
            self._wake.set()
            if not request.done.wait(timeout) or not request.stored:
                return False
        else:
            try:
                self.drain()
            except Exception:  # documented: False while the store cannot be written
                return False
            if self.store_writer.unwritten:
                return False
        if self.sender is None:
            return True
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if self.sender.alive:
            progress = FlushProgress(self.sender)
            try:
                return self.sender.wait_delivered(remaining, progress.tick)
            finally:
                progress.finish()
        return self.sender.deliver_pass()

    def pending_records(self) -> int:
        if self.sender is None:
            return len(self.queue)
        try:
            counts = self.store.pending_counts(self.target)
        except Exception:  # an unreadable store: what is queued is all that is known
            return len(self.queue)
        return len(self.queue) + sum(counts.values())

    def close(self, timeout: float | None) -> None:
        """Bounded final flush; tells the user what is still waiting and how to deliver it."""
        delivered = self.flush(timeout)
        self._closing = True
        self._wake.set()
        if self.sender is not None:
            self.sender.close()
            try:  # its connections; a later request would open new ones
                self.backend.close()
            except Exception as error:
                report_failure("closing the backend's connections", error)
        lost = self.lost_records()
        if lost > self._lost_reported:
            logger.warning(
                "autolog: %d record(s) could not be written to the local store %s (%s) and "
                "were lost", lost - self._lost_reported, self.store.path,
                self.store_writer.last_error)
            self._lost_reported = lost
        if not delivered and self.sender is not None and not self.store_writer.failing:
            pending = self.pending_records()
            if pending:
                logger.warning(
                    "autolog: %d record(s) are not yet delivered to %s; they wait in %s. "
                    "Deliver them with: python -m autolog sync",
                    pending, self.target, self.store.path,
                )

    def lost_records(self) -> int:
        """Records dropped because nothing could be written, and any still in memory while
        the store fails (at exit, those are lost too)."""
        queued = len(self.queue) if self.store_writer.failing else 0
        return self._shed + self.store_writer.lost() + queued

    def after_fork_in_child(self) -> None:
        """The child must not re-send the parent's queue nor reuse its threads or locks (its
        store was reset before, at the lifecycle's ``stores`` stage)."""
        self._init_runtime()


class _FlushRequest:
    """A flush waiting for the writer: answered once its records are stored, or could not be."""

    __slots__ = ("done", "stored")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.stored = False

    def answer(self, stored: bool) -> None:
        self.stored = stored
        self.done.set()


def _reset_after_fork() -> None:
    for pipeline in list(_pipelines):
        pipeline.after_fork_in_child()


on_fork("pipelines", "pipelines", after_in_child=_reset_after_fork)


def close_all(timeout: float | None) -> None:
    for pipeline in list(_pipelines):
        try:
            pipeline.close(timeout)
        except Exception as error:
            report_failure("closing a pipeline", error)

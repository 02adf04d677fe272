"""The recorder queue and the writer that moves it into the local store.

``append`` is the hot path: a ``deque.append`` and a length check, no lock, no I/O. A writer
thread drains the queue into the store every ``AUTOLOG_FLUSH_INTERVAL`` seconds (default 1),
sooner when the queue passes a threshold, and hands remote targets to the sender thread. So the
queue stays bounded by what the writer drains in one interval, and what was recorded more than
an interval ago is on disk even if the process is killed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

from autolog._config import env_float, env_int
from autolog._lifecycle import start_thread
from autolog._warnings import warn_once
from autolog.backends.base import Backend
from autolog.backends.local_store import LocalStore
from autolog.client._deferred import expand_deferred
from autolog.client._shipper import Sender
from autolog.client._threads import shipper_context

logger = logging.getLogger("autolog.client")


_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()


class Pipeline:
    """Queue → local store → (optionally) a remote backend, for one tracking target."""

    def __init__(self, store: LocalStore, target: str, backend: Backend | None) -> None:
        self.store = store
        self.target = target
        self.backend = backend
        self.interval = env_float("AUTOLOG_FLUSH_INTERVAL", 1.0, minimum=0.01)
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
        if len(self.queue) >= self.max_queue:
            # The writer cannot keep up: spill on the caller's thread rather than grow without
            # bound or drop anything. Rare by construction (the writer wakes long before).
            try:
                self.drain()
            except Exception:
                logger.debug("spill failed", exc_info=True)
        else:
            self._wake.set()

    def deliver_leftovers(self) -> None:
        """Start delivering what earlier processes left undelivered for this target, if any."""
        try:
            if self.store.path.exists() and self.store.pending_counts(self.target):
                self._start()
        except Exception:
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
                self.drain()
            except Exception:
                logger.debug("writer drain failed", exc_info=True)
                time.sleep(self.interval)

    def drain(self) -> int:
        """Move everything queued into the store in one transaction; returns records written."""
        with self._drain_lock:
            queue = self.queue
            count = len(queue)
            if not count:
                return 0
            records = [queue.popleft() for _ in range(count)]
            flush_events = [r[1] for r in records if r[0] == "flush"]
            data = [r for r in records if r[0] != "flush"] if flush_events else records
            data = expand_deferred(data)
            try:
                if data:
                    self.store.write_records(data, self.target)
            except Exception as error:
                # Keep them, flush requests included: the next drain tries again, and a flush
                # waiting on this one is answered only once its records are really stored.
                queue.extendleft(reversed(data + [("flush", event) for event in flush_events]))
                warn_once("store-write", f"autolog: could not write to the local store "
                          f"{self.store.path} ({error}); records are kept in memory for now")
                raise
            for event in flush_events:
                event.set()
        if self.sender is not None:
            self.sender.wake()
        return len(data)

    # -- flush / exit ------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Everything recorded so far is in the store and, for a remote target, delivered."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._writer is not None and self._writer.is_alive():
            written = threading.Event()
            self.queue.append(("flush", written))
            self._wake.set()
            if not written.wait(timeout):
                return False
        else:
            try:
                self.drain()
            except Exception:
                return False
        if self.sender is None:
            return True
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if self.sender.alive:
            return self.sender.wait_delivered(remaining)
        return self.sender.deliver_pass()

    def pending_records(self) -> int:
        if self.sender is None:
            return len(self.queue)
        try:
            counts = self.store.pending_counts(self.target)
        except Exception:
            return len(self.queue)
        return len(self.queue) + sum(counts.values())

    def close(self, timeout: float | None) -> None:
        """Bounded final flush; tells the user what is still waiting and how to deliver it."""
        delivered = self.flush(timeout)
        self._closing = True
        self._wake.set()
        if self.sender is not None:
            self.sender.close()
        if not delivered and self.sender is not None:
            pending = self.pending_records()
            if pending:
                logger.warning(
                    "autolog: %d record(s) are not yet delivered to %s; they wait in %s. "
                    "Deliver them with: python -m autolog sync",
                    pending, self.target, self.store.path,
                )

    def after_fork_in_child(self) -> None:
        """The child must not re-send the parent's queue nor reuse its threads or locks."""
        self.store.reset_after_fork()
        self._init_runtime()


def _reset_after_fork() -> None:
    for pipeline in list(_pipelines):
        pipeline.after_fork_in_child()


os.register_at_fork(after_in_child=_reset_after_fork)


def close_all(timeout: float | None) -> None:
    for pipeline in list(_pipelines):
        try:
            pipeline.close(timeout)
        except Exception:
            logger.debug("closing a pipeline failed", exc_info=True)


def exit_timeout() -> float:
    return env_float("AUTOLOG_EXIT_TIMEOUT", 10.0)


def _at_exit() -> Any:
    close_all(exit_timeout())

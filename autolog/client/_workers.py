"""A few delivery threads that help whoever has a list of independent jobs.

:meth:`Workers.run_all` runs a function over a list, the calling thread included: it offers
the list to the idle workers and works through it itself, so a job may itself call
``run_all`` (a run delivered on a worker uploads its files in parallel) without ever waiting
for a worker that is busy waiting too. Where no thread may start (interpreter exit) the caller
simply does every job itself, in order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from autolog._lifecycle import start_thread
from autolog.client._threads import shipper_context

logger = logging.getLogger("autolog.client")

T = TypeVar("T")
R = TypeVar("R")


class _Batch:
    """One ``run_all`` call: the jobs not yet taken, and what the taken ones gave."""

    def __init__(self, function: Callable[[Any], Any], items: Sequence[Any]) -> None:
        self.function = function
        self.items = items
        self.results: list[Any] = [None] * len(items)
        self.errors: list[BaseException | None] = [None] * len(items)
        self._next = 0
        self._unfinished = len(items)
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)

    def work(self) -> None:
        """Take jobs until none are left."""
        while True:
            with self._lock:
                index = self._next
                if index >= len(self.items):
                    return
                self._next += 1
            try:
                self.results[index] = self.function(self.items[index])
            except BaseException as error:  # handed to the caller, which re-raises it
                self.errors[index] = error
            with self._lock:
                self._unfinished -= 1
                if not self._unfinished:
                    self._done.notify_all()

    def wait(self) -> None:
        with self._lock:
            while self._unfinished:
                self._done.wait()


class Workers:
    """Up to ``size - 1`` helper threads (the caller is the other one), started when needed."""

    def __init__(self, size: int, name: str = "autolog-delivery") -> None:
        self.size = max(1, size)
        self.name = name
        self._offers: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def run_all(self, function: Callable[[T], R], items: Sequence[T],
                at_once: int | None = None) -> list[R]:
        """``[function(item) for item in items]``, several at once (at most ``at_once``, the
        caller included); the first exception any job raised is raised once every job is
        over."""
        if not items:
            return []
        batch = _Batch(function, items)
        helpers = len(items) - 1 if at_once is None else min(len(items), at_once) - 1
        if helpers > 0:
            self._offer(batch, helpers)
        batch.work()
        batch.wait()
        for error in batch.errors:
            if error is not None:
                raise error
        return batch.results

    def close(self) -> None:
        """Let the helpers end (each after the job it is on)."""
        with self._lock:
            self._closed = True
            count = len(self._threads)
        for _ in range(count):
            self._offers.put(None)

    def _offer(self, batch: _Batch, helpers_wanted: int) -> None:
        with self._lock:
            if self._closed:
                return
            wanted = min(helpers_wanted, self.size - 1)
            missing = max(0, wanted - self._idle)
            while missing and len(self._threads) < self.size - 1:
                thread = start_thread(self._loop, f"{self.name}-{len(self._threads) + 1}")
                if thread is None:
                    break  # exit has begun: the caller does the rest itself
                self._threads.append(thread)
                self._idle += 1
                missing -= 1
            offers = min(wanted, len(self._threads))
        for _ in range(offers):
            self._offers.put(batch)

    def _loop(self) -> None:
        shipper_context.set(True)
        while True:
            batch = self._offers.get()
            if batch is None:
                return
            with self._lock:
                self._idle -= 1
            try:
                batch.work()
            finally:
                with self._lock:
                    self._idle += 1

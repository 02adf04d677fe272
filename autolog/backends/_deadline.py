"""One deadline per request: connect, send and the whole answer, not each socket operation.

A socket timeout bounds one read; a server (or a proxy) that trickles its answer a byte at a
time never trips it, and holds delivery as long as it likes. Here each request gets a deadline
instead: the connections it uses register with the request's :class:`Deadline` (the pool's
connection classes below do that as they connect and send), and one watchdog thread for the
whole process shuts those sockets down when the deadline passes. The blocked read or write
then fails at once and the transport reports the request as timed out.

Fork-safe without handlers: the watchdog's state is rebuilt in the first process that uses it
after a fork. At interpreter shutdown, when no thread can start, requests fall back to the
socket timeouts alone.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # urllib3 loads only where a request needs it (TLS, a proxy): ~25 ms
    from urllib3 import PoolManager
    from urllib3.connectionpool import HTTPConnectionPool

_IDLE_EXIT = 30.0  # seconds the watchdog waits with nothing to watch before it ends


class Deadline:
    """The moment one request must be over by, and the connections it used."""

    __slots__ = ("at", "expired", "done", "connections")

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self.done = False
        self.connections: list[Any] = []

    def remaining(self) -> float:
        return self.at - time.monotonic()


_current = threading.local()


class _Watchdog:
    def __init__(self) -> None:
        self._pid = -1

    def _state(self) -> threading.Condition:
        if self._pid != os.getpid():  # first use, or first use after a fork
            self._cond = threading.Condition(threading.Lock())
            self._heap: list[tuple[float, int, Deadline]] = []
            self._order = itertools.count()
            self._thread: threading.Thread | None = None
            self._pid = os.getpid()
        return self._cond

    @contextlib.contextmanager
    def watch(self, seconds: float) -> Iterator[Deadline]:
        deadline = Deadline(time.monotonic() + seconds)
        cond = self._state()
        with cond:
            heap = self._heap
            earliest = not heap or deadline.at < heap[0][0]
            heapq.heappush(heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                try:
                    self._thread = threading.Thread(target=self._run, name="autolog-deadlines",
                                                    daemon=True)
                    self._thread.start()
                except RuntimeError:  # interpreter shutting down: socket timeouts only
                    self._thread = None
            elif earliest:  # it sleeps until the earliest deadline: wake it only for an earlier one
                cond.notify()
        _current.deadline = deadline
        try:
            yield deadline
        finally:
            _current.deadline = None
            with cond:
                deadline.done = True
                # It waits in the heap until its time: it must not keep the sockets alive.
                deadline.connections = []

    def _run(self) -> None:
        cond = self._cond
        with cond:
            while True:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    if not cond.wait(_IDLE_EXIT) and not self._heap:
                        self._thread = None
                        return
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait > 0:
                    cond.wait(wait)
                    continue
                deadline = heapq.heappop(heap)[2]
                deadline.expired = True
                for connection in deadline.connections:
                    _cut(connection, deadline)


_watchdog = _Watchdog()


def watch(seconds: float) -> contextlib.AbstractContextManager[Deadline]:
    """``with watch(30) as deadline:`` every connection the thread uses inside is cut at 30 s."""
    return _watchdog.watch(seconds)


def attach(connection: Any) -> None:
    """Put ``connection`` (with a ``sock``) under the current thread's request deadline."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        connection._autolog_deadline = deadline
        deadline.connections.append(connection)


def _cut(connection: Any, deadline: Deadline) -> None:
    """Shut the connection's socket down, if it still serves the request that ran out of time
    (a connection back in the pool may already serve another request)."""
    if getattr(connection, "_autolog_deadline", None) is not deadline:
        return
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        try:  # the plain socket's shutdown, also for TLS: it leaves the TLS object alone
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


class _Watched:
    """Mixed into urllib3's connection classes: they register as they connect and send."""

    def connect(self) -> None:
        attach(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


@functools.lru_cache(maxsize=1)
def _pool_classes() -> dict[str, type]:
    """urllib3's pool classes whose connections register with the request deadline."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _WatchedHTTPConnection(_Watched, HTTPConnection):
        pass

    class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
        pass

    class _WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = _WatchedHTTPConnection

    class _WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _WatchedHTTPSConnection

    return {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def watched_pool(scheme: str, host: str, port: int | None, **options: Any
                 ) -> HTTPConnectionPool:
    """A pool of direct connections to one server, answering to the request deadline."""
    return _pool_classes()[scheme](host, port, **options)


def watched(manager: PoolManager) -> PoolManager:
    """``manager`` (direct or through an HTTP proxy), its connections answering to the request
    deadline of their thread."""
    manager.pool_classes_by_scheme = _pool_classes()
    return manager

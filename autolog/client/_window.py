"""How many requests may be in flight at once against one server, adapted to how it copes.

A request to a remote MLflow server is mostly waiting; one at a time, a study of a hundred
trials waits seconds for nothing. Several in flight hide that wait. But a server that is busy
only queues what it gets on top (a local server on a small machine is bound by its own CPU:
there, more in flight is slower, not faster), and one that says it is overloaded must get less:

- a 429 or 503 halves the window (never below one), at most once per round: a signal from a
  request that started before the last cut says nothing new;
- the answers' latency tells how many requests wait at the server (Vegas, as in TCP): with
  ``n`` in flight, a smoothed latency ``rtt`` and the usual answer ``base`` (the fastest seen,
  drifting up slowly), about ``n * (1 - base / rtt)`` are queued. Over ``_QUEUED_HIGH``: one
  less (once per round); under ``_QUEUED_LOW``: one more after a round of successes (as many
  as the window is wide), up to the maximum.

``AUTOLOG_MAX_IN_FLIGHT`` sets the maximum (default 8).
"""

from __future__ import annotations

import logging
import os
import threading

from autolog._warnings import warn_once

logger = logging.getLogger("autolog.client")

DEFAULT_MAX_IN_FLIGHT = 8
#: Beyond this many requests at once a local server only queues them (and the pool is 16).
MAX_IN_FLIGHT_CAP = 16
#: Requests estimated to wait at the server: above the first, one less in flight; below the
#: second, room for one more.
_QUEUED_HIGH = 3.0
_QUEUED_LOW = 1.0
_SMOOTHING = 0.2  # weight of the newest latency in the running average
_BASELINE_DRIFT = 0.005  # how fast the usual answer follows a server that got slower for good


def max_in_flight_from_env() -> int:
    """``AUTOLOG_MAX_IN_FLIGHT`` as a whole number in 1..16; the default, with one warning,
    for anything else."""
    text = os.environ.get("AUTOLOG_MAX_IN_FLIGHT", "").strip()
    if not text:
        return DEFAULT_MAX_IN_FLIGHT
    try:
        value = int(text)
    except ValueError:
        value = 0
    if 1 <= value <= MAX_IN_FLIGHT_CAP:
        return value
    warn_once("max-in-flight", f"autolog: AUTOLOG_MAX_IN_FLIGHT={text!r} is not a whole number "
              f"from 1 to {MAX_IN_FLIGHT_CAP}; using {DEFAULT_MAX_IN_FLIGHT}")
    return DEFAULT_MAX_IN_FLIGHT


class Window:
    """A counting gate whose width adapts: :meth:`acquire` before a request, :meth:`release`
    with what its answer said."""

    def __init__(self, maximum: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        if maximum < 1:
            raise ValueError("a window lets at least one request through")
        self.maximum = maximum
        #: Requests allowed in flight now (1..maximum).
        self.limit = maximum
        self.in_flight = 0
        self._round = 0  # bumped at every cut
        self._successes = 0  # in a row since the window last changed
        self._latency: float | None = None  # smoothed seconds per successful request
        self._baseline: float | None = None  # the usual answer: the fastest, drifting up
        self._cond = threading.Condition()

    def acquire(self, give_up: threading.Event | None = None) -> int | None:
        """Wait for a free place; the round it started in (pass it to :meth:`release`), or None
        when ``give_up`` was set meanwhile."""
        with self._cond:
            while self.in_flight >= self.limit:
                if give_up is not None and give_up.is_set():
                    return None
                self._cond.wait(0.1)
            self.in_flight += 1
            return self._round

    def release(self, started_round: int, *, congested: bool = False,
                latency: float | None = None) -> None:
        """One request is over. ``congested``: the server said it is overloaded (429/503);
        ``latency``: seconds a successful request took."""
        with self._cond:
            in_flight = self.in_flight
            self.in_flight -= 1
            queued = 0.0 if latency is None else self._queued(latency, in_flight)
            if congested and started_round == self._round:
                self._cut(max(1, self.limit // 2), "the server asked to slow down")
            elif queued > _QUEUED_HIGH and started_round == self._round:
                self._cut(max(1, self.limit - 1), "requests queue at the server")
            elif latency is not None and queued < _QUEUED_LOW:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._successes = 0
            # Wake only as many waiters as there are free places: waking every waiting thread
            # for one place costs each of them a GIL round trip for nothing.
            free = self.limit - self.in_flight
            if free > 0:
                self._cond.notify(free)

    def _queued(self, latency: float, in_flight: int) -> float:
        """Fold ``latency`` into the averages; how many requests seem to wait at the server."""
        if self._latency is None or self._baseline is None:
            self._latency = self._baseline = latency
            return 0.0
        self._latency += _SMOOTHING * (latency - self._latency)
        self._baseline = min(latency, self._baseline + _BASELINE_DRIFT * (
            self._latency - self._baseline))
        if self._latency <= 0:
            return 0.0
        return in_flight * (1.0 - self._baseline / self._latency)

    def _cut(self, limit: int, why: str) -> None:
        before = self.limit
        self.limit = limit
        self._round += 1
        self._successes = 0
        if before != limit:
            logger.debug("autolog: %s: %d request(s) in flight at most (was %d)", why,
                         limit, before)

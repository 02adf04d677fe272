"""How many requests may be in flight at once against one server, adapted to how it copes.

A request to a local MLflow server takes ~20-45 ms, most of it waiting; one at a time, a study
of a hundred trials waits seconds for nothing. Several in flight hide that wait, but a server
that says it is overloaded (429, 503) or answers ever more slowly gets fewer: the window halves
(never below one) on such a signal, at most once per round (a signal from a request that
started before the last cut says nothing new), and grows back by one after each round of
successes (as many as the window is wide), up to its maximum. Additive increase,
multiplicative decrease, as TCP does.

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
#: A request this many times slower than the usual answer (smoothed), and at least
#: ``_SLOW_MARGIN`` seconds slower, says the server is queueing: fewer in flight.
_SLOW_FACTOR = 3.0
_SLOW_MARGIN = 0.05
_SMOOTHING = 0.2  # weight of the newest latency in the running average
_BASELINE_DRIFT = 0.02  # how fast the usual answer follows a server that got slower for good


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
            self.in_flight -= 1
            slow = latency is not None and self._note_latency(latency)
            if (congested or slow) and started_round == self._round:
                self._cut("the server asked to slow down" if congested else "answers slowed")
            elif latency is not None and not slow:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.maximum:
                    self.limit += 1
                    self._successes = 0
            self._cond.notify_all()

    def _note_latency(self, latency: float) -> bool:
        """Fold ``latency`` into the averages; True when answers are now markedly slower."""
        if self._latency is None or self._baseline is None:
            self._latency = self._baseline = latency
            return False
        self._latency += _SMOOTHING * (latency - self._latency)
        self._baseline = min(latency, self._baseline + _BASELINE_DRIFT * (
            self._latency - self._baseline))
        return (self._latency > _SLOW_FACTOR * self._baseline
                and self._latency - self._baseline > _SLOW_MARGIN)

    def _cut(self, why: str) -> None:
        before = self.limit
        self.limit = max(1, self.limit // 2)
        self._round += 1
        self._successes = 0
        if self._latency is not None and self._baseline is not None:
            self._latency = self._baseline  # judge the new width on its own answers
        if self.limit != before:
            logger.debug("autolog: %s: %d request(s) in flight at most (was %d)", why,
                         self.limit, before)

"""Retry policy as plain data and arithmetic, with no I/O, so every rule is unit-testable.

Backends report *whether* a failure is worth retrying (see :data:`RETRYABLE_STATUS`) and the
server's own pacing hint (``Retry-After``); the shipper decides *when* with :class:`Backoff`.
"""

from __future__ import annotations

import math
import random
import re
import time
from datetime import timezone

#: Statuses that describe the server's momentary state, not the request: worth sending again.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

#: No server hint makes us wait longer than this; a bogus far-future date must not stall delivery.
MAX_RETRY_AFTER = 600.0

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or None when absent or unusable.

    The header holds either delay-seconds or an HTTP-date. Malformed or negative values are
    ignored (None) rather than trusted; a date already past means "now" (0.0). The result is
    capped at :data:`MAX_RETRY_AFTER`. ``now`` (epoch seconds) is injectable for tests.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _NUMBER.match(text):
        seconds = float(text)
        if not math.isfinite(seconds) or seconds < 0:
            return None
    else:
        seconds = _parse_http_date(text, time.time() if now is None else now)
        if seconds is None:
            return None
    return min(seconds, MAX_RETRY_AFTER)


def _parse_http_date(text: str, now: float) -> float | None:
    from email.utils import parsedate_to_datetime  # rare: most servers send seconds

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no source zone; never local time
        when = when.replace(tzinfo=timezone.utc)
    try:
        stamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, stamp - now)


class Backoff:
    """Exponential backoff with full jitter, honouring the server's ``Retry-After``.

    Full jitter (a uniform draw in ``[0, ceiling]``) spreads out many clients that failed at
    the same moment, e.g. every training process after a server restart. The ceiling grows by
    ``factor`` per consecutive failure up to ``cap``; :meth:`reset` after a success.
    """

    def __init__(
        self,
        base: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        if base <= 0 or factor < 1 or cap < base:
            raise ValueError("Backoff needs base > 0, factor >= 1 and cap >= base")
        self.base = base
        self.factor = factor
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The upper bound of the next jittered delay."""
        # Compare exponents rather than computing factor**attempts, which overflows eventually.
        if self.factor > 1 and self.attempts > math.log(self.cap / self.base, self.factor):
            return self.cap
        return min(self.cap, self.base * self.factor**self.attempts)

    def next_delay(self, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt; counts one more consecutive failure."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self.attempts += 1
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def reset(self) -> None:
        """Forget past failures: the next delay starts from ``base`` again."""
        self.attempts = 0

"""What a server's answer says about sending the request again, as plain data and arithmetic.

The transport classifies each answer with these (which statuses are worth another try, and the
server's own pacing hint, ``Retry-After``); the sender decides *when* with its backoff
(``autolog.client._retry``). No I/O here, so every rule is unit-testable.
"""

from __future__ import annotations

import math
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

"""When to send again: exponential backoff with full jitter, as plain arithmetic.

Whether a failure is worth another try, and the server's own pacing hint, come from the
transport's classification (``autolog.backends._retry_hints``); the sender decides *when* with
:class:`Backoff`.
"""

from __future__ import annotations

import math
import random

from autolog.backends._retry_hints import MAX_RETRY_AFTER


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

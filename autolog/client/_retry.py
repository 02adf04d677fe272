"""Retry policy as data (placeholder until the full module lands)."""

from __future__ import annotations

import random

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(seconds, 600.0) if seconds >= 0 else None


class Backoff:
    def __init__(self, base: float = 0.5, factor: float = 2.0, cap: float = 30.0) -> None:
        self.base, self.factor, self.cap = base, factor, cap
        self.attempt = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        delay = random.uniform(0, min(self.cap, self.base * self.factor**self.attempt))
        self.attempt += 1
        return max(delay, retry_after or 0.0)

    def reset(self) -> None:
        self.attempt = 0

"""One test per retry rule: which statuses retry, how Retry-After is read, how backoff grows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from autolog.backends._retry_hints import (
    MAX_RETRY_AFTER,
    RETRYABLE_STATUS,
    is_retryable_status,
    parse_retry_after,
)
from autolog.client._retry import Backoff

NOW = datetime(2030, 5, 17, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def _http_date(offset_seconds: float) -> str:
    moment = datetime.fromtimestamp(NOW + offset_seconds, tz=timezone.utc)
    return format_datetime(moment, usegmt=True)


# -- which statuses are retried ---------------------------------------------------------------


def test_retryable_statuses_are_exactly_the_transient_ones() -> None:
    assert set(RETRYABLE_STATUS) == {408, 429, 500, 502, 503, 504}


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_each_transient_status_is_retryable(status: int) -> None:
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [200, 201, 301, 400, 401, 403, 404, 409, 413, 422, 501, 505])
def test_other_statuses_are_not_retryable(status: int) -> None:
    assert not is_retryable_status(status)


# -- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "seconds"), [("120", 120.0), ("0", 0.0), (" 7 ", 7.0)])
def test_retry_after_integer_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_fractional_seconds() -> None:
    assert parse_retry_after("1.5") == 1.5


def test_retry_after_http_date_in_the_future() -> None:
    assert parse_retry_after(_http_date(90), now=NOW) == pytest.approx(90.0)


def test_retry_after_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after(_http_date(-300), now=NOW) == 0.0


def test_retry_after_http_date_without_zone_is_utc() -> None:
    header = _http_date(30).replace("GMT", "-0000")
    assert parse_retry_after(header, now=NOW) == pytest.approx(30.0)


def test_retry_after_missing_or_empty() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("   ") is None


@pytest.mark.parametrize(
    "header", ["soon", "12abc", "1,5", "Mon, 99 Foo 2030 99:99:99 GMT", "NaN", "inf", "0x10"]
)
def test_retry_after_malformed_is_ignored(header: str) -> None:
    assert parse_retry_after(header, now=NOW) is None


@pytest.mark.parametrize("header", ["-1", "-0.5", "-3600"])
def test_retry_after_negative_is_ignored(header: str) -> None:
    assert parse_retry_after(header) is None


def test_retry_after_is_capped() -> None:
    assert parse_retry_after("86400") == MAX_RETRY_AFTER
    assert parse_retry_after("1e308") == MAX_RETRY_AFTER
    assert parse_retry_after(_http_date(7 * 86400), now=NOW) == MAX_RETRY_AFTER


def test_retry_after_uses_the_clock_when_now_is_not_given() -> None:
    far = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=100), usegmt=True)
    assert 95.0 <= parse_retry_after(far) <= 101.0


# -- Backoff ----------------------------------------------------------------------------------


def test_backoff_jitter_stays_within_the_ceiling() -> None:
    backoff = Backoff(base=0.5, factor=2.0, cap=30.0, rng=random.Random(1))
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2.0**attempt)
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling


def test_backoff_jitter_is_full_jitter_not_a_constant() -> None:
    delays = []
    for seed in range(200):
        backoff = Backoff(rng=random.Random(seed))
        for _ in range(4):
            backoff.next_delay()
        delays.append(backoff.next_delay())  # ceiling 0.5 * 2**4 = 8
    assert min(delays) < 1.0
    assert max(delays) > 7.0
    assert all(0.0 <= d <= 8.0 for d in delays)


def test_backoff_ceiling_grows_exponentially_then_caps() -> None:
    backoff = Backoff(base=0.5, factor=2.0, cap=30.0)
    ceilings = []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        backoff.next_delay()
    assert ceilings[:7] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert ceilings[7:] == [30.0, 30.0, 30.0]


def test_backoff_ceiling_never_overflows() -> None:
    backoff = Backoff()
    backoff.attempts = 10_000
    assert backoff.ceiling() == 30.0
    assert 0.0 <= backoff.next_delay() <= 30.0


def test_backoff_reset_starts_over() -> None:
    backoff = Backoff(rng=random.Random(3))
    for _ in range(8):
        backoff.next_delay()
    assert backoff.ceiling() == 30.0
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.ceiling() == 0.5
    assert backoff.next_delay() <= 0.5


def test_backoff_is_configurable() -> None:
    backoff = Backoff(base=2.0, factor=3.0, cap=50.0)
    ceilings = []
    for _ in range(5):
        ceilings.append(backoff.ceiling())
        backoff.next_delay()
    assert ceilings == [2.0, 6.0, 18.0, 50.0, 50.0]


def test_backoff_honours_a_longer_retry_after() -> None:
    backoff = Backoff(rng=random.Random(0))
    assert backoff.next_delay(retry_after=45.0) == 45.0  # longer than the 0.5 s ceiling


def test_backoff_keeps_its_own_delay_when_retry_after_is_shorter() -> None:
    rng_a, rng_b = random.Random(5), random.Random(5)
    plain, hinted = Backoff(rng=rng_a), Backoff(rng=rng_b)
    for _ in range(6):
        plain.next_delay()
        hinted.next_delay()
    expected = plain.next_delay()
    assert hinted.next_delay(retry_after=0.001) == max(expected, 0.001)


@pytest.mark.parametrize("hint", [None, 0.0, -5.0, float("nan"), float("inf")])
def test_backoff_ignores_unusable_retry_after(hint: float | None) -> None:
    backoff = Backoff(rng=random.Random(0))
    assert 0.0 <= backoff.next_delay(retry_after=hint) <= 0.5


def test_backoff_caps_a_huge_retry_after() -> None:
    assert Backoff().next_delay(retry_after=1e9) == MAX_RETRY_AFTER


def test_backoff_counts_failures_even_when_retry_after_wins() -> None:
    backoff = Backoff()
    backoff.next_delay(retry_after=10.0)
    backoff.next_delay(retry_after=10.0)
    assert backoff.attempts == 2
    assert backoff.ceiling() == 2.0


@pytest.mark.parametrize(
    "kwargs", [{"base": 0.0}, {"base": -1.0}, {"factor": 0.5}, {"base": 10.0, "cap": 5.0}]
)
def test_backoff_rejects_nonsense_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)

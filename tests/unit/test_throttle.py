"""The epoch throttle: every n-th, and always the first, the last and the best."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autolog._throttle import Throttle


def drive(throttle: Throttle, values: list[float]) -> list[int]:
    recorded = [step for step, value in enumerate(values)
                if throttle.offer(step, {"loss": value, "step": step})]
    return sorted(recorded + [step for step, _ in throttle.finish()])


def test_every_epoch_by_default() -> None:
    assert drive(Throttle(), [3.0, 2.0, 1.0]) == [0, 1, 2]


def test_every_n_keeps_the_first_and_the_last() -> None:
    throttle = Throttle(3)
    assert [throttle.offer(step, {"loss": 1.0}) for step in range(8)] == [
        True, False, False, True, False, False, True, False]
    assert throttle.finish() == [(7, {"loss": 1.0})]
    assert throttle.finish() == []


def test_finish_is_empty_when_the_last_was_recorded() -> None:
    throttle = Throttle(2)
    for step in range(3):
        throttle.offer(step, {"loss": 1.0})
    assert throttle.finish() == []


def test_the_best_is_recorded_even_when_skipped() -> None:
    throttle = Throttle(3, monitor="loss", mode="min")
    losses = [5.0, 4.0, 0.5, 3.0, 2.0, 1.5, 1.2]
    recorded = [s for s, loss in enumerate(losses) if throttle.offer(s, {"loss": loss})]
    assert recorded == [0, 3, 6]
    assert throttle.best_step == 2 and throttle.best_value == 0.5
    assert throttle.finish() == [(2, {"loss": 0.5})]


def test_best_and_last_together_sorted_and_deduplicated() -> None:
    throttle = Throttle(4, monitor="acc", mode="max")
    for step, acc in enumerate([0.1, 0.9, 0.2, 0.3, 0.4, 0.95]):
        throttle.offer(step, {"acc": acc})
    assert throttle.finish() == [(5, {"acc": 0.95})]  # the best is the last: once
    throttle = Throttle(4, monitor="acc", mode="max")
    for step, acc in enumerate([0.1, 0.9, 0.2, 0.3, 0.4, 0.5]):
        throttle.offer(step, {"acc": acc})
    assert throttle.finish() == [(1, {"acc": 0.9}), (5, {"acc": 0.5})]


def test_nan_and_non_numbers_never_become_best() -> None:
    throttle = Throttle(5, monitor="loss")
    throttle.offer(0, {"loss": 2.0})
    throttle.offer(1, {"loss": math.nan})
    throttle.offer(2, {"loss": "n/a"})
    throttle.offer(3, {"other": 0.0})
    assert throttle.best_step == 0


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((0,), {}, "every_n"), ((1.5,), {}, "every_n"), ((True,), {}, "every_n"),
    ((1,), {"mode": "lowest"}, "mode"),
])
def test_bad_arguments(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Throttle(*args, **kwargs)


@given(st.integers(1, 7),
       st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=60),
       st.sampled_from(["min", "max"]))
def test_first_last_best_and_every_nth_are_always_recorded(
        every_n: int, values: list[float], mode: str) -> None:
    throttle = Throttle(every_n, monitor="loss", mode=mode)
    recorded = drive(throttle, values)
    assert len(recorded) == len(set(recorded))
    expected = set(range(0, len(values), every_n)) | {len(values) - 1}
    candidates = [(v, s) for s, v in enumerate(values) if not math.isnan(v)]
    if candidates:
        best = min(candidates) if mode == "min" else max(candidates, key=lambda c: (c[0], -c[1]))
        expected.add(best[1])
    assert set(recorded) == expected

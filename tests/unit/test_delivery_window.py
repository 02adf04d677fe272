"""The window of requests in flight (AIMD) and the delivery threads that share out the jobs."""

from __future__ import annotations

import threading
import warnings

import pytest

from autolog.client._window import DEFAULT_MAX_IN_FLIGHT, Window, max_in_flight_from_env
from autolog.client._workers import Workers


def _round_trip(window: Window, **answer) -> None:
    window.release(window.acquire(), **answer)


def test_an_overloaded_answer_halves_the_window_once_per_round():
    window = Window(8)
    started = [window.acquire() for _ in range(8)]
    window.release(started[0], congested=True)
    assert window.limit == 4
    for begun in started[1:]:  # the rest of that round says nothing new
        window.release(begun, congested=True)
    assert window.limit == 4
    _round_trip(window, congested=True)
    _round_trip(window, congested=True)
    _round_trip(window, congested=True)
    _round_trip(window, congested=True)
    assert window.limit == 1  # never below one


def test_successes_grow_it_back_by_one_per_round():
    window = Window(4)
    _round_trip(window, congested=True)
    _round_trip(window, congested=True)
    assert window.limit == 1
    _round_trip(window, latency=0.02)
    assert window.limit == 2
    _round_trip(window, latency=0.02)
    assert window.limit == 2
    _round_trip(window, latency=0.02)
    assert window.limit == 3
    for _ in range(10):
        _round_trip(window, latency=0.02)
    assert window.limit == 4  # never above its maximum


def _full_round(window: Window, latency: float) -> None:
    """As many requests as the window lets through, all answered after ``latency``."""
    started = [window.acquire() for _ in range(window.limit)]
    for begun in started:
        window.release(begun, latency=latency)


def test_answers_that_slow_down_with_many_in_flight_shrink_it():
    """Eight in flight, each answered 25 times slower than one alone: they queue at the server
    (a local server bound by its CPU), so fewer go out at once."""
    window = Window(8)
    for _ in range(5):
        _round_trip(window, latency=0.02)
    assert window.limit == 8
    for _ in range(10):
        _full_round(window, latency=0.5)
    assert window.limit <= 4


def test_one_slow_request_alone_is_not_a_signal():
    window = Window(8)
    _round_trip(window, latency=0.02)
    for _ in range(10):
        _round_trip(window, latency=0.5)  # one at a time: nothing can queue behind it
    assert window.limit == 8


def test_acquire_waits_for_a_place_and_can_give_up():
    window = Window(1)
    begun = window.acquire()
    give_up = threading.Event()
    got = []
    waiter = threading.Thread(target=lambda: got.append(window.acquire(give_up)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not got
    give_up.set()
    waiter.join(2)
    assert got == [None]
    window.release(begun)
    assert window.acquire() is not None


def test_many_waiters_on_a_narrow_window_all_get_through_never_more_than_its_width():
    window = Window(2)
    lock = threading.Lock()
    inside = [0]
    most = [0]
    done = []

    def request() -> None:
        started = window.acquire()
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threading.Event().wait(0.002)
        with lock:
            inside[0] -= 1
        window.release(started)
        done.append(True)

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(done) == 12 and most[0] <= 2


@pytest.mark.parametrize("text", ["0", "-3", "17", "many", "2.5"])
def test_a_bad_max_in_flight_warns_and_uses_the_default(monkeypatch, text):
    monkeypatch.setenv("AUTOLOG_MAX_IN_FLIGHT", text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from autolog._warnings import forget

        forget("max-in-flight")
        assert max_in_flight_from_env() == DEFAULT_MAX_IN_FLIGHT
    assert any("AUTOLOG_MAX_IN_FLIGHT" in str(w.message) for w in caught)


def test_max_in_flight_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUTOLOG_MAX_IN_FLIGHT", "3")
    assert max_in_flight_from_env() == 3
    monkeypatch.delenv("AUTOLOG_MAX_IN_FLIGHT")
    assert max_in_flight_from_env() == DEFAULT_MAX_IN_FLIGHT


def test_workers_run_every_job_at_once():
    workers = Workers(4)
    inside = threading.Barrier(4, timeout=5)  # passes only with four jobs running together
    try:
        assert workers.run_all(lambda n: (inside.wait(), n * n)[1], [1, 2, 3, 4]) == [1, 4, 9, 16]
    finally:
        workers.close()


def test_workers_run_no_more_jobs_at_once_than_asked():
    workers = Workers(8)
    lock = threading.Lock()
    inside = [0]
    most = [0]

    def job(n: int) -> int:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threading.Event().wait(0.01)
        with lock:
            inside[0] -= 1
        return n

    try:
        assert workers.run_all(job, list(range(12)), at_once=2) == list(range(12))
    finally:
        workers.close()
    assert most[0] == 2


def test_jobs_that_run_jobs_never_wait_for_each_other():
    workers = Workers(2)
    try:
        result = workers.run_all(lambda n: sum(workers.run_all(lambda m: m + n, [1, 2, 3])),
                                 list(range(6)))
    finally:
        workers.close()
    assert result == [6 + 3 * n for n in range(6)]


def test_the_first_error_is_raised_after_every_job_ran():
    workers = Workers(3)
    ran = []

    def job(n: int) -> int:
        ran.append(n)
        if n == 1:
            raise KeyError(n)
        return n

    try:
        with pytest.raises(KeyError):
            workers.run_all(job, [0, 1, 2, 3])
    finally:
        workers.close()
    assert sorted(ran) == [0, 1, 2, 3]


def test_without_threads_the_caller_does_every_job_in_order(monkeypatch):
    from autolog.client import _workers

    monkeypatch.setattr(_workers, "start_thread", lambda target, name: None)
    workers = Workers(8)
    order = []
    assert workers.run_all(lambda n: order.append(n) or n, [3, 1, 2]) == [3, 1, 2]
    assert order == [3, 1, 2]

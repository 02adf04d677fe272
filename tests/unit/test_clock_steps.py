"""The wall clock steps backwards and forwards between records (NTP corrections, a laptop
waking, a VM restored): every point is kept with the timestamp it was logged with, delivered
once, and nothing waits for the wall clock (timers are monotonic)."""

from __future__ import annotations

import time
import uuid

import pytest

import autolog
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from autolog.backends.memory import named

HOUR_MS = 3_600_000


@pytest.fixture
def wall_clock(monkeypatch):
    """``time.time`` with an adjustable step (in hours) added, as the system clock would."""
    real_time = time.time
    offset = {"hours": 0.0}
    monkeypatch.setattr(time, "time", lambda: real_time() + offset["hours"] * 3600)
    yield offset


@pytest.mark.parametrize("steps_in_hours", [(-1, 24), (48, -72), (-0.001, 0.001)])
def test_points_logged_across_clock_steps_are_delivered_once_as_logged(wall_clock, monkeypatch,
                                                                       tmp_path, steps_in_hours):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.01")
    name = uuid.uuid4().hex
    backend = named(name)
    try:
        with autolog.start_run(run_name="steps", tracking_uri=f"memory://{name}") as run:
            before = time.time() * 1000
            for phase, hours in enumerate((0, *steps_in_hours)):
                wall_clock["hours"] = hours
                for step in range(phase * 100, phase * 100 + 100):
                    run.log_metric("loss", float(step), step=step)
                assert autolog.flush(10)  # delivered while the clock stands there
        assert autolog.flush(10)
    finally:
        shutdown(5)
    remote = backend.run_by_client_id(run.run_id)
    points = remote.metrics["loss"]
    assert [point.step for point in points] == list(range(300))
    assert [point.value for point in points] == [float(step) for step in range(300)]
    for phase, hours in enumerate((0, *steps_in_hours)):
        stamps = [point.timestamp for point in points[phase * 100:phase * 100 + 100]]
        assert all(abs(stamp - before - hours * HOUR_MS) < 60_000 for stamp in stamps)
    assert remote.status == "FINISHED"
    assert sum(method == "create_run" for method, _ in backend.requests) == 1
    local = LocalStore(tmp_path).run_data(run.run_id)["metrics"]["loss"]
    assert [step for step, _, _ in local] == list(range(300))


def test_a_retry_pause_does_not_follow_the_wall_clock(wall_clock, monkeypatch, tmp_path):
    # A server that refused once: the sender pauses briefly. A clock stepped a day back in
    # the meantime must not stretch that pause into a day.
    from autolog.backends.base import Result

    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.05")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.2")
    name = uuid.uuid4().hex
    backend = named(name)
    refused = []

    def refuse_once(method, request):
        if method == "log_batch" and not refused:
            refused.append(method)
            wall_clock["hours"] = -24
            return Result.failure("503", retryable=True, status_code=503)
        return None

    backend.fail = refuse_once
    try:
        with pytest.warns(autolog.AutologWarning, match="delayed"):
            with autolog.start_run(tracking_uri=f"memory://{name}") as run:
                run.log_metric("loss", 1.0, step=0)
            assert autolog.flush(10)
    finally:
        shutdown(5)
    assert refused and backend.run_by_client_id(run.run_id).metrics["loss"][0].value == 1.0

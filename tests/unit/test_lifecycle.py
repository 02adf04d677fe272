"""The exit path: registered background work first, then a final flush that starts no thread."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest

import autolog
from autolog import _lifecycle, _runs
from autolog._runs import shutdown
from autolog.backends.memory import named


@pytest.fixture
def backend(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    monkeypatch.setattr(_lifecycle, "_exiting", False)  # the exit handler sets it for good
    monkeypatch.setattr(_lifecycle, "_waiters", {})
    name = uuid.uuid4().hex
    memory = named(name)
    memory.uri = f"memory://{name}"
    yield memory
    shutdown(5)


def test_records_first_logged_at_exit_are_delivered_inline_without_a_thread(backend):
    threads_before = set(threading.enumerate())
    _lifecycle.begin_exit()
    with autolog.start_run(run_name="late", tracking_uri=backend.uri) as run:
        run.log_metrics({"loss": 0.5}, step=1)
    _runs._at_exit()

    assert set(threading.enumerate()) - threads_before == set()
    remote = backend.run_by_client_id(run.run_id)
    assert remote.status == "FINISHED" and [m.value for m in remote.metrics["loss"]] == [0.5]


def test_exit_waits_for_background_work_then_delivers_what_it_logged(backend):
    run = autolog.start_run(run_name="study", tracking_uri=backend.uri)
    release = threading.Event()

    def background() -> None:  # like a plot being drawn when the script ends
        release.wait(10)
        run.log_metrics({"drawn": 1.0})

    worker = threading.Thread(target=background, daemon=True)
    worker.start()

    def wait(timeout: float | None) -> bool:
        release.set()
        worker.join(timeout)
        return not worker.is_alive()

    _lifecycle.register_background_work("the plot", wait)
    _runs._at_exit()

    remote = backend.run_by_client_id(run.run_id)
    assert remote.status == "FINISHED" and [m.value for m in remote.metrics["drawn"]] == [1.0]


def test_work_still_running_at_the_exit_timeout_is_named_and_the_rest_delivered(
        backend, monkeypatch, caplog):
    monkeypatch.setenv("AUTOLOG_EXIT_TIMEOUT", "0.2")
    never = threading.Event()

    def broken(timeout: float | None) -> bool:
        raise RuntimeError("a broken waiter")

    _lifecycle.register_background_work("stuck work", never.wait)
    _lifecycle.register_background_work("broken work", broken)
    with autolog.start_run(run_name="done", tracking_uri=backend.uri) as run:
        run.log_metrics({"loss": 0.5})
    with caplog.at_level(logging.WARNING, logger="autolog"):
        _runs._at_exit()

    assert [r.getMessage() for r in caplog.records] == [
        "autolog: stuck work, broken work still in progress at exit (AUTOLOG_EXIT_TIMEOUT=0.2s); "
        "what it had not logged by then is not recorded"]
    assert backend.run_by_client_id(run.run_id).status == "FINISHED"

"""The exit path: registered background work first, then a final flush that starts no thread."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest

import autolog
from autolog import _lifecycle
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
    _lifecycle._at_exit()

    assert set(threading.enumerate()) - threads_before == set()
    remote = backend.run_by_client_id(run.run_id)
    assert remote.status == "FINISHED" and [m.value for m in remote.metrics["loss"]] == [0.5]


def _plot_drawn_in_background(run) -> None:
    """Like a plot being drawn on a thread of its own: it logs once it is waited for."""
    release = threading.Event()

    def background() -> None:
        release.wait(10)
        run.log_metrics({"drawn": 1.0})

    worker = threading.Thread(target=background, daemon=True)
    worker.start()

    def wait(timeout: float | None) -> bool:
        release.set()
        worker.join(timeout)
        return not worker.is_alive()

    _lifecycle.register_background_work("the plot", wait)


def test_exit_waits_for_background_work_then_delivers_what_it_logged(backend):
    run = autolog.start_run(run_name="study", tracking_uri=backend.uri)
    _plot_drawn_in_background(run)
    _lifecycle._at_exit()

    remote = backend.run_by_client_id(run.run_id)
    assert remote.status == "FINISHED" and [m.value for m in remote.metrics["drawn"]] == [1.0]


def test_work_still_running_at_the_exit_timeout_is_named_and_the_rest_delivered(
        backend, monkeypatch, caplog, autolog_errors):
    monkeypatch.setenv("AUTOLOG_EXIT_TIMEOUT", "0.2")
    never = threading.Event()

    def broken(timeout: float | None) -> bool:
        raise RuntimeError("a broken waiter")

    _lifecycle.register_background_work("stuck work", never.wait)
    _lifecycle.register_background_work("broken work", broken)
    with autolog.start_run(run_name="done", tracking_uri=backend.uri) as run:
        run.log_metrics({"loss": 0.5})
    with caplog.at_level(logging.WARNING, logger="autolog"):
        _lifecycle._at_exit()

    assert [r.getMessage() for r in caplog.records] == [
        "autolog: stuck work, broken work still in progress at exit (AUTOLOG_EXIT_TIMEOUT=0.2s); "
        "what it had not logged by then is not recorded"]
    assert backend.run_by_client_id(run.run_id).status == "FINISHED"


def test_flush_waits_for_registered_background_work_and_delivers_what_it_logged(backend):
    run = autolog.start_run(run_name="plots", tracking_uri=backend.uri)
    _plot_drawn_in_background(run)
    assert autolog.flush(10)

    remote = backend.run_by_client_id(run.run_id)
    assert [m.value for m in remote.metrics["drawn"]] == [1.0]
    run.end()


def test_flush_answers_false_when_background_work_outlasts_its_timeout(backend):
    never = threading.Event()
    _lifecycle.register_background_work("stuck work", never.wait)
    with autolog.start_run(run_name="done", tracking_uri=backend.uri) as run:
        run.log_metrics({"loss": 0.5})

    assert autolog.flush(0.2) is False
    _lifecycle.register_background_work("stuck work", lambda timeout: True)
    assert autolog.flush(10)
    assert backend.run_by_client_id(run.run_id).status == "FINISHED"


def test_fork_handlers_run_in_the_stated_order(monkeypatch):
    monkeypatch.setattr(_lifecycle, "_fork_handlers",
                        {stage: {} for stage in _lifecycle.FORK_ORDER})
    calls = []
    for stage in reversed(_lifecycle.FORK_ORDER):  # registration order does not matter
        _lifecycle.on_fork(stage, "probe",
                           before=lambda s=stage: calls.append(("before", s)),
                           after_in_parent=lambda s=stage: calls.append(("parent", s)),
                           after_in_child=lambda s=stage: calls.append(("child", s)))
    # the same name again replaces (a module reloaded does not double its handlers)
    _lifecycle.on_fork("stores", "probe", after_in_child=lambda: calls.append(("child", "again")))

    _lifecycle._before_fork()
    _lifecycle._after_fork_in_parent()
    _lifecycle._after_fork_in_child()

    assert _lifecycle.FORK_ORDER[0] == "stores"
    rest = list(_lifecycle.FORK_ORDER[1:])
    assert calls == ([("before", s) for s in reversed(rest)] + [("parent", s) for s in rest]
                     + [("child", "again")] + [("child", s) for s in rest])
    with pytest.raises(ValueError, match="fork stage"):
        _lifecycle.on_fork("somewhere", "probe")


def test_a_failing_fork_handler_is_reported_and_the_others_still_run(monkeypatch,
                                                                    autolog_errors):
    monkeypatch.setattr(_lifecycle, "_fork_handlers",
                        {stage: {} for stage in _lifecycle.FORK_ORDER})
    calls = []

    def broken() -> None:
        raise RuntimeError("a broken handler")

    _lifecycle.on_fork("stores", "broken", after_in_child=broken)
    _lifecycle.on_fork("stores", "fine", after_in_child=lambda: calls.append("fine"))
    _lifecycle.on_fork("runs", "later", after_in_child=lambda: calls.append("later"))
    with pytest.warns(autolog.AutologWarning, match="fork handling: broken"):
        _lifecycle._after_fork_in_child()

    assert calls == ["fine", "later"]
    assert any("a broken handler" in error for error in autolog_errors())


def test_a_forked_child_resets_each_store_once():
    import os

    from autolog.backends import local_store

    run = autolog.start_run(run_name="open")
    run.end()
    store = run.pipeline.store  # a pipeline's store: reset by the stores stage only
    assert run.pipeline.flush(10)
    resets = []
    original = local_store.LocalStore.reset_after_fork

    def counting(self):
        if self is store:
            resets.append(os.getpid())
        original(self)

    read, write = os.pipe()
    local_store.LocalStore.reset_after_fork = counting
    try:
        pid = os.fork()
        if pid == 0:  # the child: report how often this store was reset, then leave at once
            os.write(write, str(len(resets)).encode())
            os._exit(0)
    finally:
        local_store.LocalStore.reset_after_fork = original
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 10) == b"1" and status == 0
    os.close(read)

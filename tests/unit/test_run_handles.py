"""Runs created with an agreed id, handles on runs created elsewhere, the active-run context."""

from __future__ import annotations

import uuid

import pytest

import autolog
from autolog._run_handles import activated, attach_run, bind_to_remote, recording_pipeline
from autolog._runs import get_pipeline, shutdown
from autolog.backends.local_store import LOCAL_TARGET, LocalStore
from autolog.backends.memory import named


@pytest.fixture(autouse=True)
def _closed():
    yield
    shutdown(5)


def test_start_run_with_a_given_id_and_not_activated():
    run_id = uuid.uuid4().hex
    run = autolog.start_run("study", run_id=run_id, activate=False, tags={"team": "a"})

    assert run.run_id == run_id and autolog.active_run() is None
    run.log_metric("loss", 0.5)
    run.end()
    autolog.flush(10)
    store = run.pipeline.store
    assert store.run_row(run_id)["status"] == "FINISHED"
    data = store.run_data(run_id)
    assert data["tags"]["team"] == "a" and data["metrics"]["loss"][0][1] == 0.5


@pytest.mark.parametrize("bad", ["", "a/b", "ü1", 12])
def test_start_run_refuses_an_id_that_is_not_letters_and_digits(bad):
    with pytest.raises(ValueError, match="run_id"):
        autolog.start_run(run_id=bad)
    assert autolog.active_run() is None


def test_a_run_not_activated_is_still_ended_at_shutdown():
    run = autolog.start_run("left open", activate=False)
    shutdown(5)
    assert run.status == "FINISHED"


def test_activated_makes_a_run_active_inside_only():
    run = autolog.start_run("outer", activate=False)
    with activated(run) as inside:
        assert inside is run and autolog.active_run() is run
        child = autolog.start_run("child")
        child.end()
    assert autolog.active_run() is None and run.status == "RUNNING"
    assert child.parent is run


def test_activated_leaves_a_run_that_was_active_already_active():
    with autolog.start_run("outer") as run:
        with activated(run):
            pass
        assert autolog.active_run() is run


def test_attach_run_returns_the_open_run_of_this_process():
    run = autolog.start_run("owned", activate=False)
    assert attach_run(run.run_id, "owned", pipeline=run.pipeline, experiment=run.experiment) is run
    # through another pipeline (as a Lightning rank sees it): a handle, never the run itself
    other = recording_pipeline(str(run.pipeline.store.directory), run.pipeline.target)
    handle = attach_run(run.run_id, "owned", pipeline=other, experiment=run.experiment)
    assert handle is not run and handle.attached and handle.pipeline is other


def test_attached_handle_records_into_the_store_and_does_not_create_the_run(tmp_path):
    owner = autolog.start_run("owner")
    owner.pipeline.flush(10)
    pipeline = recording_pipeline(str(owner.pipeline.store.directory), LOCAL_TARGET)
    handle = attach_run(owner.run_id + "0", "elsewhere", pipeline=pipeline,
                        experiment=owner.experiment, start_time=1)
    handle.log_metric("acc", 0.9)
    assert handle.attached and handle.start_time == 1
    assert pipeline.flush(10)
    store = LocalStore(owner.pipeline.store.directory)
    assert store.run_row(handle.run_id) is None  # its owner creates it, not the handle
    assert store.run_data(handle.run_id)["metrics"]["acc"][0][1] == 0.9
    assert pipeline.sender is None
    owner.end()


def test_bound_run_delivers_into_the_remote_run_without_creating_it(monkeypatch):
    name = uuid.uuid4().hex
    memory = named(name)
    with autolog.start_run("created elsewhere", tracking_uri=f"memory://{name}") as remote:
        pass
    assert autolog.flush(10)
    remote_id = remote.remote_id(10)
    runs_before = len(memory.runs)

    pipeline = get_pipeline(f"memory://{name}")
    handle = attach_run(uuid.uuid4().hex, "worker's view", pipeline=pipeline,
                        experiment=remote.experiment)
    bind_to_remote(handle, remote_id)
    handle.log_metric("from_worker", 1.0)
    assert autolog.flush(10)

    assert len(memory.runs) == runs_before
    assert [m.value for m in memory.runs[remote_id].metrics["from_worker"]] == [1.0]


def test_mirror_from_copies_local_runs_once_and_new_rows_later(tmp_path):
    source = LocalStore(tmp_path / "source")
    source.write_records([("run", "r1", "exp", "one", None, 1, 0),
                          ("metric", "r1", "m", 1.0, 1, 0)], LOCAL_TARGET)
    mirror = LocalStore(tmp_path / "mirror")
    mirror.mirror_from(source, "http://server")
    mirror.mirror_from(source, "http://server")
    source.write_records([("metric", "r1", "m", 2.0, 2, 1), ("end", "r1", "FINISHED", 3)],
                         LOCAL_TARGET)
    mirror.mirror_from(source, "http://server")

    (row,) = mirror.runs()
    assert row["target"] == "http://server" and row["status"] == "FINISHED"
    assert [v for _, v, _ in mirror.run_data("r1")["metrics"]["m"]] == [1.0, 2.0]

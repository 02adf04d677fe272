"""Values SQLite or MLflow cannot hold: made storable at the API, and one bad record never
costs the records logged with it or after it."""

from __future__ import annotations

import sqlite3

import pytest

import autolog
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    yield tmp_path
    shutdown(5)


def _runs_by_name(directory) -> dict:
    return {row["name"]: row for row in LocalStore(directory).runs()}


def test_a_lone_surrogate_in_one_run_does_not_cost_the_next_run(store_dir):
    # The script of the report: a surrogate (what os.listdir() gives for non-UTF-8 bytes)
    # used to fail every later write of the process.
    with pytest.warns(autolog.AutologWarning, match="'f'"):
        with autolog.start_run(run_name="a"):
            autolog.set_tags({"f": "caf\udce9"})
        autolog.flush(5)
    with autolog.start_run(run_name="b") as run_b:
        for i in range(100):
            autolog.log_metrics({"loss": 1.0 / (i + 1)}, step=i)
    assert autolog.flush(10)

    runs = _runs_by_name(store_dir)
    assert runs["a"]["status"] == "FINISHED" and runs["b"]["status"] == "FINISHED"
    assert LocalStore(store_dir).run_data(runs["a"]["run_id"])["tags"]["f"] == "caf\\udce9"
    steps = [step for step, _, _ in LocalStore(store_dir).run_data(run_b.run_id)["metrics"]["loss"]]
    assert steps == list(range(100))


def test_surrogates_everywhere_text_goes_are_escaped(store_dir, tmp_path_factory):
    source = tmp_path_factory.mktemp("files") / "notes.txt"
    source.write_text("hello")
    with pytest.warns(autolog.AutologWarning):
        with autolog.start_run(run_name="r\udcff", experiment="exp\udcfe",
                               description="d\ud800", tags={"t\udc80": "v"}) as run:
            run.log_params({"p": "x\udce9", "q\udce9": "plain", "nested": {"k": "\udce9"}})
            run.log_metrics({"m\udce9": 1.0})
            run.set_tags({"ok": "fine", "pair": "\ud83d\ude00"})
            run.log_artifact(str(source), artifact_path="dir\udce9")
    assert autolog.flush(10)
    [row] = LocalStore(store_dir).runs()
    assert row["name"] == "r\\udcff" and row["experiment"] == "exp\\udcfe"
    assert row["status"] == "FINISHED"
    data = LocalStore(store_dir).run_data(run.run_id)
    assert data["params"]["p"] == "x\\udce9" and data["params"]["nested"] == "{'k': '\\udce9'}"
    assert any(key.startswith("q") for key in data["params"])
    assert any(key.startswith("m") for key in data["metrics"])
    assert data["tags"]["ok"] == "fine" and data["tags"]["pair"] == "\\ud83d\\ude00"
    assert data["tags"]["mlflow.note.content"] == "d\\ud800"
    assert data["artifacts"] == ["dir\\udce9/notes.txt"]


def test_clean_non_ascii_text_is_stored_as_is(store_dir):
    with autolog.start_run(run_name="ünïcode ☕") as run:
        run.log_params({"naïve": "café ☕ 😀"})
        run.set_tags({"emoji": "😀"})
    assert autolog.flush(10)
    data = LocalStore(store_dir).run_data(run.run_id)
    assert data["params"] == {"naïve": "café ☕ 😀"} and data["tags"]["emoji"] == "😀"
    assert _runs_by_name(store_dir)["ünïcode ☕"]


def test_steps_and_timestamps_beyond_int64_are_clamped_naming_the_key(store_dir):
    with pytest.warns(autolog.AutologWarning, match="'huge_step'"):
        with autolog.start_run(run_name="steps") as run:
            run.log_metric("huge_step", 1.0, step=2**63)
            run.log_metric("tiny_step", 2.0, step=-(2**70))
            run.log_metric("float_step", 3.0, step=1e30)
            run.log_metric("late", 4.0, step=1, timestamp=10**30)
            run.log_metric("fine", 5.0, step=INT64_MAX)
    with autolog.start_run(run_name="after") as after:
        after.log_metric("loss", 1.0, step=0)
    assert autolog.flush(10)
    metrics = LocalStore(store_dir).run_data(run.run_id)["metrics"]
    assert metrics["huge_step"][0][0] == INT64_MAX
    assert metrics["tiny_step"][0][0] == INT64_MIN
    assert metrics["float_step"][0][0] == INT64_MAX
    assert metrics["late"][0][2] == INT64_MAX
    assert metrics["fine"][0][0] == INT64_MAX
    assert LocalStore(store_dir).run_data(after.run_id)["metrics"]["loss"][0][1] == 1.0


def test_huge_ints_as_metric_values_become_infinities_with_a_warning(store_dir):
    with pytest.warns(autolog.AutologWarning, match="'big'"):
        with autolog.start_run() as run:
            run.log_metrics({"big": 10**400, "negative_big": -(10**400), "ok": 2**70})
    assert autolog.flush(10)
    metrics = LocalStore(store_dir).run_data(run.run_id)["metrics"]
    assert metrics["big"][0][1] == float("inf")
    assert metrics["negative_big"][0][1] == float("-inf")
    assert metrics["ok"][0][1] == float(2**70)


def test_an_int_too_long_for_text_is_refused_naming_the_param(store_dir):
    with pytest.warns(autolog.AutologWarning, match="'seed'"):
        with autolog.start_run() as run:
            run.log_params({"seed": 10**5000, "lr": 0.1})
    assert autolog.flush(10)
    assert LocalStore(store_dir).run_data(run.run_id)["params"] == {"lr": "0.1"}


def test_a_record_the_store_still_refuses_is_set_aside_and_the_rest_written(store_dir,
                                                                            monkeypatch):
    # Whatever slips past the API's checks: the drain is bisected down to that one record.
    original_insert = LocalStore.write_records

    def refusing(self, records, target):
        if any(r[0] == "metric" and r[2] == "poison" for r in records):
            raise sqlite3.InterfaceError("Error binding parameter 3: type 'object' is not "
                                         "supported")
        return original_insert(self, records, target)

    monkeypatch.setattr(LocalStore, "write_records", refusing)
    with pytest.warns(autolog.AutologWarning, match="poison") as warned:
        with autolog.start_run(run_name="mixed") as run:
            for step in range(50):
                run.log_metrics({"loss": float(step)}, step=step)
            run.log_metrics({"poison": 1.0}, step=50)
            for step in range(51, 100):
                run.log_metrics({"loss": float(step)}, step=step)
        assert autolog.flush(10)
    assert any(run.run_id in str(w.message) for w in warned)
    store = LocalStore(store_dir)
    data = store.run_data(run.run_id)
    assert [s for s, _, _ in data["metrics"]["loss"]] == [s for s in range(100) if s != 50]
    assert "poison" not in data["metrics"]
    assert store.runs()[0]["status"] == "FINISHED"
    rejected = store.connect().execute("SELECT run_id, kind, key, error FROM rejected").fetchall()
    assert [tuple(row[:3]) for row in rejected] == [(run.run_id, "metric", "poison")]
    assert "not supported" in rejected[0][3]

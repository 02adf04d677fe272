"""``autolog.search_runs`` on the embedded store: MLflow's answers, from SQL with bound values.

The same scenario runs against a real MLflow server in ``tests/integration/test_search.py``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import autolog
from tests import search_scenario as scenario

EXPERIMENT = "search-semantics"


@pytest.fixture
def recorded():
    scenario.record_runs(EXPERIMENT)
    runs = autolog.search_runs(EXPERIMENT)  # no flush first: search_runs stores them itself
    return {run.name: run for run in runs}


def _names(**kwargs):
    return [run.name for run in autolog.search_runs(EXPERIMENT, **kwargs)]


def test_every_filter_finds_what_mlflow_finds(recorded):
    ids = {"parent": recorded["search"].run_id, "a": recorded["trial-a"].run_id,
           "b": recorded["trial-b"].run_id}
    wrong = {}
    for text, expected in scenario.FILTERS.items():
        text = text.format(**ids)
        if expected is None:
            with pytest.raises(ValueError):
                autolog.search_runs(EXPERIMENT, filter=text)
            continue
        found = _names(filter=text)
        if found != expected:
            wrong[text] = found
    assert wrong == {}
    assert _names() == scenario.NEWEST_FIRST  # the injection attempts changed nothing


def test_every_order_is_mlflows(recorded):
    wrong = {text: found for text, expected in scenario.ORDERS.items()
             if (found := _names(order_by=text)) != expected}
    assert wrong == {}
    assert _names(order_by=["params.model DESC", "start_time"]) == [
        "trial-a", "trial-b", "trial-d", "trial-c", "search", "trial-e", "trial-f"]
    assert _names(order_by="metrics.value DESC", max_results=2) == ["trial-a", "trial-c"]
    assert _names(filter="status = 'FINISHED'", max_results=1) == ["trial-f"]


def test_records_hold_what_a_comparison_needs(recorded):
    a, b, d = recorded["trial-a"], recorded["trial-b"], recorded["trial-d"]
    parent = recorded["search"]
    assert a.parent_id == parent.run_id and parent.parent_id is None
    assert a.metrics == {"value": 0.95, "loss": 0.3}  # the latest value: highest step
    assert math.isnan(b.metrics["loss"]) and math.isnan(d.metrics["value"])
    assert a.params == {"model": "rf", "C": "0.1"}
    assert b.tags["team"] == "vision"  # a tag's last value
    assert a.tags["mlflow.runName"] == "trial-a"
    assert a.tags["mlflow.parentRunId"] == parent.run_id
    assert (a.status, d.status, recorded["trial-c"].status) == ("FINISHED", "KILLED", "FAILED")
    assert a.experiment == EXPERIMENT and a.end_time >= a.start_time
    assert a.duration == (a.end_time - a.start_time) / 1000
    assert a.get("metrics.value") == 0.95 and a.get("params.C") == "0.1"
    assert a.get("tags.team") is None and a.get("status") == "FINISHED"
    assert a.artifact_uri.startswith("file://") and a.artifact_uri.endswith(a.run_id)


def test_the_dataframe_has_mlflows_columns(recorded):
    frame = autolog.search_runs(EXPERIMENT, order_by="start_time", output_format="pandas")
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri",
                                       "start_time", "end_time"]
    assert {"metrics.value", "metrics.loss", "params.model", "params.C", "params.note",
            "params.kind", "tags.team", "tags.mlflow.runName"} <= set(frame.columns)
    assert str(frame["start_time"].dtype).startswith("datetime64") \
        and str(frame["start_time"].dtype).endswith("UTC]")
    assert frame["metrics.value"].dtype == "float64"
    assert frame["run_id"].tolist() == [recorded[name].run_id for name in scenario.NAMES]
    assert frame["metrics.value"].tolist()[1:4] == [0.95, 0.8, 0.9]
    assert pd.isna(frame["params.model"].iloc[0])  # the parent has no model param
    assert autolog.search_runs(EXPERIMENT).to_pandas().shape == frame.shape


def test_like_is_case_sensitive_and_only_percent_and_underscore_are_wildcards():
    with autolog.start_run("star", experiment=EXPERIMENT) as run:
        run.log_params({"pattern": "a*[b]?"})
    with autolog.start_run("plain", experiment=EXPERIMENT) as run:
        run.log_params({"pattern": "aXbc"})
    assert _names(filter="params.pattern LIKE 'a*%'") == ["star"]
    assert _names(filter="params.pattern LIKE 'a*[b]?'") == ["star"]
    assert _names(filter="params.pattern LIKE 'a_b_'") == ["plain"]
    assert _names(filter="params.pattern LIKE 'A%'") == []
    assert _names(filter="params.pattern ILIKE 'A%'") == ["plain", "star"]


def test_experiments_scope_the_search(monkeypatch):
    for experiment in ("one", "two", "three"):
        with autolog.start_run(f"run-{experiment}", experiment=experiment):
            pass
    assert [r.name for r in autolog.search_runs(["one", "three"])] == ["run-three", "run-one"]
    assert autolog.search_runs("nowhere") == []
    monkeypatch.setenv("AUTOLOG_EXPERIMENT_NAME", "two")
    assert [r.name for r in autolog.search_runs()] == ["run-two"]


def test_a_store_that_does_not_exist_yet_has_no_runs(tmp_path):
    assert autolog.search_runs(tracking_uri=str(tmp_path / "empty")) == []
    assert not (tmp_path / "empty").exists()


@pytest.mark.filterwarnings("ignore:autolog. delivery to the tracking server is delayed")
def test_a_pipeline_to_an_unreachable_server_does_not_hold_up_a_local_search(monkeypatch):
    import threading

    from autolog._runs import shutdown
    from autolog.search import _api
    from tests.mlflow_server import free_port

    monkeypatch.setattr(_api, "FLUSH_TIMEOUT", None)  # a stall would last for ever
    with autolog.start_run("bound-for-nowhere", tracking_uri=f"http://127.0.0.1:{free_port()}"):
        autolog.log_metric("value", 1.0)
    with autolog.start_run("here", experiment=EXPERIMENT):
        autolog.log_metric("value", 2.0)
    found = []
    search = threading.Thread(target=lambda: found.extend(autolog.search_runs(EXPERIMENT)),
                              daemon=True)
    search.start()
    search.join(60)
    shutdown(0.5)  # what waits for the unreachable server stays in the store; no exit report
    assert [run.name for run in found] == ["here"]

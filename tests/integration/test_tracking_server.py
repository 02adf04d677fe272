"""The manual API against a real MLflow server: what the user sees in the UI, read back
through the server's REST API."""

from __future__ import annotations

import math

import pytest

import autolog
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from tests.fault_proxy import Fault, FaultProxy

pytestmark = pytest.mark.server_shapes("mlflow2", "postgres")


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.05")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.5")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.1")
    yield
    shutdown(10)


def _runs_by_name(reader, experiment_name):
    experiment = reader.get_experiment_by_name(experiment_name)
    assert experiment is not None, "the experiment was never created"
    runs = reader.search_runs([experiment["experiment_id"]])
    return {run["info"]["run_name"]: run for run in runs}


def test_every_point_arrives_once_with_step_and_timestamp(mlflow_server, experiment_name,
                                                         fast_retries):
    with autolog.start_run(run_name="baseline", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        autolog.log_params({"lr": 0.01, "layers": 3})
        for epoch in range(2500):
            autolog.log_metrics({"loss": 1 / (epoch + 1)}, step=epoch)
        autolog.log_metrics({"nan": math.nan, "inf": math.inf}, step=7)
        autolog.set_tags({"team": "churn"})
    assert autolog.flush(60)

    runs = _runs_by_name(mlflow_server.reader, experiment_name)
    assert set(runs) == {"baseline"}
    remote = runs["baseline"]
    assert remote["info"]["status"] == "FINISHED" and remote["info"]["end_time"]
    remote_id = remote["info"]["run_id"]
    assert run.remote_id() == remote_id
    history = mlflow_server.reader.metric_history(remote_id, "loss")
    assert sorted(point["step"] for point in history) == list(range(2500))
    local = LocalStore(run.pipeline.store.directory).run_data(run.run_id)["metrics"]["loss"]
    assert {(p["step"], p["timestamp"]) for p in history} == {(s, ts) for s, _, ts in local}
    nan_point = mlflow_server.reader.metric_history(remote_id, "nan")[0]
    assert nan_point["value"] in ("NaN", None) or math.isnan(float(nan_point["value"]))
    assert mlflow_server.reader.params(remote_id) == {"lr": "0.01", "layers": "3"}
    tags = mlflow_server.reader.tags(remote_id)
    assert tags["team"] == "churn" and tags["mlflow.runName"] == "baseline"
    for system_tag in ("mlflow.user", "mlflow.source.name", "mlflow.source.type",
                       "autolog.python_version"):
        assert tags[system_tag]
    # the run's user is the run's, not only a tag: the UI's and search's user column
    assert remote["info"]["user_id"] == tags["mlflow.user"]


def test_children_nest_in_the_ui(mlflow_server, experiment_name, fast_retries):
    with autolog.start_run(run_name="search", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name):
        for trial in range(3):
            with autolog.start_run(run_name=f"trial-{trial}"):
                with autolog.start_run(run_name=f"model-{trial}") as model:
                    model.log_metric("score", trial)
    assert autolog.flush(60)
    runs = _runs_by_name(mlflow_server.reader, experiment_name)
    ids = {name: run["info"]["run_id"] for name, run in runs.items()}
    parent_of = {name: mlflow_server.reader.tags(run_id).get("mlflow.parentRunId")
                 for name, run_id in ids.items()}
    assert parent_of["search"] is None
    for trial in range(3):
        assert parent_of[f"trial-{trial}"] == ids["search"]
        assert parent_of[f"model-{trial}"] == ids[f"trial-{trial}"]


def test_a_lost_create_response_does_not_make_a_second_run(mlflow_server, experiment_name,
                                                           fast_retries):
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(Fault.lose_response(path_contains="runs/create"))
        with autolog.start_run(run_name="once", tracking_uri=proxy.uri,
                               experiment=experiment_name) as run:
            run.log_metric("m", 1.0)
        with pytest.warns(autolog.AutologWarning, match="delayed"):
            assert autolog.flush(60)
        assert ("POST", "/api/2.0/mlflow/runs/create", "lose") in proxy.log
    runs = mlflow_server.reader.search_runs(
        [mlflow_server.reader.get_experiment_by_name(experiment_name)["experiment_id"]])
    assert [r["info"]["run_name"] for r in runs] == ["once"]
    assert len(mlflow_server.reader.metric_history(runs[0]["info"]["run_id"], "m")) == 1

"""The fault matrix: every fault a network or server can throw at delivery, against a real MLflow
server behind a fault-injecting proxy. For each case the training result is the same as
without autolog, and the server holds exactly what was recorded, once."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
import warnings

import pytest

import autolog
from autolog._runs import shutdown
from tests.fault_proxy import Fault, FaultProxy

FAULTS = {
    "500": lambda: Fault.status(500, times=3),
    "503-retry-after": lambda: Fault.status(503, retry_after="1", times=2),
    "429-retry-after": lambda: Fault.status(429, retry_after="1", times=2),
    "reset-mid-request": lambda: Fault.reset(times=2),
    "timeout": lambda: Fault.hang(2.0, times=2),
    "lost-create-response": lambda: Fault.lose_response(path_contains="runs/create"),
    "lost-batch-response": lambda: Fault.lose_response(path_contains="log-batch", times=2),
    "413-body-limit": lambda: Fault.max_body(20_000),
}


@pytest.fixture
def fast_delivery(monkeypatch):
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.05")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.5")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.1")
    monkeypatch.setenv("AUTOLOG_HTTP_TIMEOUT", "1")
    yield
    shutdown(10)


def manual_training(uri: str, experiment: str) -> tuple[float, dict]:
    """A training loop logging through the manual API; returns its result and what it logged."""
    recorded = {"params": {"lr": "0.1", "layers": "3"}, "metrics": {}}
    weight = 1.0
    with autolog.start_run(run_name="manual", tracking_uri=uri, experiment=experiment) as run:
        run.log_params({"lr": 0.1, "layers": 3})
        for step in range(1500):
            weight -= 0.1 * weight / (step + 1)
            run.log_metrics({"loss": weight, "step_size": 0.1 / (step + 1)}, step=step)
        recorded["metrics"] = {"loss": 1500, "step_size": 1500}
    return weight, recorded


def _baseline_result() -> float:
    weight = 1.0
    for step in range(1500):
        weight -= 0.1 * weight / (step + 1)
    return weight


@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_manual_api_under_fault(mlflow_server, experiment_name, fast_delivery, fault_name):
    fault = FAULTS[fault_name]()
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(fault)
        result, recorded = manual_training(proxy.uri, experiment_name)
        assert autolog.flush(90)
        assert any(kind != "forward" for _, _, kind in proxy.log), "the fault never fired"
    assert result == _baseline_result()
    experiment = mlflow_server.reader.get_experiment_by_name(experiment_name)
    [run] = mlflow_server.reader.search_runs([experiment["experiment_id"]])
    run_id = run["info"]["run_id"]
    assert run["info"]["status"] == "FINISHED"
    assert {k: v for k, v in mlflow_server.reader.params(run_id).items()} == recorded["params"]
    for key, count in recorded["metrics"].items():
        steps = [point["step"] for point in mlflow_server.reader.metric_history(run_id, key)]
        assert sorted(steps) == list(range(count)), f"{key}: lost or duplicated points"


def test_server_killed_for_seconds_during_training(mlflow_server, experiment_name, fast_delivery,
                                                   monkeypatch):
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "1")
    stop_training = threading.Event()
    steps_done = []

    with autolog.start_run(run_name="through-outage", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        def train() -> None:
            step = 0
            while not stop_training.is_set():
                run.log_metric("loss", 1 / (step + 1), step=step)
                step += 1
                time.sleep(0.002)
            steps_done.append(step)

        trainer = threading.Thread(target=train)
        trainer.start()
        time.sleep(1.0)
        mlflow_server.stop()          # connection refused from here on
        time.sleep(10.0)
        mlflow_server.start()
        time.sleep(1.0)
        stop_training.set()
        trainer.join()
    assert autolog.flush(90)
    history = mlflow_server.reader.metric_history(run.remote_id(), "loss")
    assert sorted(point["step"] for point in history) == list(range(steps_done[0]))
    assert mlflow_server.reader.get_run(run.remote_id())["info"]["status"] == "FINISHED"


@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_sklearn_integration_under_fault(mlflow_server, experiment_name, fast_delivery,
                                         fault_name):
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from autolog import _registry

    X, y = make_classification(300, 8, random_state=0)
    baseline = LogisticRegression(max_iter=300).fit(X, y).coef_
    # A fit sends small requests: the body limit must be small for the proxy to bite.
    fault = Fault.max_body(1500) if fault_name == "413-body-limit" else FAULTS[fault_name]()
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(fault)
        others = {name: False for name in _registry.discover() if name != "sklearn"}
        autolog.autolog(**others, sklearn={"log_plots": False}, log_models=False,
                        tracking_uri=proxy.uri, experiment=experiment_name)
        try:
            fitted = LogisticRegression(max_iter=300).fit(X, y)
        finally:
            autolog.autolog(disable=True)
        assert autolog.flush(90)
        assert any(kind != "forward" for _, _, kind in proxy.log), "the fault never fired"
    assert (fitted.coef_ == baseline).all()
    experiment = mlflow_server.reader.get_experiment_by_name(experiment_name)
    [run] = mlflow_server.reader.search_runs([experiment["experiment_id"]])
    run_id = run["info"]["run_id"]
    assert run["info"]["run_name"] == "LogisticRegression"
    assert run["info"]["status"] == "FINISHED"
    assert mlflow_server.reader.params(run_id)["max_iter"] == "300"
    for key in ("training_accuracy_score", "training_f1_score", "fit_duration_s"):
        assert len(mlflow_server.reader.metric_history(run_id, key)) == 1, key


@pytest.mark.server_shapes("mlflow2", "postgres")
def test_a_lost_batch_response_with_nan_points_refuses_nothing(mlflow_server, experiment_name,
                                                               fast_delivery):
    """A diverged loss (NaN) in a batch whose response was lost. MLflow 2's SQL store refuses
    the re-sent NaN points as duplicates (to it NaN never equals the stored NaN); they are on
    the server already, so nothing may be set aside as refused, nor a warning say so."""
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(Fault.lose_response(path_contains="log-batch", times=1))
        with autolog.start_run(run_name="diverged", tracking_uri=proxy.uri,
                               experiment=experiment_name) as run:
            for step in range(50):
                run.log_metrics({"loss": math.nan if step >= 40 else 1 / (step + 1)}, step=step)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert autolog.flush(60)
        assert ("POST", "/api/2.0/mlflow/runs/log-batch", "lose") in proxy.log
    assert [str(w.message) for w in caught if "refused" in str(w.message)] == []
    with sqlite3.connect(run.pipeline.store.path) as store:
        assert store.execute("SELECT kind, key, error FROM rejected").fetchall() == []
    history = mlflow_server.reader.metric_history(run.remote_id(), "loss")
    assert sorted(point["step"] for point in history) == list(range(50))
    assert sum(point["value"] in ("NaN", None) or math.isnan(float(point["value"]))
               for point in history) == 10

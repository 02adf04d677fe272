"""The fault matrix: every fault a network, a proxy or the server can throw at delivery, at
every endpoint the sender uses, on the first and on a later request of that kind, against a
real MLflow server behind a fault-injecting proxy (``tests/fault_proxy.py``).

In every case the training code's result is what it is without autolog, and the server holds
exactly what was logged, once: every param, tag, metric value, step and timestamp, every
artifact's bytes, one run per run (no ghost from a lost answer), one READY logged model, one
model link and one registry version per model; nothing is set aside as refused and nothing
waits. One scenario per fault kind injects it at every endpoint at once; the test checks that
each injection fired.
"""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sklearn.linear_model import LogisticRegression

import autolog
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from autolog.models import log_model
from tests.fault_proxy import Fault, FaultProxy

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"
HTTP_TIMEOUT = 0.8  # the request deadline during the matrix; a hang outlasts it

#: Every endpoint the sender uses: (method, path pattern). The three lookups are made only
#: after an answer was lost (the sender looks before creating again).
ENDPOINTS = {
    "experiment lookup": ("GET", rf"{API}/experiments/get-by-name"),
    "experiment create": ("POST", rf"{API}/experiments/create"),
    "run create": ("POST", rf"{API}/runs/create"),
    "run lookup": ("POST", rf"{API}/runs/search"),
    "log-batch": ("POST", rf"{API}/runs/log-batch"),
    "run update": ("POST", rf"{API}/runs/update"),
    "artifact upload": ("PUT", rf"{ARTIFACTS}/artifacts/\d+/[0-9a-f]{{32}}/artifacts/"),
    "multipart upload": ("POST", rf"{ARTIFACTS}/mpu/create/"),
    "logged model create": ("POST", rf"{API}/logged-models$"),
    "logged model lookup": ("POST", rf"{API}/logged-models/search"),
    "logged model files": ("PUT", rf"{ARTIFACTS}/artifacts/\d+/models/"),
    "logged model finalize": ("PATCH", rf"{API}/logged-models/"),
    "model link": ("POST", rf"{API}/runs/outputs"),
    "registered model": ("POST", rf"{API}/registered-models/create"),
    "model version": ("POST", rf"{API}/model-versions/create"),
    "model version lookup": ("GET", rf"{API}/model-versions/search"),
}
LOOKUPS = {"run lookup", "logged model lookup", "model version lookup"}
#: A server that cannot take parts is asked once per process: there is no later request.
FIRST_ONLY = {"multipart upload"}

#: Fault kinds: a factory taking the rule's filters. ``ambiguous``: the client cannot tell
#: whether the server acted, so it looks before creating again (the lookups are exercised).
KINDS: dict[str, tuple[Any, bool]] = {
    "500": (lambda **kw: Fault.status(500, **kw), True),
    "503-retry-after": (lambda **kw: Fault.status(503, retry_after="0.1", **kw), True),
    "429-retry-after": (lambda **kw: Fault.status(429, retry_after="0.1", **kw), False),
    "connection-reset": (lambda **kw: Fault.reset(**kw), True),
    "timeout": (lambda **kw: Fault.hang(HTTP_TIMEOUT + 0.4, **kw), True),
    "server-acted-response-lost": (lambda **kw: Fault.lose_response(**kw), True),
    "html-200-not-forwarded": (lambda **kw: Fault.html(**kw), True),
    "malformed-200-after-acting": (lambda **kw: Fault.garbage(**kw), True),
    "redirect-to-another-host": (None, False),  # built with the other host's address
}


@pytest.fixture
def fast_delivery(monkeypatch):
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.02")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.2")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    monkeypatch.setenv("AUTOLOG_HTTP_TIMEOUT", str(HTTP_TIMEOUT))
    monkeypatch.setenv("AUTOLOG_MAX_BATCH_METRICS", "300")  # several log-batch requests a run
    monkeypatch.setenv("AUTOLOG_MULTIPART_MIN_MB", "0.05")  # the big file asks for parts
    yield
    shutdown(10)


# -- what the training logs -----------------------------------------------------------------------
@dataclass
class Logged:
    """What the training code logged, by run name, as a user would write it down."""

    runs: dict[str, autolog.Run] = field(default_factory=dict)
    params: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)  # run names that logged a model
    window_ms: tuple[int, int] = (0, 0)
    result: float = 0.0

    def log(self, run: autolog.Run, params: dict[str, Any], tags: dict[str, str],
            metrics: dict[str, list[tuple[int, float]]]) -> None:
        self.runs[run.name] = run
        run.log_params(params)
        run.set_tags(tags)
        self.params[run.name] = {key: str(value) for key, value in params.items()}
        self.tags[run.name] = dict(tags)
        for key, points in metrics.items():
            for step, value in points:
                run.log_metrics({key: value}, step=step)
        self.metrics[run.name] = metrics

    def upload(self, run: autolog.Run, path: Path, payload: bytes) -> None:
        path.write_bytes(payload)
        run.log_artifact(str(path))
        self.files.setdefault(run.name, {})[path.name] = payload


def _model() -> LogisticRegression:
    features = np.random.default_rng(0).random((30, 3))
    return LogisticRegression().fit(features, (features[:, 0] > 0.5).astype(int))


def _curve(steps: int) -> tuple[float, list[tuple[int, float]], list[tuple[int, float]]]:
    """A toy training loop: its result, and the loss and step size it logs."""
    weight, losses, sizes = 1.0, [], []
    for step in range(steps):
        weight -= 0.1 * weight / (step + 1)
        losses.append((step, weight))
        sizes.append((step, 0.1 / (step + 1)))
    return weight, losses, sizes


def train(uri: str, experiments: tuple[str, str], registered: str, tmp_path: Path) -> Logged:
    """Two experiments; a parent run (params, tags, 800 points in several batches, a small and
    a big file) with a child run that logs a model, and a run in the other experiment that
    logs a second model; both models registered under ``registered``."""
    logged = Logged()
    model = _model()
    start = int(time.time() * 1000)
    with autolog.start_run("parent", tracking_uri=uri, experiment=experiments[0]) as parent:
        logged.result, losses, sizes = _curve(400)
        logged.log(parent, {"lr": 0.1, "layers": 3, "optimizer": "adam"},
                   {"team": "vision", "phase": "train"}, {"loss": losses, "step_size": sizes})
        logged.upload(parent, tmp_path / "notes.txt", b"tuned by hand\n")
        logged.upload(parent, tmp_path / "big.bin", random.Random(1).randbytes(120_000))
        with autolog.start_run("child") as child:
            logged.log(child, {"C": 1.0, "penalty": "l2"}, {"fold": "1"},
                       {"score": [(0, 0.91), (1, 0.93)]})
            log_model(child, model, flavor="sklearn", registered_model_name=registered)
            logged.models.append("child")
    with autolog.start_run("other", tracking_uri=uri, experiment=experiments[1]) as other:
        logged.log(other, {"seed": 7}, {"kind": "baseline"}, {"auc": [(0, 0.5), (5, 0.75)]})
        log_model(other, model, flavor="sklearn", registered_model_name=registered)
        logged.models.append("other")
    logged.window_ms = (start, int(time.time() * 1000))
    return logged


# -- what the server holds ----------------------------------------------------------------------
def _post(server, path: str, body: dict) -> dict:
    response = requests.post(server.uri + path, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _get(server, path: str, **params: str) -> dict:
    response = requests.get(server.uri + path, params=params, timeout=30)
    response.raise_for_status()
    return response.json()


#: Tags the sender adds when it creates a run, beyond what the run recorded.
CREATE_TAGS = {"mlflow.runName", "autolog.clientRunId", "mlflow.parentRunId", "mlflow.user"}


def assert_server_holds(server, logged: Logged, experiments: tuple[str, str],
                        registered: str) -> int:
    """Everything ``logged`` is on the server exactly once; returns the metric points compared."""
    reader = server.reader
    ids = {name: reader.get_experiment_by_name(name)["experiment_id"] for name in experiments}
    by_experiment = {name: reader.search_runs([ids[name]]) for name in experiments}
    names = {name: sorted(run["info"]["run_name"] for run in runs)
             for name, runs in by_experiment.items()}
    assert names == {experiments[0]: ["child", "parent"], experiments[1]: ["other"]}, names
    remote = {run["info"]["run_name"]: run for runs in by_experiment.values() for run in runs}
    store = logged.runs["parent"].pipeline.store
    compared = 0
    for name, run in logged.runs.items():
        info = remote[name]["info"]
        run_id = info["run_id"]
        assert info["status"] == "FINISHED", name
        assert run.remote_id(1) == run_id
        recorded = store.run_data(run.run_id)
        tags = reader.tags(run_id)
        assert tags["autolog.clientRunId"] == run.run_id
        assert reader.params(run_id) == recorded["params"] == logged.params[name], name
        assert {key: tags.get(key) for key in recorded["tags"]} == recorded["tags"], name
        assert set(tags) - set(recorded["tags"]) <= CREATE_TAGS, name
        assert logged.tags[name].items() <= tags.items(), name
        assert sorted(recorded["metrics"]) == sorted(logged.metrics[name]), name
        for key, points in logged.metrics[name].items():
            kept = sorted(recorded["metrics"][key])
            assert [(step, value) for step, value, _ in kept] == sorted(points), (name, key)
            low, high = logged.window_ms
            assert all(low <= stamp <= high for _, _, stamp in kept), (name, key)
            history = sorted((int(p["step"]), float(p["value"]), int(p["timestamp"]))
                             for p in reader.metric_history(run_id, key))
            assert history == kept, f"{name}/{key}: lost, duplicated or changed points"
            compared += len(history)
        for path, payload in logged.files.get(name, {}).items():
            assert reader.download_artifact(run_id, path) == payload, (name, path)
    parent_id = remote["parent"]["info"]["run_id"]
    assert reader.tags(remote["child"]["info"]["run_id"])["mlflow.parentRunId"] == parent_id

    model_ids = set()
    for name in logged.models:
        run_id = remote[name]["info"]["run_id"]
        experiment_id = remote[name]["info"]["experiment_id"]
        found = _post(server, f"{API}/logged-models/search", {"experiment_ids": [experiment_id]})
        mine = [model["info"] for model in found.get("models", [])
                if model["info"]["source_run_id"] == run_id]
        assert len(mine) == 1, f"{name}: {len(mine)} logged models"
        assert mine[0]["status"] == "LOGGED_MODEL_READY", mine[0]["status"]
        outputs = _get(server, f"{API}/runs/get", run_id=run_id)["run"].get("outputs") or {}
        links = [link["model_id"] for link in outputs.get("model_outputs") or []]
        assert links == [mine[0]["model_id"]], f"{name}: model links {links}"
        assert "model/MLmodel" in reader.runs_uri_listing(run_id, "model")  # as MLflow finds it
        model_ids.add(mine[0]["model_id"])
    versions = _get(server, f"{API}/model-versions/search",
                    filter=f"name = '{registered}'")["model_versions"]
    assert sorted(version["source"] for version in versions) == sorted(
        f"models:/{model_id}" for model_id in model_ids), versions

    assert store.connect().execute("SELECT kind, key, error FROM rejected").fetchall() == []
    assert store.pending_counts() == {}
    return compared


def _rules(kind: str, other_host: str) -> list[Fault]:
    make, ambiguous = KINDS[kind]
    if make is None:
        def make(**kw: Any) -> Fault:
            return Fault.redirect(other_host, 307, **kw)
    rules = []
    for endpoint, (method, pattern) in ENDPOINTS.items():
        for position, after in (("first", 0), ("later", 1)):
            if position == "later" and endpoint in FIRST_ONLY:
                continue
            rules.append(make(method=method, path_regex=pattern, after=after,
                              name=f"{endpoint} ({position})"))
    return rules


def _expected(kind: str, rules: list[Fault]) -> set[str]:
    ambiguous = KINDS[kind][1]
    return {rule.name for rule in rules
            if ambiguous or rule.name.rsplit(" (", 1)[0] not in LOOKUPS}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_endpoint_under_fault(mlflow_server, experiment_name, fast_delivery, tmp_path,
                                    kind):
    experiments = (experiment_name, experiment_name + "-other")
    registered = f"matrix-{experiment_name}"
    with FaultProxy(mlflow_server.uri) as proxy, \
            FaultProxy(mlflow_server.uri, host="localhost") as other_host:
        rules = _rules(kind, other_host.uri)
        proxy.add(*rules)
        logged = train(proxy.uri, experiments, registered, tmp_path)
        assert autolog.flush(120), f"not delivered; proxy log tail: {proxy.log[-10:]}"
    assert logged.result == _curve(400)[0]  # the training's own result, untouched
    fired = {rule.name for rule in proxy.fired()}
    assert _expected(kind, rules) <= fired, f"never fired: {_expected(kind, rules) - fired}"
    compared = assert_server_holds(mlflow_server, logged, experiments, registered)
    assert compared == sum(len(points) for metrics in logged.metrics.values()
                           for points in metrics.values())


def test_server_killed_for_seconds_during_training(mlflow_server, experiment_name, fast_delivery,
                                                   monkeypatch):
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "1")
    monkeypatch.setenv("AUTOLOG_HTTP_TIMEOUT", "5")
    stop_training = threading.Event()
    steps_done = []

    with autolog.start_run(run_name="through-outage", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        def train_loop() -> None:
            step = 0
            while not stop_training.is_set():
                run.log_metric("loss", 1 / (step + 1), step=step)
                step += 1
                time.sleep(0.002)
            steps_done.append(step)

        trainer = threading.Thread(target=train_loop)
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
    assert all(point["value"] == 1 / (point["step"] + 1) for point in history)
    assert mlflow_server.reader.get_run(run.remote_id())["info"]["status"] == "FINISHED"


# -- the scikit-learn integration under the same faults ----------------------------------------------
#: The endpoints one fit uses.
FIT_ENDPOINTS = ("experiment lookup", "experiment create", "run create", "log-batch",
                 "run update")


@pytest.mark.parametrize("kind", [*[k for k in KINDS if k != "redirect-to-another-host"],
                                  "413-body-limit"])
def test_sklearn_integration_under_fault(mlflow_server, experiment_name, fast_delivery, kind):
    from sklearn.datasets import make_classification

    from autolog import _discovery

    X, y = make_classification(300, 8, random_state=0)
    baseline = LogisticRegression(max_iter=300).fit(X, y).coef_
    with FaultProxy(mlflow_server.uri) as proxy:
        if kind == "413-body-limit":  # a fit sends small requests: the limit must be small
            proxy.add(Fault.max_body(1000))  # a fit's batch (its tags go with the run's creation)
        else:
            proxy.add(*[KINDS[kind][0](method=ENDPOINTS[name][0], path_regex=ENDPOINTS[name][1],
                                       name=name) for name in FIT_ENDPOINTS])
        others = {name: False for name in _discovery.discover() if name != "sklearn"}
        autolog.autolog(**others, sklearn={"log_plots": False}, log_models=False,
                        tracking_uri=proxy.uri, experiment=experiment_name)
        try:
            fitted = LogisticRegression(max_iter=300).fit(X, y)
        finally:
            autolog.autolog(disable=True)
        assert autolog.flush(90)
        assert any(what != "forward" for _, _, what in proxy.log), "the fault never fired"
        if kind != "413-body-limit":
            assert {rule.name for rule in proxy.fired()} == set(FIT_ENDPOINTS)
    assert (fitted.coef_ == baseline).all()
    experiment = mlflow_server.reader.get_experiment_by_name(experiment_name)
    [run] = mlflow_server.reader.search_runs([experiment["experiment_id"]])
    run_id = run["info"]["run_id"]
    assert run["info"]["run_name"] == "LogisticRegression"
    assert run["info"]["status"] == "FINISHED"
    store = LocalStore()  # $AUTOLOG_DIR, where the fit's records were kept
    [local] = [row for row in store.runs() if row["remote_id"] == run_id]
    recorded = store.run_data(local["run_id"])
    params = mlflow_server.reader.params(run_id)
    assert params == recorded["params"]
    assert set(fitted.get_params(deep=True)) <= set(params)
    assert params["max_iter"] == "300" and params["C"] == "1.0"
    tags = mlflow_server.reader.tags(run_id)
    assert {key: tags.get(key) for key in recorded["tags"]} == recorded["tags"]
    assert len(recorded["metrics"]) >= 8
    for key, points in recorded["metrics"].items():
        history = sorted((int(p["step"]), float(p["value"]), int(p["timestamp"]))
                         for p in mlflow_server.reader.metric_history(run_id, key))
        assert history == sorted(points), key
    assert store.connect().execute("SELECT kind, key FROM rejected").fetchall() == []


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

"""Several requests in flight against a real MLflow server: many runs delivered at once, each
exactly once and in order; fewer in flight when the server says it is overloaded; the number
of requests a run costs.

A fault-injecting proxy (``tests/fault_proxy.py``) sits in front of the server: it counts the
requests and how many were being handled when each arrived.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

import autolog
from autolog._runs import shutdown
from tests.fault_proxy import Fault, FaultProxy

API = "/api/2.0/mlflow"


@pytest.fixture
def fast_delivery(monkeypatch):
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.02")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.2")
    monkeypatch.setenv("AUTOLOG_HTTP_TIMEOUT", "10")
    yield
    shutdown(10)


def _log_runs(uri: str, experiment: str, prefix: str, count: int, tmp_path: Path, *,
              steps: int = 3, files: int = 0) -> dict[str, autolog.Run]:
    """``count`` runs, every other one with a child; params, tags, metrics, files."""
    runs = {}
    for number in range(count):
        name = f"{prefix}-{number}"
        with autolog.start_run(name, tracking_uri=uri, experiment=experiment) as run:
            runs[name] = run
            run.log_params({"number": number, "lr": 0.1 * (number + 1)})
            run.set_tags({"group": prefix, "parity": str(number % 2)})
            for step in range(steps):
                run.log_metrics({"loss": 1 / (step + number + 1), "acc": step / steps},
                                step=step)
            for index in range(files):
                path = tmp_path / f"{name}-{index}.txt"
                path.write_text(f"{name} file {index}\n")
                run.log_artifact(str(path))
            if number % 2:
                with autolog.start_run(f"{name}-child") as child:
                    runs[child.name] = child
                    child.log_metrics({"score": number / count}, step=0)
    return runs


def _assert_delivered_once(server, experiment: str, runs: dict[str, autolog.Run],
                           files: int = 0) -> None:
    """Every run once on the server, with every param, tag, file and metric point (value, step,
    timestamp) it recorded; children under their parent."""
    reader = server.reader
    experiment_id = reader.get_experiment_by_name(experiment)["experiment_id"]
    remote = reader.search_runs([experiment_id])
    names = Counter(run["info"]["run_name"] for run in remote)
    assert names == Counter(list(runs)), "a run is missing or was created twice"
    by_name = {run["info"]["run_name"]: run["info"]["run_id"] for run in remote}
    for name, run in runs.items():
        run_id = by_name[name]
        assert run.remote_id(1) == run_id
        recorded = run.pipeline.store.run_data(run.run_id)
        assert reader.params(run_id) == recorded["params"], name
        tags = reader.tags(run_id)
        assert {key: tags.get(key) for key in recorded["tags"]} == recorded["tags"], name
        for key, points in recorded["metrics"].items():
            history = sorted((int(p["step"]), float(p["value"]), int(p["timestamp"]))
                             for p in reader.metric_history(run_id, key))
            assert history == sorted(points), f"{name}/{key}: lost, duplicated or changed"
        for index in range(0 if name.endswith("-child") else files):
            assert reader.download_artifact(run_id, f"{name}-{index}.txt") == (
                f"{name} file {index}\n".encode())
        if name.endswith("-child"):
            assert tags["mlflow.parentRunId"] == by_name[name.removesuffix("-child")]
        assert reader.get_run(run_id)["info"]["status"] == "FINISHED", name
    assert runs and next(iter(runs.values())).pipeline.store.pending_counts() == {}


def test_many_runs_in_parallel_each_exactly_once_and_in_order(mlflow_server, experiment_name,
                                                              fast_delivery, monkeypatch,
                                                              tmp_path):
    monkeypatch.setenv("AUTOLOG_MAX_BATCH_METRICS", "16")  # several batches a run: in order
    with FaultProxy(mlflow_server.uri) as proxy:
        runs = _log_runs(proxy.uri, experiment_name, "par", 24, tmp_path, steps=30, files=2)
        assert autolog.flush(120), f"not delivered; proxy log tail: {proxy.log[-10:]}"
    _assert_delivered_once(mlflow_server, experiment_name, runs, files=2)
    assert max(proxy.concurrency) >= 3, "requests were sent one at a time"
    assert max(proxy.concurrency) <= 8, "more requests in flight than the window allows"


def test_a_run_costs_create_one_batch_and_its_end(mlflow_server, experiment_name, fast_delivery,
                                                  tmp_path):
    """Runs whose records are all stored when they are delivered: create (with name, start
    time, parent and tags), one log-batch, the end; a run with nothing but tags, no batch."""
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(Fault.reset(times=10**6))  # the server out of reach while the runs are logged
        runs = _log_runs(proxy.uri, experiment_name, "count", 10, tmp_path, files=1)
        with autolog.start_run("tags-only", tracking_uri=proxy.uri,
                               experiment=experiment_name) as tagged:
            tagged.set_tags({"kind": "summary"})
        runs["tags-only"] = tagged
        assert not autolog.flush(0.5)  # stored, not delivered
        proxy.clear()
        reached = len(proxy.log)
        assert autolog.flush(60)
        requests = Counter((method, path.split("?")[0]) for method, path, _ in proxy.log[reached:])
    _assert_delivered_once(mlflow_server, experiment_name, runs, files=0)
    with_records = len(runs) - 1 - 5  # the tags-only run and the 5 children log no params
    creates = requests[("POST", f"{API}/runs/create")]
    batches = requests[("POST", f"{API}/runs/log-batch")]
    ends = requests[("POST", f"{API}/runs/update")]
    uploads = sum(count for (method, _), count in requests.items() if method == "PUT")
    assert (creates, ends) == (len(runs), len(runs)), requests
    assert batches == with_records + 5, requests  # a child logs one metric: one batch too
    assert uploads == 10, requests  # one per file
    lookups = sum(count for (method, path), count in requests.items()
                  if "experiments" in path)
    assert lookups <= 2, requests  # the experiment, found or created once
    assert sum(requests.values()) == creates + batches + ends + uploads + lookups, requests


def test_fewer_in_flight_after_429(mlflow_server, experiment_name, fast_delivery, tmp_path):
    with FaultProxy(mlflow_server.uri) as proxy:
        first = _log_runs(proxy.uri, experiment_name, "before", 16, tmp_path)
        assert autolog.flush(60)
        assert max(proxy.concurrency) >= 3, "requests were sent one at a time"
        reached = len(proxy.log)
        proxy.add(Fault.status(429, retry_after="0.01", times=20))
        second = _log_runs(proxy.uri, experiment_name, "after", 16, tmp_path)
        started = time.monotonic()
        assert autolog.flush(60), f"not delivered; proxy log tail: {proxy.log[-10:]}"
        assert time.monotonic() - started < 30
        log = list(zip(proxy.log[reached:], proxy.concurrency[reached:], strict=True))
    refused = [index for index, ((_, _, kind), _) in enumerate(log) if kind == "status"]
    assert len(refused) == 20
    after = [concurrency for (_, _, kind), concurrency in log[refused[-1] + 1:]]
    # 20 refusals halve the window down to one; it grows back by one per round of successes.
    assert after[:4] and max(after[:4]) <= 2, after[:10]
    _assert_delivered_once(mlflow_server, experiment_name, {**first, **second})


def test_the_requests_a_logged_model_costs(mlflow_server, experiment_name, fast_delivery,
                                          monkeypatch):
    """A logged model: created, its files into the logged model's location (at once; no copy
    among the run's artifacts: ``runs:/<run>/model`` finds the logged model), finalized READY,
    linked to the run. The first model a process sends asks once whether the server has logged
    models. Counted, so a change in what a model costs is seen."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from autolog.models import log_model

    features = np.random.default_rng(0).random((30, 3))
    model = LogisticRegression().fit(features, (features[:, 0] > 0.5).astype(int))
    with FaultProxy(mlflow_server.uri) as proxy:
        with autolog.start_run("plain", tracking_uri=proxy.uri, experiment=experiment_name):
            pass
        assert autolog.flush(30)
        counted = []
        for name in ("first-model", "second-model"):
            reached = len(proxy.log)
            with autolog.start_run(name, tracking_uri=proxy.uri,
                                   experiment=experiment_name) as run:
                log_model(run, model, flavor="sklearn")
            assert autolog.flush(60)
            counted.append(Counter(
                (method, "files" if method == "PUT" else path.split("?")[0].split("/m-")[0])
                for method, path, _ in proxy.log[reached:]))
    [spec] = run.pipeline.store.connect().execute("SELECT spec FROM models").fetchone()
    spec_files = len(json.loads(spec)["files"])  # MLmodel, the model, the environment files
    assert spec_files >= 4
    steady = Counter({(  # create and end the run (no records: no batch); the model:
        "POST", f"{API}/runs/create"): 1, ("POST", f"{API}/runs/update"): 1,
        ("PUT", "files"): spec_files, ("POST", f"{API}/logged-models"): 1,
        ("PATCH", f"{API}/logged-models"): 1, ("POST", f"{API}/runs/outputs"): 1})
    first, second = counted
    assert first == steady + Counter({("POST", f"{API}/logged-models/search"): 1}), first
    assert second == steady, second

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    import mlflow

    loaded = mlflow.pyfunc.load_model(f"runs:/{run.remote_id()}/model")
    assert (np.asarray(loaded.predict(features)) == model.predict(features)).all()

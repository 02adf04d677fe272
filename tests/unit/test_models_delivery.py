"""Model delivery step by step, against an in-memory backend with logged models and a registry:
exactly one logged model and one version through lost responses and outages, always finalized,
never left PENDING."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import autolog
from autolog._runs import shutdown
from autolog.backends import memory
from autolog.backends.base import ModelBackend, Result
from autolog.models import log_model


class ModelMemory(memory.MemoryBackend, ModelBackend):
    """MemoryBackend plus MLflow 3's logged models and the model registry."""

    def __init__(self) -> None:
        super().__init__()
        self.logged_models_supported = True
        self.models: dict[str, dict[str, Any]] = {}
        self.model_files: dict[str, dict[str, bytes]] = {}
        self.outputs: list[tuple[str, str]] = []
        self.versions: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def _serve(self, method: str, request: dict[str, Any], serve) -> Result:
        failed = self._enter(method, **request)
        if failed:
            return failed
        return self._exit(method, request, serve())

    def create_logged_model(self, experiment_id, name, source_run_id, tags, params) -> Result:
        def serve() -> Result:
            model_id = f"m-{next(self._ids)}"
            self.models[model_id] = {
                "model_id": model_id, "name": name, "source_run_id": source_run_id,
                "status": "PENDING", "tags": [{"key": k, "value": v} for k, v in tags.items()],
                "params": dict(params),
                "artifact_uri": f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"}
            self.model_files[model_id] = {}
            return Result.success({"model_id": model_id,
                                   "artifact_uri": self.models[model_id]["artifact_uri"]})
        return self._serve("create_logged_model", {"name": name}, serve)

    def search_logged_models(self, experiment_id, filter_string) -> Result:
        result = self._serve("search_logged_models", {"filter": filter_string},
                             lambda: Result.success(list(self.models.values())))
        if result.ok or result.status_code == 404:  # an answer tells, as the REST backend's
            self.logged_models_supported = result.ok
        return result

    def upload_artifact(self, root_uri, artifact_path, local_file) -> Result:
        def serve() -> Result:
            model_id = root_uri.split("/models/")[1].split("/")[0]
            with open(local_file, "rb") as source:
                self.model_files[model_id][artifact_path] = source.read()
            return Result.success()
        return self._serve("upload_artifact", {"path": artifact_path}, serve)

    def finalize_logged_model(self, model_id, ready) -> Result:
        def serve() -> Result:
            self.models[model_id]["status"] = "READY" if ready else "FAILED"
            return Result.success()
        return self._serve("finalize_logged_model", {"model_id": model_id}, serve)

    def get_run(self, run_id) -> Result:
        links = [{"model_id": model_id, "step": 0} for run, model_id in self.outputs
                 if run == run_id]
        return self._serve("get_run", {"run_id": run_id}, lambda: Result.success(
            {"info": {"run_id": run_id}, "outputs": {"model_outputs": links}}))

    def link_model_to_run(self, run_id, model_id, step=0) -> Result:
        return self._serve("link_model_to_run", {"model_id": model_id},
                           lambda: self.outputs.append((run_id, model_id)) or Result.success())

    def create_registered_model(self, name) -> Result:
        return self._serve("create_registered_model", {"name": name}, Result.success)

    def create_model_version(self, name, source, run_id, model_id=None, tags=None) -> Result:
        def serve() -> Result:
            version = {"name": name, "version": str(len(self.versions) + 1), "source": source,
                       "run_id": run_id, "tags": [{"key": k, "value": v}
                                                  for k, v in (tags or {}).items()]}
            self.versions.append(version)
            return Result.success(version)
        return self._serve("create_model_version", {"name": name}, serve)

    def search_model_versions(self, filter_string) -> Result:
        return self._serve("search_model_versions", {"filter": filter_string},
                           lambda: Result.success(list(self.versions)))


@pytest.fixture
def backend(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.01")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.05")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    name = uuid.uuid4().hex
    fake = memory._named[name] = ModelMemory()
    fake.uri = f"memory://{name}"
    yield fake
    shutdown(5)
    memory._named.pop(name, None)


def _log(backend, **kwargs):
    features = np.random.default_rng(0).random((30, 3))
    model = LogisticRegression().fit(features, (features[:, 0] > 0.5).astype(int))
    with autolog.start_run("fit", tracking_uri=backend.uri) as run:
        log_model(run, model, flavor="sklearn", input_example=features, **kwargs)
    assert autolog.flush(20)
    return run, backend.run_by_client_id(run.run_id)


def _times(backend, method):
    return sum(1 for name, _ in backend.requests if name == method)


def test_logged_model_gets_the_directory_and_is_ready_linked_and_registered(backend):
    run, remote = _log(backend, registered_model_name="churn")
    (model,) = backend.models.values()
    assert model["status"] == "READY" and model["source_run_id"] == remote.run_id
    assert model["name"] == "model"
    files = backend.model_files[model["model_id"]]
    [spec] = run.pipeline.store.connect().execute("SELECT spec FROM models").fetchone()
    assert set(files) == set(json.loads(spec)["files"]) >= {"MLmodel", "model.pkl"}
    mlmodel = yaml.safe_load(files["MLmodel"])
    assert mlmodel["run_id"] == remote.run_id and mlmodel["model_id"] == model["model_id"]
    stored = run.pipeline.store.artifact_path(run.run_id, "model/model.pkl").read_bytes()
    assert files["model.pkl"] == stored
    assert remote.artifacts == {}  # runs:/<run>/model finds the logged model: no second copy
    assert backend.outputs == [(remote.run_id, model["model_id"])]
    (version,) = backend.versions
    assert version["source"] == f"models:/{model['model_id']}"
    assert version["run_id"] == remote.run_id
    assert remote.status == "FINISHED"
    assert run.pipeline.store.pending_counts(run.pipeline.target) == {}


def test_a_lost_create_response_does_not_make_a_second_logged_model(backend):
    lost = {"create_logged_model": 1, "create_model_version": 1}

    def lose(method, request):
        if lost.get(method):
            lost[method] -= 1
            return Result.failure("response lost", retryable=True, ambiguous=True)
        return None

    backend.lose_response = lose
    _log(backend, registered_model_name="churn")
    assert _times(backend, "create_logged_model") == 1  # the retry found it by its tag
    assert _times(backend, "search_logged_models") == 1
    assert len(backend.models) == 1 and len(backend.versions) == 1
    assert next(iter(backend.models.values()))["status"] == "READY"


def test_a_lost_link_response_links_the_model_once(backend):
    lost = {"link_model_to_run": 1}

    def lose(method, request):
        if lost.get(method):
            lost[method] -= 1
            return Result.failure("response lost", retryable=True, ambiguous=True)
        return None

    backend.lose_response = lose
    run, remote = _log(backend)
    (model,) = backend.models.values()
    assert backend.outputs == [(remote.run_id, model["model_id"])]  # looked, did not re-link
    assert _times(backend, "link_model_to_run") == 1
    assert run.pipeline.store.connect().execute("SELECT * FROM rejected").fetchall() == []


def test_an_outage_midway_resumes_where_it_stopped(backend):
    failures = {"upload_artifact": 2, "finalize_logged_model": 1, "link_model_to_run": 1}

    def flaky(method, request):
        if failures.get(method):
            failures[method] -= 1
            return Result.failure("503", retryable=True, status_code=503)
        return None

    backend.fail = flaky
    _log(backend)
    (model,) = backend.models.values()
    assert model["status"] == "READY" and len(backend.outputs) == 1
    assert _times(backend, "create_logged_model") == 1


def test_a_refused_upload_finalizes_failed_and_registers_nothing(backend):
    backend.fail = lambda method, request: (
        Result.failure("HTTP 400 bad path", status_code=400)
        if method == "upload_artifact" and request["path"] == "model.pkl" else None)
    with pytest.warns(autolog.AutologWarning, match="refused a model"):
        run, _ = _log(backend, registered_model_name="churn")
    (model,) = backend.models.values()
    assert model["status"] == "FAILED"  # finalized, never PENDING
    assert backend.versions == []
    rejected = run.pipeline.store.connect().execute(
        "SELECT kind, key FROM rejected WHERE run_id = ?", (run.run_id,)).fetchall()
    assert rejected == [("model", "model")]


def test_failed_training_is_a_failed_logged_model_without_files(backend):
    with autolog.start_run("fit", tracking_uri=backend.uri) as run:
        log_model(run, None, flavor="pytorch", training_failed=True,
                  registered_model_name="never")
    assert autolog.flush(20)
    (model,) = backend.models.values()
    assert model["status"] == "FAILED" and backend.model_files[model["model_id"]] == {}
    assert backend.versions == [] and len(backend.outputs) == 1


def test_the_first_model_asks_once_whether_the_server_keeps_logged_models(backend):
    backend.logged_models_supported = None  # not known yet, as for a new backend
    _log(backend)
    _log(backend)
    assert _times(backend, "search_logged_models") == 1
    assert len(backend.models) == 2


def test_a_server_without_logged_models_keeps_the_model_among_the_run_artifacts(backend):
    backend.logged_models_supported = None
    backend.fail = lambda method, request: (
        Result.failure("HTTP 404 ENDPOINT_NOT_FOUND", status_code=404)
        if method in ("search_logged_models", "create_logged_model") else None)
    run, remote = _log(backend, registered_model_name="churn")
    assert backend.models == {}
    assert "model/MLmodel" in remote.artifacts and "model/model.pkl" in remote.artifacts
    (version,) = backend.versions
    assert version["source"] == f"runs:/{remote.run_id}/model"


def test_a_nested_artifact_path_keeps_its_run_copy(backend):
    run, remote = _log(backend, artifact_path="models/best")
    (model,) = backend.models.values()
    assert model["name"] == "models-best"
    # runs:/<run>/models/best would look for a logged model named "models": keep the copy
    assert "models/best/model.pkl" in remote.artifacts
    assert set(backend.model_files[model["model_id"]]) >= {"MLmodel", "model.pkl"}


def test_a_logged_model_the_server_refuses_leaves_the_files_with_the_run(backend):
    backend.fail = lambda method, request: (
        Result.failure("HTTP 400 INVALID_PARAMETER_VALUE", status_code=400)
        if method == "create_logged_model" else None)
    with pytest.warns(autolog.AutologWarning, match="refused a model"):
        run, remote = _log(backend)
    assert backend.models == {}
    stored = run.pipeline.store.artifact_path(run.run_id, "model/model.pkl").read_bytes()
    assert remote.artifacts["model/model.pkl"] == stored
    assert "model/MLmodel" in remote.artifacts
    assert remote.status == "FINISHED"
    assert run.pipeline.store.pending_counts(run.pipeline.target) == {}

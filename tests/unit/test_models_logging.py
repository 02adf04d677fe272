"""``log_model`` without a server: the embedded store's layout, the size guard, failed trainings,
and delivery to a backend without first-class models."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import autolog
from autolog._runs import get_pipeline, shutdown
from autolog.backends.memory import named
from autolog.models import log_model
from autolog.models._flavors import ModelTooLarge, freeze

MODEL_FILES = {"MLmodel", "model.pkl", "requirements.txt", "python_env.yaml", "conda.yaml",
               "input_example.json", "serving_input_example.json"}


@pytest.fixture(autouse=True)
def _fresh_pipelines(monkeypatch):
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    yield
    shutdown(5)


def _data(rows: int = 40, columns: int = 3):
    features = np.random.default_rng(0).random((rows, columns))
    return features, (features[:, 0] > 0.5).astype(int)


def _store():
    return get_pipeline().store


def test_embedded_store_keeps_an_mlflow_model_directory():
    features, labels = _data()
    model = LogisticRegression().fit(features, labels)
    with autolog.start_run("fit") as run:
        info = log_model(run, model, flavor="sklearn", input_example=features)
    assert autolog.flush(10)
    assert info.status == "READY" and info.serialization in ("cloudpickle", "pickle")
    artifacts = set(_store().run_data(run.run_id)["artifacts"])
    assert artifacts == {f"model/{name}" for name in MODEL_FILES}
    mlmodel = yaml.safe_load(_store().artifact_path(run.run_id, "model/MLmodel").read_text())
    assert mlmodel["run_id"] == run.run_id
    assert set(mlmodel["flavors"]) == {"python_function", "sklearn"}
    assert mlmodel["model_size_bytes"] > info.size_bytes
    assert json.loads(mlmodel["signature"]["inputs"])[0]["tensor-spec"]["shape"] == [-1, 3]


def test_model_state_is_frozen_when_log_model_returns():
    features, labels = _data()
    model = LogisticRegression().fit(features, labels)
    expected = model.predict(features)
    with autolog.start_run("fit") as run:
        log_model(run, model, flavor="sklearn", input_example=features)
        model.fit(features, 1 - labels)  # the user keeps going before the writer runs
        features[:] = 0.0
    assert autolog.flush(10)
    import pickle

    stored = pickle.loads(_store().artifact_path(run.run_id, "model/model.pkl").read_bytes())
    assert (stored.predict(_data()[0]) == expected).all()
    example = json.loads(_store().artifact_path(run.run_id, "model/input_example.json").read_text())
    assert example[0] != [0.0, 0.0, 0.0]


def test_models_over_the_size_cap_are_skipped_with_one_warning():
    wide, _ = _data(rows=5, columns=20_000)  # a scaler of 20k features: ~480 kB pickled
    scaler = StandardScaler().fit(wide)
    with autolog.start_run("fit") as run:
        with pytest.warns(autolog.AutologWarning, match="max_model_mb=0.1") as caught:
            first = log_model(run, scaler, flavor="sklearn", max_model_mb=0.1)
            second = log_model(run, scaler, flavor="sklearn", max_model_mb=0.1,
                               artifact_path="again")
        small = log_model(run, StandardScaler().fit(wide[:, :3]), flavor="sklearn",
                          artifact_path="small", max_model_mb=0.1)
    assert autolog.flush(10)
    assert first is None and second is None and small is not None
    assert len([w for w in caught if issubclass(w.category, autolog.AutologWarning)]) == 1
    assert {path.split("/")[0] for path in _store().run_data(run.run_id)["artifacts"]} == {
        "small"}


def test_the_size_cap_stops_serializing_early():
    wide, _ = _data(rows=5, columns=200_000)  # three arrays of 1.6 MB: ~4.8 MB pickled
    with pytest.raises(ModelTooLarge) as error:
        freeze(StandardScaler().fit(wide), "sklearn", pickle_module=False, limit_bytes=100_000)
    assert error.value.size < 2_000_000  # gave up at the first array past the cap


def test_failed_training_records_no_files_and_a_failed_model():
    with autolog.start_run("fit") as run:
        info = log_model(run, object(), flavor="sklearn", training_failed=True)
    assert autolog.flush(10)
    assert info.status == "FAILED" and info.size_bytes == 0
    assert _store().run_data(run.run_id)["artifacts"] == []
    (row,) = _store().pending_models(run.run_id)
    assert json.loads(row["spec"])["status"] == "FAILED"


def test_bad_arguments_raise_under_testing_and_warn_for_users(autolog_errors):
    with autolog.start_run("fit") as run, pytest.warns(autolog.AutologWarning, match="flavor"):
        assert log_model(run, object(), flavor="keras") is None
    assert any("models.log_model" in error for error in autolog_errors())


def test_a_model_that_cannot_be_serialized_costs_one_warning(autolog_errors):
    import threading

    unpicklable = StandardScaler()
    unpicklable.lock = threading.Lock()
    with autolog.start_run("fit") as run, pytest.warns(autolog.AutologWarning, match="pickle"):
        assert log_model(run, unpicklable, flavor="sklearn") is None
    assert autolog.flush(10)
    assert _store().run_data(run.run_id)["artifacts"] == []


def test_backends_without_models_get_the_directory_as_artifacts(monkeypatch, tmp_path):
    name = uuid.uuid4().hex
    memory = named(name)
    features, labels = _data()
    with autolog.start_run("fit", tracking_uri=f"memory://{name}") as run:
        log_model(run, LogisticRegression().fit(features, labels), flavor="sklearn",
                  input_example=features, registered_model_name="ignored-here")
    assert autolog.flush(10)
    remote = memory.run_by_client_id(run.run_id)
    assert set(remote.artifacts) == {f"model/{name}" for name in MODEL_FILES}
    mlmodel = yaml.safe_load(remote.artifacts["model/MLmodel"])
    assert mlmodel["run_id"] == remote.run_id  # the backend's id, not autolog's
    assert run.pipeline.store.pending_counts(run.pipeline.target) == {}
    assert remote.status == "FINISHED"

"""Models against a real MLflow server, loaded back with MLflow's own loaders.

What a team promoting models expects: ``mlflow.pyfunc.load_model("runs:/<id>/model")`` and the
flavor's loader give the in-memory model's predictions; the run's Models tab lists a READY
logged model (FAILED after a failed training, never PENDING); registry versions and aliases
are where ``register_best`` says; oversized models are skipped, large ones upload whole.
"""

from __future__ import annotations

import json

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import requests
import torch
import xgboost as xgb
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

import autolog
from autolog._runs import shutdown
from autolog.models import log_model, register_best

API = "/api/2.0/mlflow"


class TinyLit(pl.LightningModule):
    """Defined at module level so the pickled module can be loaded by reference."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.body = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.fixture
def mlflow_client(mlflow_server, monkeypatch):
    """MLflow's own client in this process, pointed at the test server."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.1")
    import mlflow

    yield mlflow
    shutdown(10)


def _data(rows: int = 60):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((rows, 4)), columns=["age", "tenure", "spend", "visits"])
    return frame, (frame["age"] + frame["spend"] > 1.0).astype(int)


def _get(server, endpoint, **params):
    response = requests.get(server.uri + API + endpoint, params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def _post(server, endpoint, body):
    response = requests.post(server.uri + API + endpoint, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _logged_models(server, experiment_name):
    experiment = server.reader.get_experiment_by_name(experiment_name)
    found = _post(server, "/logged-models/search",
                  {"experiment_ids": [experiment["experiment_id"]]})
    return [model["info"] for model in found.get("models", [])]


def _mlmodel(server, run_id, path="model"):
    import yaml

    return yaml.safe_load(server.reader.runs_uri_file(run_id, f"{path}/MLmodel"))


@pytest.mark.server_shapes("postgres")  # MLflow 2: test_mlflow2_server.py
def test_sklearn_model_loads_with_mlflow_and_is_a_ready_logged_model(
        mlflow_server, experiment_name, mlflow_client):
    frame, labels = _data()
    model = LogisticRegression().fit(frame, labels)
    with autolog.start_run("churn-fit", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        info = log_model(run, model, flavor="sklearn", input_example=frame)
    assert autolog.flush(60)
    remote = run.remote_id()
    assert info.model_uri() == f"runs:/{remote}/model"

    loaded = mlflow_client.pyfunc.load_model(f"runs:/{remote}/model")
    assert (np.asarray(loaded.predict(frame)) == model.predict(frame)).all()
    native = mlflow_client.sklearn.load_model(f"runs:/{remote}/model")
    assert (native.predict_proba(frame) == model.predict_proba(frame)).all()
    assert loaded.metadata.get_input_schema().input_names() == list(frame.columns)

    mlmodel = _mlmodel(mlflow_server, remote)
    assert mlmodel["run_id"] == remote
    assert json.loads(mlmodel["signature"]["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    requirements = mlflow_server.reader.runs_uri_file(remote, "model/requirements.txt")
    assert b"scikit-learn==" in requirements
    # One copy, the logged model's, as MLflow keeps the models it logs itself.
    assert "model" not in mlflow_server.reader.list_artifacts(remote)

    (logged,) = _logged_models(mlflow_server, experiment_name)
    assert logged["status"] == "LOGGED_MODEL_READY" and logged["source_run_id"] == remote
    outputs = _get(mlflow_server, "/runs/get", run_id=remote)["run"]["outputs"]
    assert [output["model_id"] for output in outputs["model_outputs"]] == [logged["model_id"]]
    by_id = mlflow_client.pyfunc.load_model(f"models:/{logged['model_id']}")
    assert by_id.metadata.run_id == remote and by_id.metadata.model_id == logged["model_id"]


def test_xgboost_booster_and_classifier_load_as_their_own_classes(
        mlflow_server, experiment_name, mlflow_client):
    frame, labels = _data()
    features = frame.to_numpy(dtype=np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2},
                        xgb.DMatrix(features, label=labels), num_boost_round=5)
    classifier = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, labels)
    with autolog.start_run("xgb", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        log_model(run, booster, flavor="xgboost", input_example=features, artifact_path="booster")
        log_model(run, classifier, flavor="xgboost", input_example=frame, artifact_path="model")
    assert autolog.flush(60)
    remote = run.remote_id()

    expected = booster.predict(xgb.DMatrix(features))
    assert np.allclose(mlflow_client.pyfunc.load_model(f"runs:/{remote}/booster").predict(features),
                       expected)
    native_booster = mlflow_client.xgboost.load_model(f"runs:/{remote}/booster")
    assert isinstance(native_booster, xgb.Booster)
    assert np.allclose(native_booster.predict(xgb.DMatrix(features)), expected)

    native = mlflow_client.xgboost.load_model(f"runs:/{remote}/model")
    assert type(native) is xgb.XGBClassifier
    assert np.allclose(native.predict_proba(frame), classifier.predict_proba(frame))
    pyfunc = mlflow_client.pyfunc.load_model(f"runs:/{remote}/model")
    assert (np.asarray(pyfunc.predict(frame)) == classifier.predict(frame)).all()
    assert _mlmodel(mlflow_server, remote)["flavors"]["xgboost"]["model_class"] == \
        "xgboost.sklearn.XGBClassifier"
    assert {m["status"] for m in _logged_models(mlflow_server, experiment_name)} == {
        "LOGGED_MODEL_READY"}


def test_lightning_module_as_state_dict_and_as_pickled_module(
        mlflow_server, experiment_name, mlflow_client):
    torch.manual_seed(0)
    module = TinyLit()
    features = np.random.default_rng(1).random((16, 4)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(features)).numpy()
    with autolog.start_run("lit", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        log_model(run, module, flavor="pytorch", input_example=features, artifact_path="weights")
        log_model(run, module, flavor="pytorch", input_example=features, artifact_path="model",
                  pickle_module=True)
    assert autolog.flush(60)
    remote = run.remote_id()

    # state_dict (default): the weights, for the user's own class.
    state = mlflow_client.pytorch.load_state_dict(f"runs:/{remote}/weights")
    rebuilt = TinyLit()
    rebuilt.load_state_dict(state)
    with torch.no_grad():
        assert np.allclose(rebuilt(torch.from_numpy(features)).numpy(), expected)
    with pytest.raises(Exception, match='does not have the "pytorch" flavor'):
        mlflow_client.pytorch.load_model(f"runs:/{remote}/weights")

    # pickled module: MLflow's pytorch loader and pyfunc rebuild it.
    native = mlflow_client.pytorch.load_model(f"runs:/{remote}/model")
    assert type(native) is TinyLit
    with torch.no_grad():
        assert np.allclose(native(torch.from_numpy(features)).numpy(), expected)
    pyfunc = mlflow_client.pyfunc.load_model(f"runs:/{remote}/model")
    assert np.allclose(np.asarray(pyfunc.predict(features)), expected, atol=1e-6)
    inputs = json.loads(_mlmodel(mlflow_server, remote)["signature"]["inputs"])
    assert inputs == [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]


def test_failed_training_leaves_a_failed_logged_model_never_pending(
        mlflow_server, experiment_name, mlflow_client):
    with pytest.raises(RuntimeError, match="diverged"):
        with autolog.start_run("diverged", tracking_uri=mlflow_server.uri,
                               experiment=experiment_name) as run:
            try:
                raise RuntimeError("diverged")
            except RuntimeError:
                log_model(run, object(), flavor="sklearn", training_failed=True)
                raise
    assert autolog.flush(60)
    (logged,) = _logged_models(mlflow_server, experiment_name)
    assert logged["status"] == "LOGGED_MODEL_UPLOAD_FAILED"
    assert mlflow_server.reader.get_run(run.remote_id())["info"]["status"] == "FAILED"


@pytest.mark.server_shapes("postgres")  # MLflow 2: test_mlflow2_server.py
def test_registered_model_name_creates_versions_in_the_order_models_were_logged(
        mlflow_server, experiment_name, mlflow_client):
    """Runs are delivered in parallel; the registry's version numbers still follow the order
    the user logged the models in (version n is the n-th fit)."""
    frame, labels = _data()
    name = f"reg-{experiment_name}"
    runs = []
    for seed in (1, 2, 3, 4):
        with autolog.start_run(f"fit-{seed}", tracking_uri=mlflow_server.uri,
                               experiment=experiment_name) as run:
            log_model(run, LogisticRegression(C=seed).fit(frame, labels), flavor="sklearn",
                      registered_model_name=name)
        runs.append(run)
    assert autolog.flush(60)
    versions = _get(mlflow_server, "/model-versions/search", filter=f"name = '{name}'")
    by_version = {v["version"]: v for v in versions["model_versions"]}
    assert sorted(by_version) == ["1", "2", "3", "4"]
    assert all(v["source"].startswith("models:/m-") for v in by_version.values())
    assert [by_version[str(n)]["run_id"] for n in (1, 2, 3, 4)] == [r.remote_id() for r in runs]
    loaded = mlflow_client.pyfunc.load_model(f"models:/{name}/4")
    assert loaded.metadata.run_id == runs[-1].remote_id()


def _study_like_run(server, experiment_name, values, direction="minimize",
                    study_name="churn-study"):
    """A parent run with trial children, as the Optuna integration records a study; each
    trial's model lives in its own child run (a fit inside the trial)."""
    frame, labels = _data()
    models = {}
    with autolog.start_run("study", tracking_uri=server.uri, experiment=experiment_name,
                           tags={"optuna.study_name": study_name}) as study:
        study.log_params({"direction": direction})
        for number, value in enumerate(values):
            trial_tags = {"optuna.trial_number": number}
            with autolog.start_run(f"trial-{number}", tags=trial_tags) as trial:
                trial.log_metrics({"value": value})
                with autolog.start_run("Ridge") as fit:
                    model = Ridge(alpha=value).fit(frame, labels)
                    log_model(fit, model, flavor="sklearn", input_example=frame)
                models[number] = (trial, fit, model)
    return study, models


@pytest.mark.server_shapes("mlflow2", "postgres")
def test_register_best_promotes_the_best_trial_only_when_it_wins(
        mlflow_server, experiment_name, mlflow_client):
    name = f"champ-{experiment_name}"
    frame, _ = _data()
    study, models = _study_like_run(mlflow_server, experiment_name, [0.9, 0.2, 0.5])
    promotion = register_best(study, name)
    trial, fit, model = models[1]
    assert promotion.promoted and promotion.version == "1"
    assert promotion.run_id == trial.remote_id() and promotion.model_run_id == fit.remote_id()
    assert (promotion.score_key, promotion.score, promotion.mode) == ("value", 0.2, "min")
    alias = _get(mlflow_server, "/registered-models/alias", name=name, alias="champion")
    assert alias["model_version"]["version"] == "1"
    assert alias["model_version"]["run_id"] == fit.remote_id()
    champion = mlflow_client.pyfunc.load_model(f"models:/{name}@champion")
    assert np.allclose(champion.predict(frame), model.predict(frame))

    worse, _ = _study_like_run(mlflow_server, experiment_name, [0.4, 0.3])
    kept = register_best(worse, name)
    assert not kept.promoted and kept.version is None and kept.previous_score == 0.2
    better, better_models = _study_like_run(mlflow_server, experiment_name, [0.1, 0.7])
    moved = register_best(better, name)
    assert moved.promoted and moved.version == "2" and moved.previous_version == "1"
    alias = _get(mlflow_server, "/registered-models/alias", name=name, alias="champion")
    assert alias["model_version"]["run_id"] == better_models[0][1].remote_id()
    versions = _get(mlflow_server, "/model-versions/search", filter=f"name = '{name}'")
    assert len(versions["model_versions"]) == 2  # the losing study registered nothing


def test_register_best_of_a_search_registers_its_refit_model(
        mlflow_server, experiment_name, mlflow_client):
    frame, labels = _data()
    name = f"search-{experiment_name}"
    best = LogisticRegression(C=10.0).fit(frame, labels)
    with autolog.start_run("GridSearchCV", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as search:
        for rank, c_value in ((2, 0.1), (1, 10.0), (3, 0.01)):
            with autolog.start_run(f"C={c_value}") as child:
                child.log_metrics({"rank_test_score": rank, "mean_test_score": 1 - rank / 10})
        search.log_metrics({"best_score": 0.9})
        log_model(search, best, flavor="sklearn", input_example=frame)
    promotion = register_best(search, name, alias="prod")
    assert promotion.promoted and promotion.model_run_id == search.remote_id()
    assert promotion.run_id != search.remote_id()  # the candidate ranked first
    assert (promotion.score_key, promotion.score) == ("best_score", 0.9)
    loaded = mlflow_client.pyfunc.load_model(f"models:/{name}@prod")
    assert (np.asarray(loaded.predict(frame)) == best.predict(frame)).all()


def test_size_guard_skips_big_models_and_large_ones_upload_whole(
        mlflow_server, experiment_name, mlflow_client, monkeypatch):
    # Multipart from 10 MB: the server's local artifact store answers 501 to it, and the file
    # then goes up in one streamed PUT.
    monkeypatch.setenv("AUTOLOG_MULTIPART_MIN_MB", "10")
    rng = np.random.default_rng(0)
    large = StandardScaler().fit(rng.random((2, 2_100_000)))  # three 16.8 MB arrays: ~50 MB
    with autolog.start_run("sizes", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as run:
        with pytest.warns(autolog.AutologWarning, match="max_model_mb=20"):
            skipped = log_model(run, large, flavor="sklearn", artifact_path="skipped",
                                max_model_mb=20)
        kept = log_model(run, large, flavor="sklearn", artifact_path="model")
    assert autolog.flush(120)
    assert skipped is None and kept.size_bytes > 50_000_000
    assert run.pipeline.backend.multipart_supported is False  # asked once, told "not supported"
    remote = run.remote_id()
    listed = mlflow_server.reader.runs_uri_listing(remote, "model")
    assert listed["model/model.pkl"] == kept.size_bytes
    assert mlflow_server.reader.runs_uri_listing(remote, "skipped") == {}
    (logged,) = _logged_models(mlflow_server, experiment_name)
    assert logged["status"] == "LOGGED_MODEL_READY"
    restored = mlflow_client.sklearn.load_model(f"models:/{logged['model_id']}")
    assert np.array_equal(restored.scale_, large.scale_)


def test_register_best_takes_an_optuna_study(mlflow_server, experiment_name, mlflow_client):
    import optuna

    values = [0.7, 0.6, 0.8]
    _, models = _study_like_run(mlflow_server, experiment_name, values, direction="minimize",
                                study_name="optuna-object")
    study = optuna.create_study(study_name="optuna-object", direction="minimize")
    for value in values:
        study.add_trial(optuna.trial.create_trial(value=value, params={}, distributions={}))
    name = f"study-{experiment_name}"
    promotion = register_best(study, name, experiment=experiment_name,
                              tracking_uri=mlflow_server.uri)
    trial, fit, _ = models[study.best_trial.number]
    assert promotion.promoted and promotion.run_id == trial.remote_id()
    assert promotion.model_run_id == fit.remote_id() and promotion.score == 0.6

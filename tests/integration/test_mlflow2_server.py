"""autolog against an MLflow 2.22 server (the last 2.x line), as many teams still run it.

The 2.0 REST API carries runs, params, metrics, tags, artifacts and the model registry; MLflow
3's logged models (``logged-models`` endpoints) are missing. What a user of such a server
expects: the model directory under the run loads with MLflow's loaders, registered versions
point at it, and autolog says once, at INFO, that it skipped the logged models. The generic
delivery, Optuna and integration tests run here too (``server_shapes``); this module holds what
only a 2.x server shows.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import requests
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import autolog
from autolog import _discovery
from autolog._runs import shutdown
from autolog.models import register_best
from tests.mlflow_server import MlflowServer

API = "/api/2.0/mlflow"


@pytest.fixture
def mlflow_client(mlflow2_server: MlflowServer, monkeypatch: pytest.MonkeyPatch):
    """MLflow's own (3.x) client in this process, pointed at the 2.22 server."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow2_server.uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.1")
    import mlflow

    yield mlflow
    shutdown(10)


def _get(server: MlflowServer, endpoint: str, **params: str) -> dict:
    response = requests.get(server.uri + API + endpoint, params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def test_the_matrix_really_runs_a_2_22_server(mlflow2_server: MlflowServer) -> None:
    version = requests.get(f"{mlflow2_server.uri}/version", timeout=10).text
    assert version.startswith("2.22."), version
    missing = requests.post(f"{mlflow2_server.uri}{API}/logged-models/search",
                            json={"experiment_ids": ["0"]}, timeout=10)
    assert missing.status_code == 404


def test_models_are_run_artifacts_and_registry_versions_said_once(
        mlflow2_server: MlflowServer, experiment_name: str, mlflow_client,
        caplog: pytest.LogCaptureFixture) -> None:
    features, labels = make_classification(120, 5, random_state=0)
    name = f"churn-{experiment_name}"
    others = {other: False for other in _discovery.discover() if other != "sklearn"}
    autolog.autolog(**others, tracking_uri=mlflow2_server.uri, experiment=experiment_name,
                    registered_model_name=name, sklearn={"log_plots": False})
    caplog.set_level(logging.INFO, logger="autolog")
    fitted = {str(c): LogisticRegression(C=c).fit(features, labels) for c in (0.1, 1.0, 10.0)}
    assert autolog.flush(60)

    experiment = mlflow2_server.reader.get_experiment_by_name(experiment_name)
    runs = mlflow2_server.reader.search_runs([experiment["experiment_id"]])
    assert len(runs) == 3 and {run["info"]["status"] for run in runs} == {"FINISHED"}
    versions = _get(mlflow2_server, "/model-versions/search", filter=f"name = '{name}'")
    by_version = {v["version"]: v for v in versions["model_versions"]}
    assert sorted(by_version) == ["1", "2", "3"]
    run_ids = {run["info"]["run_id"] for run in runs}
    assert {v["run_id"] for v in by_version.values()} == run_ids
    assert all(v["source"] == f"runs:/{v['run_id']}/model" for v in by_version.values())
    for version in by_version.values():  # each version is its own fit's model
        model = fitted[mlflow2_server.reader.params(version["run_id"])["C"]]
        loaded = mlflow_client.pyfunc.load_model(f"models:/{name}/{version['version']}")
        assert (np.asarray(loaded.predict(features)) == model.predict(features)).all()

    said = [record for record in caplog.records
            if record.name.startswith("autolog") and "logged model" in record.getMessage()]
    assert len(said) == 1, [record.getMessage() for record in said]
    assert said[0].levelno == logging.INFO and mlflow2_server.uri in said[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING
                and r.name.startswith("autolog")]


def test_register_best_of_a_search_on_a_2_x_server(
        mlflow2_server: MlflowServer, experiment_name: str, mlflow_client) -> None:
    features, labels = make_classification(120, 5, random_state=1)
    others = {other: False for other in _discovery.discover() if other != "sklearn"}
    autolog.autolog(**others, tracking_uri=mlflow2_server.uri, experiment=experiment_name,
                    sklearn={"log_plots": False})
    with autolog.start_run("search") as search_run:
        search = GridSearchCV(LogisticRegression(), {"C": [0.01, 1.0]}, cv=3).fit(
            features, labels)
    name = f"best-{experiment_name}"
    promotion = register_best(search_run, name)
    assert promotion.promoted and promotion.version == "1"
    champion = mlflow_client.pyfunc.load_model(f"models:/{name}@champion")
    assert (np.asarray(champion.predict(features)) == search.predict(features)).all()

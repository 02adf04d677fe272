"""The XGBoost integration against a real MLflow server: what a user sees in the UI, read back
through the server's REST API."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import requests
import xgboost as xgb

import autolog
from autolog import _discovery
from autolog._autolog import autolog as enable_autolog
from autolog._runs import shutdown
from autolog._warnings import AutologWarning
from tests import svg


class Server:
    """One test's view of the server: its experiment's runs, their data and artifacts."""

    def __init__(self, mlflow_server: Any, experiment: str) -> None:
        self.uri = mlflow_server.uri
        self.reader = mlflow_server.reader
        self.experiment = experiment
        self.mlflow_major = mlflow_server.mlflow_major

    def runs(self) -> list[dict[str, Any]]:
        assert autolog.flush(60), "autolog did not deliver everything within 60 s"
        experiment = self.reader.get_experiment_by_name(self.experiment)
        assert experiment is not None, "no run reached the server"
        return self.reader.search_runs([experiment["experiment_id"]])

    def only_run(self) -> dict[str, Any]:
        runs = self.runs()
        assert len(runs) == 1, [run["info"]["run_name"] for run in runs]
        return runs[0]

    def history(self, run: dict[str, Any], key: str) -> dict[int, float]:
        points = self.reader.metric_history(run["info"]["run_id"], key)
        steps = [point["step"] for point in points]
        assert len(steps) == len(set(steps)), f"{key}: a step was logged twice: {steps}"
        return {point["step"]: _number(point["value"]) for point in points}

    def metric_keys(self, run: dict[str, Any]) -> set[str]:
        return {metric["key"] for metric in run["data"].get("metrics", [])}

    def params(self, run: dict[str, Any]) -> dict[str, str]:
        return {param["key"]: param["value"] for param in run["data"].get("params", [])}

    def tags(self, run: dict[str, Any]) -> dict[str, str]:
        return {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}

    def artifact(self, run: dict[str, Any], path: str) -> bytes:
        return self.reader.download_artifact(run["info"]["run_id"], path)

    def artifact_names(self, run: dict[str, Any], path: str = "") -> set[str]:
        response = requests.get(f"{self.uri}/api/2.0/mlflow/artifacts/list",
                                params={"run_id": run["info"]["run_id"], "path": path},
                                timeout=30)
        response.raise_for_status()
        return {entry["path"] for entry in response.json().get("files", [])}

    def logged_models(self) -> list[dict[str, Any]]:
        """The experiment's MLflow 3 logged models (the UI's Models tab)."""
        experiment = self.reader.get_experiment_by_name(self.experiment)
        response = requests.post(f"{self.uri}/api/2.0/mlflow/logged-models/search",
                                 json={"experiment_ids": [experiment["experiment_id"]]},
                                 timeout=30)
        response.raise_for_status()
        return [model["info"] for model in response.json().get("models", [])]

    def mlmodel(self, run: dict[str, Any]) -> dict[str, Any]:
        import yaml

        return yaml.safe_load(self.reader.runs_uri_file(run["info"]["run_id"], "model/MLmodel"))

    def model_files(self, run: dict[str, Any]) -> set[str]:
        """What ``runs:/<run>/model`` holds for MLflow's client (the run's logged model)."""
        return set(self.reader.runs_uri_listing(run["info"]["run_id"], "model"))


def _number(value: Any) -> float:
    return float("nan") if value in ("NaN", None) else float(value)


@pytest.fixture
def server(mlflow_server: Any, experiment_name: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.2")
    yield Server(mlflow_server, experiment_name)
    shutdown(10)


@pytest.fixture
def mlflow(server: Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow itself, in this process, pointed at the test's server: its loaders are what a
    user would load the logged models with."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    return mlflow


@pytest.fixture
def enable(server: Server) -> Callable[..., None]:
    """Enable autolog for xgboost (and the integrations named) against the test's server."""

    def enable(*others: str, **options: Any) -> None:
        wanted = {"xgboost", *others}
        off = {name: False for name in _discovery.discover() if name not in wanted}
        enable_autolog(**off, **options, tracking_uri=server.uri, experiment=server.experiment)

    return enable


def binary_data(rows: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 6))
    labels = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(size=rows) > 0).astype(float)
    return features, labels


def dmatrices(seed: int = 0) -> tuple[xgb.DMatrix, xgb.DMatrix]:
    features, labels = binary_data(seed=seed)
    return xgb.DMatrix(features[:160], labels[:160]), xgb.DMatrix(features[160:], labels[160:])


# -- xgboost.train -----------------------------------------------------------------------------
@pytest.mark.server_shapes("mlflow2", "postgres")
def test_early_stopping_run(server: Server, enable: Callable[..., None]) -> None:
    enable()
    dtrain, dvalid = dmatrices()
    params = {"objective": "binary:logistic", "eta": 0.5, "max_depth": 4, "nthread": 1,
              "eval_metric": ["logloss", "auc"]}
    booster = xgb.train(params, dtrain, 200, evals=[(dtrain, "train"), (dvalid, "valid")],
                        early_stopping_rounds=5, verbose_eval=False)
    stopped = booster.num_boosted_rounds() - 1
    assert stopped < 199, "the data must make early stopping trigger"

    run = server.only_run()
    assert run["info"]["run_name"] == "xgboost.train" and run["info"]["status"] == "FINISHED"
    params_seen = server.params(run)
    assert params_seen["objective"] == "binary:logistic" and params_seen["eta"] == "0.5"
    assert params_seen["eval_metric"] == "logloss,auc" and params_seen["evals"] == "train,valid"
    assert params_seen["num_boost_round"] == "200"
    assert params_seen["early_stopping_rounds"] == "5"
    # Every eval set and metric, one point per round actually trained.
    for key in ("train-logloss", "train-auc", "valid-logloss", "valid-auc"):
        assert sorted(server.history(run, key)) == list(range(stopped + 1)), key
    # The summary matches the booster; the curve is not re-logged at a later step.
    assert server.history(run, "best_iteration") == {0: booster.best_iteration}
    assert server.history(run, "stopped_iteration") == {0: stopped}
    assert server.history(run, "best_score")[0] == pytest.approx(booster.best_score)
    valid_auc = server.history(run, "valid-auc")
    assert valid_auc[booster.best_iteration] == pytest.approx(booster.best_score)
    assert max(valid_auc) == stopped

    tags = server.tags(run)
    assert tags["mlflow.autologging"] == "xgboost"
    assert tags["dataset.n_samples"] == "160" and tags["dataset.n_features"] == "6"
    assert len(tags["dataset.fingerprint"]) == 16
    importance = json.loads(server.artifact(run, "feature_importance.json"))
    assert set(importance) == {"weight", "gain"}
    assert set(importance["gain"]) <= {f"f{index}" for index in range(6)}
    assert list(importance["gain"].values()) == sorted(importance["gain"].values(), reverse=True)
    plot = svg.parse(server.artifact(run, "feature_importance.svg"))
    assert {"Feature importance (weight)", "Feature importance (gain)"} <= set(svg.texts(plot))
    assert set(importance["gain"]) <= set(svg.texts(plot))  # every feature's name, labelled
    # MLflow 3 keeps the model as the run's logged model; MLflow 2 among the run's artifacts
    kept = {"model"} if server.mlflow_major < 3 else set()
    assert server.artifact_names(run) == {"feature_importance.json", "feature_importance.svg",
                                          *kept}
    assert "model/MLmodel" in server.model_files(run)


def test_throttled_rounds_keep_first_last_and_best(server: Server,
                                                  enable: Callable[..., None]) -> None:
    enable(xgboost={"log_every_n_iterations": 10, "importance_types": []})
    dtrain, dvalid = dmatrices(seed=3)
    evals_result: dict[str, Any] = {}
    xgb.train({"objective": "binary:logistic", "eta": 0.6, "max_depth": 5, "nthread": 1},
              dtrain, 47, evals=[(dvalid, "valid")], evals_result=evals_result,
              verbose_eval=False)
    losses = evals_result["valid"]["logloss"]
    best = int(np.argmin(losses))
    assert best % 10 and best != 46, "the best round must be one the throttle skips"

    run = server.only_run()
    history = server.history(run, "valid-logloss")
    assert sorted(history) == sorted({0, 10, 20, 30, 40, 46, best})
    for step, value in history.items():
        assert value == pytest.approx(losses[step])
    assert "best_iteration" not in server.metric_keys(run)  # no early stopping: no summary


def test_multiclass_metrics_on_every_eval_set(server: Server,
                                              enable: Callable[..., None]) -> None:
    enable()
    rng = np.random.default_rng(1)
    features = rng.normal(size=(180, 5))
    labels = np.digitize(features[:, 0] + 0.3 * rng.normal(size=180), [-0.5, 0.5])
    sets = {name: xgb.DMatrix(features[part], labels[part]) for name, part in
            (("train", slice(0, 120)), ("valid", slice(120, 150)), ("test", slice(150, 180)))}
    xgb.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1,
               "eval_metric": ["mlogloss", "merror", "auc"]},
              sets["train"], 6, evals=[(dmatrix, name) for name, dmatrix in sets.items()],
              verbose_eval=False)

    run = server.only_run()
    expected = {f"{name}-{metric}" for name in sets for metric in ("mlogloss", "merror", "auc")}
    assert expected <= server.metric_keys(run)
    for key in expected:
        assert sorted(server.history(run, key)) == list(range(6)), key
    assert server.params(run)["num_class"] == "3"


def test_ranking_metrics_with_at_sign(server: Server, enable: Callable[..., None]) -> None:
    enable()
    rng = np.random.default_rng(2)
    features = rng.normal(size=(200, 4))
    relevance = np.clip(np.round(features[:, 0] + rng.normal(size=200)), 0, 3)
    groups = np.repeat(np.arange(20), 10)
    dtrain = xgb.DMatrix(features[:150], relevance[:150], qid=groups[:150])
    dvalid = xgb.DMatrix(features[150:], relevance[150:], qid=groups[150:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        xgb.train({"objective": "rank:ndcg", "eval_metric": ["ndcg@3", "ndcg@5"], "nthread": 1},
                  dtrain, 5, evals=[(dvalid, "valid")], verbose_eval=False)
    assert not [w for w in caught if issubclass(w.category, AutologWarning)]

    run = server.only_run()
    assert {"valid-ndcg_at_3", "valid-ndcg_at_5"} <= server.metric_keys(run)
    assert sorted(server.history(run, "valid-ndcg_at_5")) == list(range(5))
    assert server.params(run)["eval_metric"] == "ndcg@3,ndcg@5"


def test_cv_logs_mean_and_std_per_round(server: Server, enable: Callable[..., None]) -> None:
    enable()
    features, _ = binary_data(rows=150)
    target = features[:, 0] * 2 + features[:, 1]
    results = xgb.cv({"objective": "reg:squarederror", "max_depth": 3, "nthread": 1},
                     xgb.DMatrix(features, target), 12, nfold=3, metrics="rmse", seed=4)

    run = server.only_run()
    assert run["info"]["run_name"] == "xgboost.cv" and run["info"]["status"] == "FINISHED"
    for column in ("train-rmse-mean", "train-rmse-std", "test-rmse-mean", "test-rmse-std"):
        history = server.history(run, column)
        assert sorted(history) == list(range(12)), column
        assert [history[step] for step in range(12)] == pytest.approx(list(results[column]))
    params = server.params(run)
    assert params["nfold"] == "3" and params["metrics"] == "rmse" and params["seed"] == "4"


# -- the user's callbacks, and failures ------------------------------------------------------
class Recording(xgb.callback.TrainingCallback):
    def __init__(self, name: str, calls: list[tuple[str, int]], stop_at: int | None = None):
        super().__init__()
        self.name, self.calls, self.stop_at = name, calls, stop_at

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.calls.append((self.name, epoch))
        return epoch == self.stop_at


def test_user_callbacks_keep_working_in_order(server: Server,
                                              enable: Callable[..., None]) -> None:
    enable()
    dtrain, dvalid = dmatrices()
    calls: list[tuple[str, int]] = []
    callbacks = [Recording("first", calls), Recording("second", calls, stop_at=7)]
    given = list(callbacks)
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1}, dtrain, 30,
                        evals=[(dvalid, "valid")], callbacks=callbacks, verbose_eval=False)
    assert callbacks == given  # the user's list is not changed
    assert calls == [(name, epoch) for epoch in range(8) for name in ("first", "second")]
    assert booster.num_boosted_rounds() == 8

    run = server.only_run()
    # The user's callback stopped training at round 7: XGBoost skips the callbacks after it
    # for that round, and the round is recorded all the same.
    assert sorted(server.history(run, "valid-logloss")) == list(range(8))
    assert server.params(run)["callbacks"] == "Recording,Recording"


class UsersError(Exception):
    pass


def test_a_failing_train_leaves_a_failed_run_with_what_was_recorded(
        server: Server, enable: Callable[..., None]) -> None:
    enable()
    dtrain, dvalid = dmatrices()
    error = UsersError("stop right there")

    class Failing(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if epoch == 5:
                raise error
            return False

    with pytest.raises(UsersError) as caught:
        xgb.train({"objective": "binary:logistic", "nthread": 1}, dtrain, 20,
                  evals=[(dvalid, "valid")], callbacks=[Failing()], verbose_eval=False)
    assert caught.value is error
    with pytest.raises(xgb.core.XGBoostError, match="Unknown objective"):
        xgb.train({"objective": "no:such", "nthread": 1}, dtrain, 3, verbose_eval=False)
    features, labels = binary_data()
    labels[3] = np.nan
    with pytest.raises(xgb.core.XGBoostError, match="NaN"):
        xgb.XGBRegressor(n_estimators=3, n_jobs=1).fit(features, labels)

    runs = server.runs()
    assert sorted(run["info"]["run_name"] for run in runs) == [
        "XGBRegressor", "xgboost.train", "xgboost.train"]
    assert all(run["info"]["status"] == "FAILED" for run in runs)
    by_params = {server.params(run).get("objective"): run for run in runs}
    midway = by_params["binary:logistic"]
    assert sorted(server.history(midway, "valid-logloss")) == list(range(6))
    # No model: no model directory, no feature importance, and the runs' logged models say
    # the upload failed rather than waiting forever as PENDING.
    assert all(server.artifact_names(run) == set() for run in runs)
    logged = server.logged_models()
    assert sorted(model["source_run_id"] for model in logged) == sorted(
        run["info"]["run_id"] for run in runs)
    assert {model["status"] for model in logged} == {"LOGGED_MODEL_UPLOAD_FAILED"}
    assert server.params(by_params["no:such"])["num_boost_round"] == "3"
    assert server.params(by_params["reg:squarederror"])["n_estimators"] == "3"


# -- the scikit-learn API ----------------------------------------------------------------------
def test_sklearn_estimator_gives_one_run(server: Server, enable: Callable[..., None]) -> None:
    from sklearn.base import clone

    enable("sklearn")
    features, labels = binary_data()
    model = xgb.XGBClassifier(n_estimators=200, learning_rate=0.5, max_depth=4, n_jobs=1,
                              early_stopping_rounds=4, eval_metric="logloss")
    model.fit(features[:160], labels[:160], eval_set=[(features[160:], labels[160:])],
              verbose=False)
    assert model.callbacks is None and clone(model).get_params()["callbacks"] is None

    run = server.only_run()
    assert run["info"]["run_name"] == "XGBClassifier" and run["info"]["status"] == "FINISHED"
    assert server.tags(run)["mlflow.autologging"] == "xgboost"
    params = server.params(run)
    assert params["n_estimators"] == "200" and params["max_depth"] == "4"
    rounds = model.get_booster().num_boosted_rounds()
    assert sorted(server.history(run, "validation_0-logloss")) == list(range(rounds))
    assert server.history(run, "best_iteration") == {0: model.best_iteration}
    keys = server.metric_keys(run)
    assert {"training_accuracy_score", "training_log_loss", "training_roc_auc"} <= keys
    accuracy = server.history(run, "training_accuracy_score")[0]
    assert accuracy == pytest.approx(float(np.mean(model.predict(features[:160]) ==
                                                   labels[:160])))
    assert json.loads(server.artifact(run, "feature_importance.json"))["weight"]


def test_sklearn_search_children_follow_the_sklearn_integration(
        server: Server, enable: Callable[..., None]) -> None:
    from sklearn.model_selection import GridSearchCV

    enable("sklearn")
    features, labels = binary_data(rows=120)
    search = GridSearchCV(xgb.XGBClassifier(n_estimators=5, n_jobs=1),
                          {"max_depth": [2, 3]}, cv=2)
    search.fit(features, labels, eval_set=[(features, labels)], verbose=False)

    runs = server.runs()
    names = sorted(run["info"]["run_name"] for run in runs)
    assert len(runs) == 3, names  # the search and its two candidates, nothing else
    parents = [run for run in runs if "mlflow.parentRunId" not in server.tags(run)]
    assert len(parents) == 1 and "GridSearchCV" in parents[0]["info"]["run_name"]
    parent_id = parents[0]["info"]["run_id"]
    children = [run for run in runs if run is not parents[0]]
    assert all(server.tags(child)["mlflow.parentRunId"] == parent_id for child in children)
    # Every run is the scikit-learn integration's: the clone fits inside the search, and the
    # train() inside each of them, opened nothing of their own.
    assert all(server.tags(run)["mlflow.autologging"] == "sklearn" for run in runs)
    assert not any("validation_0-logloss" in server.metric_keys(run) for run in runs)


# -- models ------------------------------------------------------------------------------------
def test_train_logs_the_booster_as_a_model_mlflow_loads(
        server: Server, enable: Callable[..., None], mlflow: Any) -> None:
    enable()
    features, labels = binary_data()
    features[0, 2] = np.nan  # a missing value in the example rows
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
                        xgb.DMatrix(features, labels), 20)

    run = server.only_run()
    run_id = run["info"]["run_id"]
    assert {"model/MLmodel", "model/model.ubj", "model/input_example.json",
            "model/requirements.txt", "model/python_env.yaml"} <= server.model_files(run)
    expected = booster.predict(xgb.DMatrix(features))
    native = mlflow.xgboost.load_model(f"runs:/{run_id}/model")
    assert isinstance(native, xgb.Booster)
    assert np.array_equal(native.predict(xgb.DMatrix(features)), expected)
    # The user's float64 rows go through the signature read back from the DMatrix.
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert np.array_equal(np.asarray(pyfunc.predict(features)), expected)
    mlmodel = server.mlmodel(run)
    assert mlmodel["flavors"]["xgboost"]["model_class"] == "xgboost.core.Booster"
    assert json.loads(mlmodel["signature"]["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 6]}}]
    example = json.loads(server.reader.runs_uri_file(run_id, "model/input_example.json"))
    assert len(example) == 5 and example[0][2] is None
    assert example[1] == pytest.approx(features[1].tolist(), rel=1e-6)  # float32 inside
    (logged,) = server.logged_models()
    assert logged["status"] == "LOGGED_MODEL_READY" and logged["source_run_id"] == run_id


def test_train_on_a_dataframe_keeps_column_names_and_kinds(
        server: Server, enable: Callable[..., None], mlflow: Any) -> None:
    import pandas as pd

    enable(xgboost={"importance_types": []})
    features, labels = binary_data(rows=100)
    frame = pd.DataFrame(features[:, :3], columns=["age", "spend", "visits"])
    frame["orders"] = np.arange(100) % 7  # int64: MLflow would refuse it for a double column
    frame["member"] = features[:, 3] > 0
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1},
                        xgb.DMatrix(frame, labels), 5)

    run = server.only_run()
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run['info']['run_id']}/model")
    schema = pyfunc.metadata.get_input_schema().to_dict()
    assert [(column["name"], column["type"]) for column in schema] == [
        ("age", "double"), ("spend", "double"), ("visits", "double"), ("orders", "long"),
        ("member", "boolean")]
    assert np.array_equal(np.asarray(pyfunc.predict(frame)),
                          booster.predict(xgb.DMatrix(frame)))


def test_classifier_fit_logs_its_class_and_pyfunc_predicts_the_same(
        server: Server, enable: Callable[..., None], mlflow: Any) -> None:
    import pandas as pd

    name = f"churn-{server.experiment}"
    enable(xgboost={"log_training_metrics": False}, registered_model_name=name)
    features, labels = binary_data()
    frame = pd.DataFrame(features, columns=[f"col_{index}" for index in range(6)])
    model = xgb.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1).fit(frame, labels)

    run = server.only_run()
    run_id = run["info"]["run_id"]
    registered = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert registered.metadata.run_id == run_id
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert np.array_equal(np.asarray(pyfunc.predict(frame)), model.predict(frame))
    assert pyfunc.metadata.get_input_schema().input_names() == list(frame.columns)
    native = mlflow.xgboost.load_model(f"runs:/{run_id}/model")
    assert type(native) is xgb.XGBClassifier
    assert np.array_equal(native.predict_proba(frame), model.predict_proba(frame))
    assert server.mlmodel(run)["flavors"]["xgboost"]["model_class"] == \
        "xgboost.sklearn.XGBClassifier"


def test_fits_in_the_users_run_each_log_a_model(server: Server,
                                               enable: Callable[..., None]) -> None:
    enable(xgboost={"importance_types": []})
    features, labels = binary_data(rows=80)
    with autolog.start_run("mine", tracking_uri=server.uri, experiment=server.experiment):
        xgb.train({"objective": "binary:logistic", "nthread": 1},
                  xgb.DMatrix(features, labels), 3)
        xgb.XGBRegressor(n_estimators=3, n_jobs=1).fit(features, labels)

    runs = {run["info"]["run_name"]: run for run in server.runs()}
    assert set(runs) == {"mine", "XGBRegressor"}  # the second fit: a child of the user's run
    assert all(server.model_files(run) for run in runs.values())
    assert server.mlmodel(runs["mine"])["flavors"]["xgboost"]["model_class"] == \
        "xgboost.core.Booster"


def test_log_models_false_logs_no_model(server: Server, enable: Callable[..., None]) -> None:
    enable(log_models=False, xgboost={"importance_types": []})
    features, labels = binary_data(rows=80)
    xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(features, labels), 5)
    xgb.XGBRegressor(n_estimators=5, n_jobs=1).fit(features, labels)

    runs = server.runs()
    assert len(runs) == 2
    assert not any(server.model_files(run) for run in runs)
    assert server.logged_models() == []


@pytest.mark.parametrize("setting", [True, "all"])
def test_fits_inside_optuna_trials_log_models_and_plots_only_with_all(
        server: Server, enable: Callable[..., None], setting: bool | str) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    enable("optuna", log_models=setting, xgboost={"log_importance_plot": setting})
    features, labels = binary_data(rows=80)
    dtrain = xgb.DMatrix(features, labels)

    def objective(trial: Any) -> float:
        depth = trial.suggest_int("max_depth", 1, 3)
        booster = xgb.train({"objective": "binary:logistic", "max_depth": depth, "nthread": 1},
                            dtrain, 3)
        return float(np.mean((booster.predict(dtrain) > 0.5) != labels))

    optuna.create_study().optimize(objective, n_trials=2)

    fits = [run for run in server.runs() if run["info"]["run_name"] == "xgboost.train"]
    assert len(fits) == 2
    with_model = [run for run in fits if server.model_files(run)]
    assert len(with_model) == (2 if setting == "all" else 0)
    with_plot = [run for run in fits if "feature_importance.svg" in server.artifact_names(run)]
    assert len(with_plot) == (2 if setting == "all" else 0)
    assert all("feature_importance.json" in server.artifact_names(run) for run in fits)

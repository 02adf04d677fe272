"""scikit-learn integration against a real MLflow server: what a user sees in the MLflow UI.

Tiny data (a few hundred rows), read back through the server's REST API. Plots are rendered
in the tests that check them; elsewhere ``log_plots`` is off to keep the module fast.
"""

from __future__ import annotations

import io
import json
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
    cross_validate,
    learning_curve,
    permutation_test_score,
    validation_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import autolog
from autolog import _discovery
from autolog._runs import shutdown
from integrations._dataset import describe_dataset
from integrations.sklearn._search import candidate_name
from tests import svg
from tests.mlflow_server import MlflowServer


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture
def track(mlflow_server: MlflowServer, experiment_name: str,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``track(**sklearn_options)``: autolog (scikit-learn only) towards the server.

    The environment variables (not the options) point there, so runs the user opens with
    ``autolog.start_run`` go to the same experiment."""
    monkeypatch.setenv("AUTOLOG_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("AUTOLOG_EXPERIMENT_NAME", experiment_name)
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.1")

    def enable(**sklearn_options: Any) -> None:
        others = {name: False for name in _discovery.discover() if name != "sklearn"}
        autolog.autolog(**others, sklearn=sklearn_options or True)

    yield enable
    autolog.autolog(disable=True)
    shutdown(10)


class Server:
    """What the MLflow UI shows for one experiment."""

    def __init__(self, server: MlflowServer, experiment: str) -> None:
        self.reader = server.reader
        assert autolog.flush(timeout=60)
        found = self.reader.get_experiment_by_name(experiment)
        assert found is not None, f"experiment {experiment!r} was never created"
        self.runs = self.reader.search_runs([found["experiment_id"]])

    def names(self) -> list[str]:
        return sorted(run["info"]["run_name"] for run in self.runs)

    def named(self, name: str) -> dict[str, Any]:
        found = [run for run in self.runs if run["info"]["run_name"] == name]
        assert len(found) == 1, (name, self.names())
        return found[0]

    def only(self) -> dict[str, Any]:
        assert len(self.runs) == 1, self.names()
        return self.runs[0]

    def children_of(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        parent_id = parent["info"]["run_id"]
        return [run for run in self.runs if tags(run).get("mlflow.parentRunId") == parent_id]

    def history(self, run: dict[str, Any], key: str) -> list[tuple[int, float]]:
        points = self.reader.metric_history(run["info"]["run_id"], key)
        return sorted((int(p.get("step", 0)), float(p["value"])) for p in points)

    def artifact(self, run: dict[str, Any], path: str) -> bytes:
        return self.reader.download_artifact(run["info"]["run_id"], path)


def params(run: dict[str, Any]) -> dict[str, str]:
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def metrics(run: dict[str, Any]) -> dict[str, float]:
    return {m["key"]: float(m["value"]) for m in run["data"].get("metrics", [])}


def tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


@pytest.fixture
def ui(mlflow_server: MlflowServer, experiment_name: str) -> Any:
    return lambda: Server(mlflow_server, experiment_name)


def _classification(n: int = 300, features: int = 8, classes: int = 2, seed: int = 0):
    return make_classification(n, features, n_informative=3, n_redundant=1,
                               n_classes=classes, random_state=seed)


def _autolog_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, autolog.AutologWarning)]


# -- a single fit -----------------------------------------------------------------------------
def test_a_classifier_fit_is_one_run_with_params_tags_metrics_and_plots(track, ui) -> None:
    track()
    X, y = _classification()
    model = LogisticRegression(C=0.5, max_iter=200).fit(X, y)

    run = ui().only()
    assert run["info"]["run_name"] == "LogisticRegression"
    assert run["info"]["status"] == "FINISHED"
    assert params(run) == {key: str(value) for key, value in model.get_params().items()}
    run_tags = tags(run)
    assert run_tags["estimator_name"] == "LogisticRegression"
    assert run_tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run_tags["mlflow.autologging"] == "sklearn"
    dataset = describe_dataset(X, y)
    assert run_tags["dataset.n_samples"] == "300" and run_tags["dataset.n_features"] == "8"
    assert run_tags["dataset.fingerprint"] == dataset.fingerprint
    got = metrics(run)
    proba = model.predict_proba(X)
    predicted = model.predict(X)
    assert got["training_accuracy_score"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert got["training_precision_score"] == pytest.approx(skm.precision_score(y, predicted))
    assert got["training_recall_score"] == pytest.approx(skm.recall_score(y, predicted))
    assert got["training_f1_score"] == pytest.approx(skm.f1_score(y, predicted))
    assert got["training_log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert got["training_roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert got["training_score"] == pytest.approx(model.score(X, y))
    assert got["fit_duration_s"] > 0
    server = ui()
    matrix = svg.parse(server.artifact(run, "training_confusion_matrix.svg"))
    assert svg.title(matrix) == "LogisticRegression: training confusion matrix"
    counts = skm.confusion_matrix(y, predicted)
    assert [str(count) for count in counts.ravel()] == [
        text for text in svg.texts(matrix) if text.isdigit()][: counts.size]
    roc = svg.parse(server.artifact(run, "training_roc_curve.svg"))
    assert f"ROC curve (AUC = {skm.roc_auc_score(y, proba[:, 1]):.3f})" in svg.texts(roc)
    pr = svg.parse(server.artifact(run, "training_precision_recall_curve.svg"))
    average_precision = skm.average_precision_score(y, proba[:, 1])
    assert f"PR curve (AP = {average_precision:.3f})" in svg.texts(pr)
    assert "Recall (positive label: 1)" in svg.texts(pr)


def test_regressor_and_clusterer_metrics(track, ui) -> None:
    track(log_plots=False)
    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    ridge = Ridge(alpha=2.0).fit(X, y)
    kmeans = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)  # unsupervised: y=None

    server = ui()
    assert server.names() == ["KMeans", "Ridge"]
    got = metrics(server.named("Ridge"))
    predicted = ridge.predict(X)
    assert got["training_mean_squared_error"] == pytest.approx(skm.mean_squared_error(y, predicted))
    assert got["training_root_mean_squared_error"] == pytest.approx(
        skm.root_mean_squared_error(y, predicted))
    assert got["training_mean_absolute_error"] == pytest.approx(
        skm.mean_absolute_error(y, predicted))
    assert got["training_r2_score"] == pytest.approx(skm.r2_score(y, predicted))
    assert got["training_score"] == pytest.approx(ridge.score(X, y))
    got = metrics(server.named("KMeans"))
    assert got["training_inertia"] == pytest.approx(kmeans.inertia_)
    assert got["training_silhouette_score"] == pytest.approx(
        skm.silhouette_score(X, kmeans.labels_))
    assert got["training_score"] == pytest.approx(kmeans.score(X))
    assert tags(server.named("KMeans"))["dataset.fingerprint"] == describe_dataset(X).fingerprint


def test_fit_transform_and_fit_predict_are_runs_too(track, ui) -> None:
    track(log_plots=False)
    X, _ = _classification(100)
    StandardScaler().fit_transform(X)
    labels = KMeans(n_clusters=2, n_init=1, random_state=0).fit_predict(X)

    server = ui()
    assert server.names() == ["KMeans", "StandardScaler"]
    assert tags(server.named("StandardScaler")).get("autolog.sklearn_method") == "fit_transform"
    assert params(server.named("StandardScaler"))["with_mean"] == "True"
    assert metrics(server.named("KMeans"))["training_silhouette_score"] == pytest.approx(
        skm.silhouette_score(X, labels))


# -- pipelines, subclasses, third-party estimators -------------------------------------------
def test_a_pipeline_is_one_run_with_deep_params(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=3.0)).fit(X, y)

    run = ui().only()  # the steps' own fits opened nothing
    assert run["info"]["run_name"] == "Pipeline"
    logged = params(run)
    assert logged["logisticregression__C"] == "3.0"
    assert logged["standardscaler__with_mean"] == "True"
    assert "LogisticRegression" in logged["logisticregression"]
    assert metrics(run)["training_accuracy_score"] == pytest.approx(pipeline.score(X, y))


def test_user_subclasses_and_third_party_estimators_defined_after_enabling(track, ui) -> None:
    track(log_plots=False)

    class TunedLogisticRegression(LogisticRegression):
        def fit(self, X, y, sample_weight=None):  # calls the patched base fit: nested
            self.C = self.C / 2
            return super().fit(X, y, sample_weight=sample_weight)

    class NearestCentroid(ClassifierMixin, BaseEstimator):
        """Sklearn-compatible, defined here: patched when its class statement runs."""

        def __init__(self, shrink: float = 0.0) -> None:
            self.shrink = shrink

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            self.centroids_ = np.array([X[y == label].mean(axis=0) for label in self.classes_])
            return self

        def predict(self, X):
            distances = ((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
            return self.classes_[distances.argmin(axis=1)]

    X, y = _classification()
    TunedLogisticRegression(C=4.0).fit(X, y)
    centroid = NearestCentroid(shrink=0.5).fit(X, y)

    server = ui()
    assert server.names() == ["NearestCentroid", "TunedLogisticRegression"]
    assert params(server.named("TunedLogisticRegression"))["C"] == "4.0"  # before its fit
    nearest = server.named("NearestCentroid")
    assert params(nearest) == {"shrink": "0.5"}
    assert tags(nearest)["estimator_class"].endswith("NearestCentroid")
    got = metrics(nearest)
    assert got["training_accuracy_score"] == pytest.approx(centroid.score(X, y))
    assert "training_log_loss" not in got  # no predict_proba


# -- searches -----------------------------------------------------------------------------------
GRID = {"C": [0.01, 0.1, 1.0], "class_weight": [None, "balanced", {0: 1, 1: 3}]}


@pytest.mark.server_shapes("mlflow2", "postgres")
def test_grid_search_parent_and_best_first_children(track, ui) -> None:
    track()
    X, y = _classification()
    search = GridSearchCV(LogisticRegression(), GRID, cv=3, return_train_score=True).fit(X, y)

    server = ui()
    assert len(server.runs) == 1 + 5  # parent + max_tuning_runs; the 28 clone fits: nothing
    parent = server.named("GridSearchCV(LogisticRegression)")
    logged = params(parent)
    assert logged["cv"] == "3" and logged["estimator__max_iter"] == "100"
    assert logged["best_C"] == str(search.best_params_["C"])
    assert logged["best_class_weight"] == str(search.best_params_["class_weight"])
    assert metrics(parent)["best_score"] == pytest.approx(search.best_score_)
    assert metrics(parent)["training_accuracy_score"] == pytest.approx(search.score(X, y))
    assert tags(parent)["search.estimator_name"] == "LogisticRegression"
    table = pd.read_csv(io.BytesIO(server.artifact(parent, "cv_results.csv")))
    assert len(table) == 9 and "mean_test_score" in table and "split2_test_score" in table
    svg.parse(server.artifact(parent, "training_roc_curve.svg"))

    results = search.cv_results_
    best_first = np.argsort(results["rank_test_score"], kind="stable")[:5]
    children = server.children_of(parent)
    by_name = {run["info"]["run_name"]: run for run in children}
    assert sorted(by_name) == sorted(candidate_name(results["params"][i]) for i in best_first)
    best = by_name[candidate_name(search.best_params_)]
    assert metrics(best)["rank_test_score"] == 1
    row = search.best_index_
    got = metrics(best)
    for key in ("mean_test_score", "std_test_score", "mean_train_score", "std_train_score",
                "mean_fit_time", "mean_score_time"):
        assert got[key] == pytest.approx(results[key][row]), key
    assert server.history(best, "test_score") == [
        (fold, pytest.approx(results[f"split{fold}_test_score"][row])) for fold in range(3)]
    assert params(best) == {"C": str(search.best_params_["C"]),
                            "class_weight": str(search.best_params_["class_weight"])}
    for child in children:  # no plots for children
        assert "training_accuracy_score" not in metrics(child)


def test_randomized_search_multimetric_with_every_candidate(track, ui) -> None:
    track(log_plots=False, max_tuning_runs=None)
    X, y = _classification()
    search = RandomizedSearchCV(DecisionTreeClassifier(random_state=0),
                                {"max_depth": [1, 2, 3, 4, 5, 6], "min_samples_leaf": [1, 5, 20]},
                                n_iter=7, cv=3, scoring=["accuracy", "f1"], refit="f1",
                                random_state=0).fit(X, y)

    server = ui()
    parent = server.named("RandomizedSearchCV(DecisionTreeClassifier)")
    children = server.children_of(parent)
    assert len(children) == 7 and len(server.runs) == 8
    best = server.named(candidate_name(search.best_params_))
    assert metrics(best)["rank_test_f1"] == 1
    assert {"mean_test_accuracy", "mean_test_f1", "rank_test_accuracy"} <= set(metrics(best))
    assert [step for step, _ in server.history(best, "test_f1")] == [0, 1, 2]


def test_halving_search_children_hold_each_candidates_last_round(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification(400)
    search = HalvingGridSearchCV(LogisticRegression(), {"C": [0.001, 0.01, 0.1, 1.0]}, cv=3,
                                 factor=2, random_state=0).fit(X, y)

    server = ui()
    parent = server.named("HalvingGridSearchCV(LogisticRegression)")
    children = server.children_of(parent)
    assert len(children) == 4 and len(server.runs) == 5  # one per candidate, not per round
    best = server.named(candidate_name(search.best_params_))
    assert metrics(best)["iter"] == search.n_iterations_ - 1
    assert metrics(best)["n_resources"] == search.n_resources_[-1]


# -- cross-validation ---------------------------------------------------------------------------
def test_cross_validation_functions_are_one_run_each_with_per_fold_steps(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification(250)
    validated = cross_validate(LogisticRegression(), X, y, cv=4, return_train_score=True)
    scores = cross_val_score(DecisionTreeClassifier(max_depth=2, random_state=0), X, y,
                             scoring="accuracy")
    predicted = cross_val_predict(LogisticRegression(C=0.3), X, y, cv=3)

    server = ui()
    assert server.names() == ["cross_val_predict(LogisticRegression)",
                              "cross_val_score(DecisionTreeClassifier)",
                              "cross_validate(LogisticRegression)"]
    run = server.named("cross_validate(LogisticRegression)")
    assert params(run)["cv"] == "4" and params(run)["C"] == "1.0"
    assert server.history(run, "test_score") == [
        (fold, pytest.approx(value)) for fold, value in enumerate(validated["test_score"])]
    got = metrics(run)
    assert got["mean_test_score"] == pytest.approx(validated["test_score"].mean())
    assert got["std_test_score"] == pytest.approx(validated["test_score"].std())
    assert got["mean_train_score"] == pytest.approx(validated["train_score"].mean())
    assert [step for step, _ in server.history(run, "fit_time")] == [0, 1, 2, 3]

    run = server.named("cross_val_score(DecisionTreeClassifier)")
    assert [value for _, value in server.history(run, "test_accuracy")] == pytest.approx(scores)
    assert metrics(run)["mean_test_accuracy"] == pytest.approx(scores.mean())

    run = server.named("cross_val_predict(LogisticRegression)")
    folds = [test for _, test in StratifiedKFold(3).split(X, y)]
    expected = [skm.accuracy_score(y[test], predicted[test]) for test in folds]
    assert server.history(run, "test_accuracy_score") == [
        (fold, pytest.approx(value)) for fold, value in enumerate(expected)]
    assert metrics(run)["mean_test_f1_score"] == pytest.approx(
        np.mean([skm.f1_score(y[test], predicted[test]) for test in folds]))


def test_learning_and_validation_curves_are_one_run_each(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification(240)
    sizes, _, test_scores = learning_curve(LogisticRegression(), X, y, cv=3,
                                           train_sizes=[0.3, 0.6, 1.0])
    _, validation_scores = validation_curve(LogisticRegression(), X, y, param_name="C",
                                            param_range=[0.01, 1.0, 100.0], cv=3)
    score, _, pvalue = permutation_test_score(DecisionTreeClassifier(max_depth=2), X, y, cv=3,
                                              n_permutations=4, random_state=0)

    server = ui()  # not one run per clone fit (9 + 9 + 15 of them)
    assert server.names() == ["learning_curve(LogisticRegression)",
                              "permutation_test_score(DecisionTreeClassifier)",
                              "validation_curve(LogisticRegression)"]
    run = server.named("learning_curve(LogisticRegression)")
    assert server.history(run, "mean_test_score") == [
        (int(size), pytest.approx(row.mean()))
        for size, row in zip(sizes, test_scores, strict=True)]
    run = server.named("validation_curve(LogisticRegression)")
    assert params(run)["param_name"] == "C" and params(run)["param_range"] == "[0.01, 1.0, 100.0]"
    assert server.history(run, "mean_test_score") == [
        (step, pytest.approx(row.mean())) for step, row in enumerate(validation_scores)]
    got = metrics(server.named("permutation_test_score(DecisionTreeClassifier)"))
    assert got["test_score"] == pytest.approx(score) and got["pvalue"] == pytest.approx(pvalue)
    assert len(server.history(server.named("permutation_test_score(DecisionTreeClassifier)"),
                              "permutation_score")) == 4


# -- runs the user opened, threads ------------------------------------------------------------
def test_in_a_users_run_the_first_fit_logs_there_and_the_next_is_a_child(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification()
    with autolog.start_run("my experiment") as mine:
        LogisticRegression(C=0.2).fit(X, y)
        LogisticRegression(C=7.0).fit(X, y)  # params are immutable: never into the same run
        assert autolog.active_run() is mine and mine.status == "RUNNING"

    server = ui()
    assert server.names() == ["LogisticRegression", "my experiment"]
    users = server.named("my experiment")
    assert params(users)["C"] == "0.2" and "training_accuracy_score" in metrics(users)
    assert tags(users)["estimator_name"] == "LogisticRegression"
    child = server.named("LogisticRegression")
    assert tags(child)["mlflow.parentRunId"] == users["info"]["run_id"]
    assert params(child)["C"] == "7.0" and "training_accuracy_score" in metrics(child)
    assert users["info"]["status"] == "FINISHED"


def test_four_threads_fitting_at_once_give_four_separate_runs(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification(400)
    estimators = [LogisticRegression(C=0.25), Ridge(alpha=3.0),
                  DecisionTreeClassifier(max_depth=3, random_state=0),
                  KMeans(n_clusters=3, n_init=1, random_state=0)]
    start = threading.Barrier(len(estimators))
    errors: list[BaseException] = []

    def train(estimator: Any) -> None:
        try:
            start.wait()
            for _ in range(3):  # overlap the fits
                estimator.fit(X, y)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(e,)) for e in estimators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

    server = ui()
    assert len(server.runs) == 12
    for estimator in estimators:
        name = type(estimator).__name__
        runs = [run for run in server.runs if run["info"]["run_name"] == name]
        assert len(runs) == 3, name
        expected = {key: str(value) for key, value in estimator.get_params().items()}
        for run in runs:
            assert params(run) == expected, name  # only its own params
            assert tags(run)["estimator_name"] == name
            assert "mlflow.parentRunId" not in tags(run)
    ridge_metrics = [metrics(r) for r in server.runs if r["info"]["run_name"] == "Ridge"]
    assert all("training_r2_score" in m and "training_accuracy_score" not in m
               for m in ridge_metrics)


# -- bad inputs -------------------------------------------------------------------------------
def _bad_inputs() -> dict[str, Any]:
    X, y = _classification(120, features=5, classes=3, seed=1)
    labels = np.array(["cat", "dog", "emu"])[y]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(
        colour=pd.Categorical(np.array(["red", "blue"])[y % 2]).codes)
    with_nan = X.copy()
    with_nan[::7, 2] = np.nan
    weights = np.linspace(0.1, 2.0, len(y))
    multi_label = np.column_stack([y == 0, y == 1]).astype(int)
    return {
        "sparse X": (lambda: LogisticRegression().fit(sp.csr_matrix(np.abs(X)), y),
                     "training_accuracy_score"),
        "pandas DataFrame and string labels": (
            lambda: LogisticRegression().fit(frame, pd.Series(labels)), "training_f1_score"),
        "polars DataFrame": (lambda: LogisticRegression().fit(*_polars(frame, labels)),
                             "training_log_loss"),
        "string labels": (lambda: DecisionTreeClassifier(max_depth=3).fit(X, labels),
                          "training_roc_auc"),
        "multi-output y": (lambda: RandomForestClassifier(n_estimators=3, random_state=0)
                           .fit(X, multi_label), "training_score"),
        "multi-output regression": (lambda: Ridge().fit(X, np.column_stack([X[:, 0], y])),
                                    "training_r2_score"),
        "sample_weight": (lambda: LogisticRegression().fit(X, y, sample_weight=weights),
                          "training_accuracy_score"),
        "y=None": (lambda: KMeans(n_clusters=3, n_init=1, random_state=0).fit(X),
                   "training_inertia"),
        "NaN in X": (lambda: HistGradientBoostingClassifier(max_iter=5).fit(with_nan, y),
                     "training_accuracy_score"),
        "generator input": (
            lambda: TfidfVectorizer().fit(text for text in ["alpha beta", "beta gamma"]),
            "fit_duration_s"),
    }


def _polars(frame: pd.DataFrame, labels: np.ndarray) -> tuple[Any, Any]:
    import polars as pl  # a test dependency (pyproject's "test" extra)

    return pl.from_pandas(frame), pl.Series(labels)


BAD_INPUTS = ["sparse X", "pandas DataFrame and string labels", "polars DataFrame",
              "string labels", "multi-output y", "multi-output regression", "sample_weight",
              "y=None", "NaN in X", "generator input"]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_are_logged_or_skipped_with_one_warning(case: str, track, ui) -> None:
    track(log_plots=False)
    fit, expected_metric = _bad_inputs()[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = fit()
        fit()  # a second time: still no more than one warning
    assert fitted is not None
    expected_warnings = 1 if case == "multi-output y" else 0  # metrics skipped: said once
    assert len(_autolog_warnings(caught)) == expected_warnings, _autolog_warnings(caught)
    server = ui()
    assert len(server.runs) == 2, server.names()
    for run in server.runs:
        assert run["info"]["status"] == "FINISHED"
        assert expected_metric in metrics(run), sorted(metrics(run))
        assert "autolog.error" not in tags(run)
        assert params(run), "the estimator's params are always logged"


def test_sample_weight_weighs_the_metrics_but_not_training_score(track, ui) -> None:
    track(log_plots=False)
    X, y = _classification()
    weights = np.where(y == 1, 3.0, 0.5)
    model = LogisticRegression(C=0.05).fit(X, y, sample_weight=weights)

    got = metrics(ui().only())
    predicted = model.predict(X)
    assert got["training_accuracy_score"] == pytest.approx(
        skm.accuracy_score(y, predicted, sample_weight=weights))
    assert got["training_f1_score"] == pytest.approx(
        skm.f1_score(y, predicted, sample_weight=weights))
    assert got["training_score"] == pytest.approx(model.score(X, y))  # as sklearn's score


# -- models ------------------------------------------------------------------------------------
def _has_model(ui_server: Server, run: dict[str, Any]) -> bool:
    """Whether ``runs:/<run>/model`` holds anything for MLflow's client."""
    return bool(ui_server.reader.runs_uri_listing(run["info"]["run_id"], "model"))


def test_a_fit_logs_a_model_mlflow_loads_and_a_search_logs_only_its_winner(
        track, ui, mlflow_server, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    track(log_plots=False)
    X, y = _classification()
    model = LogisticRegression(max_iter=200).fit(X, y)
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3]},
                          cv=3).fit(X, y)
    server = ui()
    single = server.named("LogisticRegression")
    loaded = mlflow.sklearn.load_model(f"runs:/{single['info']['run_id']}/model")
    assert (loaded.predict(X) == model.predict(X)).all()
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{single['info']['run_id']}/model")
    assert (np.asarray(pyfunc.predict(X)) == model.predict(X)).all()

    parent = server.named("GridSearchCV(DecisionTreeClassifier)")
    winner = mlflow.sklearn.load_model(f"runs:/{parent['info']['run_id']}/model")
    assert (winner.predict(X) == search.best_estimator_.predict(X)).all()
    for child in server.children_of(parent):
        assert not _has_model(server, child)


@pytest.mark.parametrize("training_metrics", [True, False])
def test_the_logged_models_signature_describes_what_predict_returns(
        track, ui, training_metrics) -> None:
    """With training metrics on, the signature's outputs come from the training predictions
    (no second prediction); either way they must describe what ``predict`` returns."""
    import yaml

    track(log_plots=False, log_training_metrics=training_metrics)
    X, y = _classification()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.where(y == 1, "churn", "stay")
    LogisticRegression(max_iter=200).fit(frame, labels)
    Ridge().fit(frame, y.astype(float))
    server = ui()
    expected = {"LogisticRegression": "UO", "Ridge": "f"}  # numpy kinds: text, float
    for name, kinds in expected.items():
        mlmodel = yaml.safe_load(server.reader.runs_uri_file(server.named(name)["info"]["run_id"],
                                                             "model/MLmodel"))
        outputs = json.loads(mlmodel["signature"]["outputs"])
        assert len(outputs) == 1 and outputs[0]["type"] == "tensor", outputs
        assert outputs[0]["tensor-spec"]["shape"] == [-1]
        assert np.dtype(outputs[0]["tensor-spec"]["dtype"]).kind in kinds, outputs
        inputs = json.loads(mlmodel["signature"]["inputs"])
        assert [spec["name"] for spec in inputs] == list(frame.columns)


def test_log_models_false_logs_no_model(track, ui) -> None:
    autolog.autolog(**{name: False for name in _discovery.discover() if name != "sklearn"},
                    sklearn={"log_plots": False}, log_models=False)
    X, y = _classification()
    LogisticRegression(max_iter=200).fit(X, y)
    server = ui()
    assert not _has_model(server, server.only())

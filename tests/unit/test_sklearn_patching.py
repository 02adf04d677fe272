"""How the sklearn integration patches: which classes, nested calls, worker threads, disable.

Runs go to the local store and are read from the recorder (the real-server checks of what a
user sees are in tests/integration/test_sklearn.py).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import sklearn.model_selection
import sklearn.model_selection._validation as validation
from joblib import parallel_config
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.utils.parallel import Parallel
from threadpoolctl import threadpool_limits

import autolog
from autolog import _discovery
from autolog._options import Options
from autolog._patching import is_patched, patches
from autolog.backends.local_store import LocalStore
from integrations.sklearn import SklearnIntegration
from tests import svg
from tests.fake_framework.recording import RunRecorder

X, Y = make_classification(120, 5, n_informative=3, random_state=0)


def _enable(**sklearn_options: Any) -> None:
    """scikit-learn only; model logging (tested against the server) off, so what the fit
    itself records is all these tests see."""
    others = {name: False for name in _discovery.discover() if name != "sklearn"}
    autolog.autolog(**others, log_models=False, sklearn={"log_plots": False, **sklearn_options})


def _names(recorder: RunRecorder) -> list[str]:
    assert autolog.flush(30)
    return sorted(run.name for run in recorder.runs().values())


# -- disable ----------------------------------------------------------------------------------
def test_disable_restores_every_original_identically() -> None:
    import sklearn.base

    owners = [LogisticRegression, GridSearchCV, TransformerMixin]
    before = {(owner, name): vars(owner)[name] for owner in owners
              for name in ("fit", "fit_transform") if name in vars(owner)}
    parallel_call = vars(Parallel)["__call__"]
    _enable()
    assert all(is_patched(owner, name) for owner, name in before)
    assert "__init_subclass__" in vars(sklearn.base.BaseEstimator)
    assert vars(Parallel)["__call__"] is not parallel_call

    autolog.autolog(disable=True)
    assert {key: vars(key[0])[key[1]] for key in before} == before
    assert all(vars(key[0])[key[1]] is original for key, original in before.items())
    assert "__init_subclass__" not in vars(sklearn.base.BaseEstimator)
    assert vars(Parallel)["__call__"] is parallel_call
    assert not [p for p in patches() if p.integration.name == "sklearn"]
    cell_contents = [cell.cell_contents for cell in cross_validate.__closure__]
    assert cross_validate.__wrapped__ in cell_contents  # the closure points back


def test_classes_defined_while_disabled_are_patched_when_enabled_again(
        recorded_runs: RunRecorder) -> None:
    _enable()
    autolog.autolog(disable=True)

    class Later(LogisticRegression):
        def fit(self, X, y):
            return super().fit(X, y)

    assert not is_patched(Later, "fit")
    _enable()
    assert is_patched(Later, "fit")
    Later().fit(X, Y)
    assert _names(recorded_runs) == ["Later"]


def test_enabling_patches_hundreds_of_classes_without_importing_modules() -> None:
    import sys

    unimported = [name for name in ("sklearn.svm", "sklearn.neural_network")
                  if name not in sys.modules]
    _enable()
    assert all(name not in sys.modules for name in unimported)
    owners = {p.owner for p in patches() if p.integration.name == "sklearn"}
    assert len(owners) > 50


# -- nesting: one run per user call --------------------------------------------------------
def test_a_subclass_calling_super_fit_and_meta_estimators_give_one_run(
        recorded_runs: RunRecorder) -> None:
    from sklearn.multiclass import OneVsRestClassifier

    _enable()

    class Tuned(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            return super().fit(X, y, sample_weight=sample_weight)

    Tuned().fit(X, Y)
    OneVsRestClassifier(LogisticRegression()).fit(X, Y)
    assert _names(recorded_runs) == ["OneVsRestClassifier", "Tuned"]


def test_search_clone_fits_on_thread_pool_workers_open_nothing(
        recorded_runs: RunRecorder) -> None:
    _enable(max_tuning_runs=2)
    with parallel_config(backend="threading", n_jobs=2):
        GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=3, n_jobs=2).fit(X, Y)
        cross_validate(LogisticRegression(), X, Y, cv=3, n_jobs=2)
    assert autolog.flush(30)
    runs = list(recorded_runs.runs().values())  # not one per clone fit (15 of them)
    parents = {run.name: run.run_id for run in runs if run.parent_id is None}
    assert sorted(parents) == ["GridSearchCV(LogisticRegression)",
                               "cross_validate(LogisticRegression)"]
    children = [run for run in runs if run.parent_id is not None]
    assert len(children) == 2
    assert {run.parent_id for run in children} == {parents["GridSearchCV(LogisticRegression)"]}


def test_users_own_thread_pool_fits_are_runs_of_their_own(recorded_runs: RunRecorder) -> None:
    from sklearn.utils.parallel import delayed

    _enable()
    Parallel(n_jobs=2, backend="threading")(
        delayed(LogisticRegression(C=c).fit)(X, Y) for c in (0.5, 2.0))
    assert _names(recorded_runs) == ["LogisticRegression", "LogisticRegression"]


def test_names_imported_before_enabling_are_recorded(recorded_runs: RunRecorder) -> None:
    # ``cross_validate`` was imported at the top of this module, before autolog was enabled
    assert cross_validate is sklearn.model_selection.cross_validate is validation.cross_validate
    _enable()
    cross_validate(LogisticRegression(), X, Y, cv=3)
    assert _names(recorded_runs) == ["cross_validate(LogisticRegression)"]


# -- what is not patched ----------------------------------------------------------------------
def _xgboost_classes() -> list[type]:
    import xgboost.sklearn

    return [xgboost.sklearn.XGBModel, xgboost.XGBClassifier, xgboost.XGBRegressor]


@pytest.mark.parametrize("xgboost_plugin", [True, False])
def test_xgboost_wrappers_are_left_to_the_xgboost_integration(
        xgboost_plugin: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    classes = _xgboost_classes()
    installed = dict(_discovery.integrations())
    if xgboost_plugin:
        installed["xgboost"] = SklearnIntegration  # any loadable plugin registered as xgboost
    else:
        installed.pop("xgboost", None)
    monkeypatch.setattr(_discovery, "integrations", lambda: installed)
    integration = SklearnIntegration()
    integration.enable(Options(specific=SklearnIntegration.validate_options({})))
    try:
        patched = {p.owner for p in patches(integration)}
        assert LogisticRegression in patched
        if xgboost_plugin:  # declared as data: SklearnIntegration.estimators_owned_by
            assert not patched & set(classes)
        else:  # no xgboost integration: a third-party estimator like any other
            assert classes[1] in patched
    finally:
        integration.disable()


def test_options_are_validated() -> None:
    assert SklearnIntegration.validate_options({"max_tuning_runs": None})["max_tuning_runs"] is None
    assert SklearnIntegration.validate_options({})["max_tuning_runs"] == 5
    for bad in (-1, "5", 2.5, True):
        with pytest.raises(ValueError, match="max_tuning_runs"):
            SklearnIntegration.validate_options({"max_tuning_runs": bad})
    with pytest.raises(ValueError, match="log_plot"):
        SklearnIntegration.validate_options({"log_plot": False})
    with pytest.raises(ValueError, match="log_plots"):
        SklearnIntegration.validate_options({"log_plots": "yes"})
    assert SklearnIntegration.validate_options({"log_plots": "all"})["log_plots"] == "all"
    assert SklearnIntegration.validate_options({})["log_plots"] is True


# -- what is recorded, option by option -------------------------------------------------------
def test_training_metrics_and_dataset_tags_can_be_switched_off(
        recorded_runs: RunRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    predictions: list[str] = []
    original = LogisticRegression.predict
    monkeypatch.setattr(LogisticRegression, "predict",
                        lambda self, X: predictions.append("predict") or original(self, X))
    _enable(log_training_metrics=False, log_datasets=False)
    LogisticRegression().fit(X, Y)
    assert autolog.flush(30)
    (run,) = recorded_runs.runs().values()
    assert predictions == []  # no prediction on the training data at all
    assert [key for key, _, _ in run.metrics] == ["fit_duration_s"]
    assert not any(tag.startswith("dataset.") for tag in run.tags)
    assert run.params["C"] == "1.0"


def test_an_estimator_allowed_to_overwrite_x_gets_no_training_metrics(
        recorded_runs: RunRecorder) -> None:
    _enable()
    LinearRegression(copy_X=False).fit(X.copy(), Y)
    assert autolog.flush(30)
    (run,) = recorded_runs.runs().values()
    assert "autolog.training_metrics_skipped" in run.tags
    assert "training_r2_score" not in {key for key, _, _ in run.metrics}


def test_pos_label_option(recorded_runs: RunRecorder) -> None:
    from sklearn.metrics import precision_score

    labels = np.where(Y == 1, "spam", "ham")
    _enable(pos_label="ham")
    model = LogisticRegression().fit(X, labels)
    assert autolog.flush(30)
    (run,) = recorded_runs.runs().values()
    got = {key: value for key, value, _ in run.metrics}
    assert got["training_precision_score"] == pytest.approx(
        precision_score(labels, model.predict(X), pos_label="ham"))


def test_a_failing_predict_skips_metrics_with_one_warning(recorded_runs: RunRecorder) -> None:
    class Broken(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            raise RuntimeError("no predictions today")

    _enable()
    with pytest.warns(autolog.AutologWarning, match="no predictions today") as caught:
        Broken().fit(X, Y)
        Broken().fit(X, Y)
    assert len([w for w in caught if issubclass(w.category, autolog.AutologWarning)]) == 1
    assert autolog.flush(30)
    runs = list(recorded_runs.runs().values())
    assert [run.status for run in runs] == ["FINISHED", "FINISHED"]
    assert all("autolog.error" not in run.tags for run in runs)


def _stored(run_id: str) -> dict[str, Any]:
    """What the local store holds for a run once flushed (deferred records included)."""
    assert autolog.flush(60)
    return LocalStore(os.environ["AUTOLOG_DIR"]).run_data(run_id)


def test_flush_covers_the_plots_and_metrics_built_off_the_training_thread(
        recorded_runs: RunRecorder) -> None:
    from sklearn.cluster import KMeans

    _enable(log_plots=True)
    LogisticRegression().fit(X, Y)
    KMeans(n_clusters=3, n_init=1, random_state=0).fit(X)
    assert autolog.flush(60)
    runs = {run.name: run.run_id for run in recorded_runs.runs().values()}
    classifier = _stored(runs["LogisticRegression"])
    assert classifier["artifacts"] == ["training_confusion_matrix.svg",
                                       "training_precision_recall_curve.svg",
                                       "training_roc_curve.svg"]
    assert "training_roc_auc" in classifier["metrics"]
    assert "training_silhouette_score" in _stored(runs["KMeans"])["metrics"]


def _artifact(run_id: str, path: str) -> bytes:
    return LocalStore(os.environ["AUTOLOG_DIR"]).artifact_path(run_id, path).read_bytes()


def test_every_fit_of_a_loop_gets_its_plots(recorded_runs: RunRecorder) -> None:
    """30 fits back to back, far faster than any writer pass: none goes without its plots."""
    from sklearn.metrics import confusion_matrix

    _enable(log_plots=True)
    with threadpool_limits(1):  # one BLAS thread: a second one stalls on a busy machine
        for _ in range(30):
            model = LogisticRegression().fit(X, Y)
    assert autolog.flush(60)
    runs = list(recorded_runs.runs().values())
    assert len(runs) == 30
    store = LocalStore(os.environ["AUTOLOG_DIR"])
    for run in runs:
        assert store.run_data(run.run_id)["artifacts"] == [
            "training_confusion_matrix.svg", "training_precision_recall_curve.svg",
            "training_roc_curve.svg"], run.run_id
        assert not [tag for tag in run.tags if "skipped" in tag]
    matrix = svg.parse(_artifact(runs[-1].run_id, "training_confusion_matrix.svg"))
    counts = confusion_matrix(Y, model.predict(X)).ravel()  # the cells come first, row by row
    assert [text for text in svg.texts(matrix) if text.isdigit()][:4] == [str(n) for n in counts]


def test_plot_format_png_draws_with_matplotlib(recorded_runs: RunRecorder) -> None:
    _enable(log_plots=True, plot_format="png")
    for _ in range(3):
        LogisticRegression().fit(X, Y)
    assert autolog.flush(60)
    for run in recorded_runs.runs().values():  # asked for: every fit's, none skipped
        assert _stored(run.run_id)["artifacts"] == ["training_confusion_matrix.png",
                                                    "training_precision_recall_curve.png",
                                                    "training_roc_curve.png"]
        assert _artifact(run.run_id, "training_roc_curve.png").startswith(b"\x89PNG")


def test_a_multiclass_fit_gets_its_confusion_matrix_only(recorded_runs: RunRecorder) -> None:
    X3, Y3 = make_classification(150, 5, n_informative=3, n_classes=3, random_state=0)
    labels = np.array(["<b>bad</b>", "R&D", "café"])[Y3]
    _enable(log_plots=True)
    model = LogisticRegression().fit(X3, labels)
    assert autolog.flush(60)
    (run,) = recorded_runs.runs().values()
    assert _stored(run.run_id)["artifacts"] == ["training_confusion_matrix.svg"]
    matrix = svg.parse(_artifact(run.run_id, "training_confusion_matrix.svg"))
    names = [str(label) for label in model.classes_]
    assert svg.texts(matrix).count("R&D") == 2  # one per axis, escaped and read back whole
    assert all(name in svg.texts(matrix) for name in names)


@pytest.mark.filterwarnings("ignore::autolog.AutologWarning")
def test_a_plot_that_fails_to_render_is_reported_and_the_rest_is_stored(
        recorded_runs: RunRecorder, monkeypatch: pytest.MonkeyPatch, autolog_errors: Any) -> None:
    from integrations.sklearn import _training_plots

    def broken(*args: Any) -> bytes:
        raise RuntimeError("no room")

    monkeypatch.setattr(_training_plots, "_roc_svg", broken)
    _enable(log_plots=True)
    LogisticRegression().fit(X, Y)
    assert autolog.flush(60)
    (run,) = recorded_runs.runs().values()
    assert run.status == "FINISHED"
    assert any("no room" in error for error in autolog_errors())
    assert _stored(run.run_id)["artifacts"] == ["training_confusion_matrix.svg",
                                                "training_precision_recall_curve.svg"]


def test_silent_keeps_skipped_inputs_quiet(recorded_runs: RunRecorder) -> None:
    import warnings

    from sklearn.tree import DecisionTreeClassifier

    _enable(silent=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DecisionTreeClassifier().fit(X, np.column_stack([Y, 1 - Y]))  # multi-output
    assert not [w for w in caught if issubclass(w.category, autolog.AutologWarning)]
    assert autolog.flush(30) and len(recorded_runs.runs()) == 1


@pytest.mark.parametrize("forest", ["RandomForestClassifier", "ExtraTreesClassifier"])
def test_a_forests_training_predictions_come_from_its_one_pass_of_probabilities(
        recorded_runs: RunRecorder, forest: str) -> None:
    # A forest's predict is the argmax of its predict_proba: autolog walks the trees once for
    # both, and the metrics are still those of what predict returns.
    import sklearn.ensemble
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    base = getattr(sklearn.ensemble, forest)
    passes: list[int] = []

    class CountingForest(base):  # type: ignore[misc, valid-type]
        def predict_proba(self, X):
            passes.append(len(X))
            return super().predict_proba(X)

    labels = np.where(Y == 1, "churned", "stayed")
    _enable()
    model = CountingForest(n_estimators=15, max_depth=3, random_state=0).fit(X, labels)
    assert autolog.flush(30)
    assert passes == [len(X)]
    (run,) = recorded_runs.runs().values()
    got = {key: value for key, value, _ in run.metrics}
    predicted = base.predict(model, X)
    proba = base.predict_proba(model, X)
    assert got["training_accuracy_score"] == pytest.approx(accuracy_score(labels, predicted))
    assert got["training_f1_score"] == pytest.approx(
        f1_score(labels, predicted, pos_label="stayed"))
    assert got["training_log_loss"] == pytest.approx(log_loss(labels, proba))
    assert got["training_roc_auc"] == pytest.approx(roc_auc_score(labels, proba[:, 1]))


def test_labels_outside_classes_get_no_probability_metrics(recorded_runs: RunRecorder) -> None:
    # predict_proba's columns are classes_: with training labels the classifier does not list,
    # no column is known to be theirs, so log loss and ROC AUC are left out, not made up.
    class FixedClasses(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.array(["a", "b", "c"])
            return self

        def predict(self, X):
            return np.full(len(X), "a")

        def predict_proba(self, X):
            return np.tile([0.9, 0.05, 0.05], (len(X), 1))

    _enable()
    FixedClasses().fit(X[:30], np.array(["a", "x", "y"] * 10))
    assert autolog.flush(30)
    (run,) = recorded_runs.runs().values()
    got = {key: value for key, value, _ in run.metrics}
    assert got["training_accuracy_score"] == pytest.approx(1 / 3)
    assert "training_log_loss" not in got and "training_roc_auc" not in got


def test_params_read_like_get_params_deep() -> None:
    from sklearn.ensemble import BaggingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from integrations.sklearn._estimator import _get_params, _param_names

    class OwnParams(LogisticRegression):
        def get_params(self, deep=True):
            return {**super().get_params(deep), "extra": 1}

    for estimator in (LogisticRegression(C=3.0), BaggingClassifier(LogisticRegression(C=2.0)),
                      make_pipeline(StandardScaler(), LogisticRegression()),
                      GridSearchCV(LogisticRegression(), {"C": [1.0]}), OwnParams()):
        expected = estimator.get_params(deep=True)
        got = _get_params(estimator)
        assert list(got.items()) == list(expected.items())
    estimator = LogisticRegression()
    _get_params(estimator)
    hits = _param_names.cache_info().hits
    estimator.set_params(C=0.5)  # the values are read at each call, only the names are kept
    assert _get_params(estimator)["C"] == 0.5
    assert _param_names.cache_info().hits == hits + 1  # the names came from the cache

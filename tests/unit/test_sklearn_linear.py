"""Linear classifiers' training outputs derived from one product equal their own methods'."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_classification
from sklearn.linear_model import (
    LogisticRegression,
    LogisticRegressionCV,
    Perceptron,
    RidgeClassifier,
    SGDClassifier,
)
from sklearn.svm import LinearSVC

from integrations import _linear
from integrations._fit_capture import capture
from integrations._linear import linear_outputs
from integrations._metrics import classification_metrics

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # LogisticRegressionCV

ESTIMATORS = [
    lambda: LogisticRegression(max_iter=500),
    lambda: LogisticRegressionCV(cv=3, max_iter=500),
    lambda: SGDClassifier(loss="log_loss", random_state=0),
    lambda: SGDClassifier(random_state=0),
    lambda: LinearSVC(),
    lambda: Perceptron(random_state=0),
    lambda: RidgeClassifier(),
]


@pytest.fixture(autouse=True)
def _fresh_checks():
    _linear._checked.clear()
    yield
    _linear._checked.clear()


def _data(n_classes: int, labels: str = "int"):
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5,
                               n_classes=n_classes, random_state=n_classes)
    if labels == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("make", ESTIMATORS)
def test_derived_outputs_equal_the_estimators_own(make, n_classes: int) -> None:
    X, y = _data(n_classes, "str")
    estimator = make().fit(X, y)
    for _ in range(2):  # the first call checks against the real methods, the second trusts
        outputs = linear_outputs(estimator, X)
        assert outputs is not None
        assert np.array_equal(outputs.decision, estimator.decision_function(X))
        if isinstance(estimator, RidgeClassifier):
            assert outputs.predicted is None  # its predict is its own, not the mixin's
        else:
            assert np.array_equal(outputs.predicted, estimator.predict(X))
            assert outputs.predicted.dtype == estimator.predict(X).dtype
            assert np.array_equal(estimator.classes_[outputs.positions], outputs.predicted)
        if isinstance(estimator, LogisticRegression):
            assert np.array_equal(outputs.proba, estimator.predict_proba(X))
        else:
            assert outputs.proba is None


@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_metrics_through_the_shortcut_match_sklearn(n_classes: int) -> None:
    X, y = _data(n_classes)
    model = LogisticRegression(max_iter=500).fit(X, y)
    captured = capture(model, X, y, None)
    got = classification_metrics(captured.classifier, with_score=True)
    proba = model.predict_proba(X)
    assert np.array_equal(captured.predictions, model.predict(X))
    assert got["training_accuracy_score"] == pytest.approx(model.score(X, y))
    assert got["training_log_loss"] == pytest.approx(skm.log_loss(y, proba))
    expected_auc = (skm.roc_auc_score(y, proba[:, 1]) if n_classes == 2 else
                    skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted"))
    assert got["training_roc_auc"] == pytest.approx(expected_auc)


def test_linear_svc_auc_comes_from_its_decision_values() -> None:
    X, y = _data(2)
    model = LinearSVC().fit(X, y)
    got = classification_metrics(capture(model, X, y, None).classifier)
    assert got["training_roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, model.decision_function(X)))
    assert "training_log_loss" not in got


@pytest.mark.parametrize("convert", [
    lambda X: X.astype(np.float32),
    lambda X: X.tolist(),
    lambda X: np.asfortranarray(X).astype(np.int64),
])
def test_inputs_other_than_float64_arrays_take_the_usual_path(convert) -> None:
    X, y = _data(2)
    model = LogisticRegression(max_iter=500).fit(convert(X), y)
    assert linear_outputs(model, convert(X)) is None
    captured = capture(model, convert(X), y, None)
    assert np.array_equal(captured.predictions, model.predict(convert(X)))


def test_a_class_whose_derived_outputs_differ_is_never_derived_again(monkeypatch) -> None:
    X, y = _data(2)
    model = LogisticRegression(max_iter=500).fit(X, y)
    real_derive = _linear._derive

    def off_by_a_little(*args):
        outputs = real_derive(*args)
        outputs.proba = outputs.proba + 1e-12
        return outputs

    monkeypatch.setattr(_linear, "_derive", off_by_a_little)
    assert linear_outputs(model, X) is None
    captured = capture(model, X, y, None)  # the usual path: the estimator's own methods
    got = classification_metrics(captured.classifier)
    assert got["training_log_loss"] == pytest.approx(skm.log_loss(y, model.predict_proba(X)))
    monkeypatch.setattr(_linear, "_derive", real_derive)
    assert linear_outputs(model, X) is None  # still off for LogisticRegression, binary
    assert linear_outputs(model.fit(*_data(3)), _data(3)[0]) is not None  # multiclass: checked apart


def test_a_subclass_with_its_own_decision_function_is_not_derived() -> None:
    class Shifted(LogisticRegression):
        def decision_function(self, X):
            return super().decision_function(X) + 1.0

    X, y = _data(2)
    model = Shifted(max_iter=500).fit(X, y)
    assert linear_outputs(model, X) is None
    captured = capture(model, X, y, None)
    assert np.array_equal(captured.predictions, model.predict(X))

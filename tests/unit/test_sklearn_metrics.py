"""The sklearn integration's numpy metrics agree with ``sklearn.metrics``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from integrations._metrics import (
    ClassifierArrays,
    binary_curves,
    classification_metrics,
    encode_labels,
    regression_metrics,
)


def _arrays(y_true, y_pred, proba=None, weights=None, pos_label=None, scores=None):
    classes = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    true_idx = encode_labels(y_true, classes)
    pred_idx = encode_labels(y_pred, classes)
    pos_index = None
    if len(classes) == 2:
        pos_index = int(np.flatnonzero(classes == (pos_label if pos_label is not None
                                                   else classes[1]))[0])
        if scores is None and proba is not None:
            scores = proba[:, pos_index]
    return ClassifierArrays(classes, true_idx, pred_idx, proba, scores, weights, pos_index)


def _random_proba(rng, n, k):
    raw = rng.random((n, k)) + 0.05
    return raw / raw.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_metrics_match_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 300)
    proba = _random_proba(rng, 300, 2)
    proba[:40] = [0.5, 0.5]  # ties in the scores
    y_pred = proba.argmax(axis=1)
    weights = rng.random(300) if weighted else None
    got = classification_metrics(_arrays(y_true, y_pred, proba, weights), with_score=True)
    kw = {"sample_weight": weights}
    assert got["training_accuracy_score"] == pytest.approx(skm.accuracy_score(y_true, y_pred, **kw))
    assert got["training_precision_score"] == pytest.approx(
        skm.precision_score(y_true, y_pred, **kw))
    assert got["training_recall_score"] == pytest.approx(skm.recall_score(y_true, y_pred, **kw))
    assert got["training_f1_score"] == pytest.approx(skm.f1_score(y_true, y_pred, **kw))
    assert got["training_log_loss"] == pytest.approx(skm.log_loss(y_true, proba, **kw))
    assert got["training_roc_auc"] == pytest.approx(skm.roc_auc_score(y_true, proba[:, 1], **kw))
    assert got["training_score"] == pytest.approx(skm.accuracy_score(y_true, y_pred))


def test_binary_string_labels_with_the_other_positive_label() -> None:
    rng = np.random.default_rng(1)
    y_true = rng.choice(["no", "yes"], 200)
    proba = _random_proba(rng, 200, 2)
    y_pred = np.array(["no", "yes"])[proba.argmax(axis=1)]
    got = classification_metrics(_arrays(y_true, y_pred, proba, pos_label="no"))
    assert got["training_precision_score"] == pytest.approx(
        skm.precision_score(y_true, y_pred, pos_label="no"))
    assert got["training_roc_auc"] == pytest.approx(
        skm.roc_auc_score(y_true == "no", proba[:, 0]))


@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_metrics_match_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 4, 400)
    proba = _random_proba(rng, 400, 4)
    y_pred = proba.argmax(axis=1)
    weights = rng.random(400) if weighted else None
    got = classification_metrics(_arrays(y_true, y_pred, proba, weights))
    kw = {"sample_weight": weights, "average": "weighted"}
    assert got["training_precision_score"] == pytest.approx(
        skm.precision_score(y_true, y_pred, zero_division=0, **kw))
    assert got["training_recall_score"] == pytest.approx(skm.recall_score(y_true, y_pred, **kw))
    assert got["training_f1_score"] == pytest.approx(skm.f1_score(y_true, y_pred, **kw))
    assert got["training_log_loss"] == pytest.approx(
        skm.log_loss(y_true, proba, sample_weight=weights))
    assert got["training_roc_auc"] == pytest.approx(
        skm.roc_auc_score(y_true, proba, multi_class="ovr", **kw))


def test_a_class_never_predicted_scores_zero_without_warning() -> None:
    y_true = np.array([0, 1, 2, 2, 1, 0])
    y_pred = np.array([0, 1, 1, 1, 1, 0])
    got = classification_metrics(_arrays(y_true, y_pred))
    assert got["training_precision_score"] == pytest.approx(
        skm.precision_score(y_true, y_pred, average="weighted", zero_division=0))
    assert "training_roc_auc" not in got and "training_log_loss" not in got


def test_encode_labels_handles_unsorted_classes_and_reports_unknown_ones() -> None:
    classes = np.array(["b", "a", "c"], dtype=object)
    assert encode_labels(["a", "c", "b"], classes).tolist() == [1, 2, 0]
    assert encode_labels(["a", "z"], classes) is None
    assert encode_labels([1, "a"], np.array([1, "a"], dtype=object)) is None  # unorderable


def test_encode_labels_of_integer_classes_zero_to_k() -> None:
    classes = np.arange(3)
    labels = np.array([2, 0, 1, 1], dtype=np.int32)
    encoded = encode_labels(labels, classes)
    assert encoded.tolist() == [2, 0, 1, 1]
    labels[0] = 0  # the caller's labels may change afterwards; the positions do not
    assert encoded.tolist() == [2, 0, 1, 1]
    assert encode_labels(np.array([0, 3]), classes) is None
    assert encode_labels(np.array([-1, 0]), classes) is None
    assert encode_labels(np.array([1, 2]), np.array([1, 2])).tolist() == [0, 1]  # not 0..k-1


@pytest.mark.parametrize("weighted", [False, True])
def test_curves_match_sklearn_with_their_auc_and_average_precision(weighted: bool) -> None:
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, 5000)
    proba = _random_proba(rng, 5000, 2)
    proba[:300] = [0.5, 0.5]  # ties
    weights = rng.random(5000) if weighted else None
    curves = binary_curves(_arrays(y_true, proba.argmax(axis=1), proba, weights))
    fpr, tpr, _ = skm.roc_curve(y_true, proba[:, 1], sample_weight=weights,
                                drop_intermediate=False)
    np.testing.assert_allclose(curves.fpr, fpr)  # every point: the plot thins for drawing
    np.testing.assert_allclose(curves.tpr, tpr)
    assert curves.auc == pytest.approx(skm.roc_auc_score(y_true, proba[:, 1],
                                                         sample_weight=weights))
    assert curves.average_precision == pytest.approx(
        skm.average_precision_score(y_true, proba[:, 1], sample_weight=weights))
    assert curves.prevalence == pytest.approx(np.average(y_true, weights=weights))
    assert curves.recall[0] == 0.0 and curves.recall[-1] == 1.0
    assert np.all(np.diff(curves.recall) >= 0)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_match_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(4)
    y_true = rng.normal(size=(250, 2))
    y_pred = y_true + rng.normal(scale=0.3, size=(250, 2))
    weights = rng.random(250) if weighted else None
    got = regression_metrics(y_true, y_pred, weights, with_score=True)
    kw = {"sample_weight": weights}
    assert got["training_mean_squared_error"] == pytest.approx(
        skm.mean_squared_error(y_true, y_pred, **kw))
    assert got["training_root_mean_squared_error"] == pytest.approx(
        skm.root_mean_squared_error(y_true, y_pred, **kw))
    assert got["training_mean_absolute_error"] == pytest.approx(
        skm.mean_absolute_error(y_true, y_pred, **kw))
    assert got["training_r2_score"] == pytest.approx(skm.r2_score(y_true, y_pred, **kw))
    assert got["training_score"] == pytest.approx(skm.r2_score(y_true, y_pred))


def test_constant_target_r2_is_finite() -> None:
    got = regression_metrics([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], None)
    assert got["training_r2_score"] == 1.0
    got = regression_metrics([1.0, 1.0, 1.0], [1.0, 2.0, 1.0], None)
    assert got["training_r2_score"] == 0.0

"""Training metrics from arrays autolog owns: plain numpy, no ``sklearn.metrics``.

Why not ``sklearn.metrics``: each of its functions re-validates its inputs, which costs more
than the arithmetic (about a millisecond per metric on 500 rows, several per fit), and the
budget for everything autolog does around a small fit is two milliseconds. The formulas are
the ones scikit-learn documents, and ``tests/unit/test_sklearn_metrics.py`` checks each
against ``sklearn.metrics`` on binary, multiclass, weighted and tied inputs.

Class labels arrive *encoded*: ``y_true`` / ``y_pred`` are integer positions in ``classes``
(the column order of ``predict_proba``), built on the caller's thread from the user's ``y``.
Those arrays are autolog's own, so the functions here can run later, on another thread,
whatever the user does to their data meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_EPS = float(np.finfo(np.float64).eps)


@dataclass
class ClassifierArrays:
    """What classification metrics and plots need; every array is autolog's own."""

    classes: np.ndarray  # labels, in predict_proba's column order
    y_true: np.ndarray  # int positions in ``classes``
    y_pred: np.ndarray  # int positions in ``classes``
    proba: np.ndarray | None = None  # (n_samples, n_classes)
    scores: np.ndarray | None = None  # binary only: higher means ``classes[pos_index]``
    weights: np.ndarray | None = None  # sample_weight, if the fit had one
    pos_index: int | None = None  # binary only: position of the positive label


def encode_labels(values: Any, classes: np.ndarray) -> np.ndarray | None:
    """Positions of ``values`` in ``classes`` (which need not be sorted); None if one is missing."""
    values = np.asarray(values)
    if values.ndim != 1 or classes.ndim != 1 or classes.size == 0:
        return None
    if values.dtype.kind in "iu" and classes.dtype.kind in "iu" and values.size \
            and classes.tolist() == list(range(classes.size)):
        # Labels 0..k-1, scikit-learn's classes_ for integer targets: each label is its own
        # position (a copy: the caller's labels may change before the arrays are used).
        if values.min() < 0 or values.max() >= classes.size:
            return None
        return values.astype(np.intp)
    if classes.dtype == object and values.dtype != object:
        values = values.astype(object)
    elif values.dtype == object and classes.dtype != object:
        classes = classes.astype(object)
    try:
        order = np.argsort(classes, kind="stable")
        ordered = classes[order]
        positions = np.searchsorted(ordered, values)
    except TypeError:  # labels of mixed, unorderable types
        return None
    positions = np.clip(positions, 0, len(ordered) - 1)
    if not np.array_equal(ordered[positions], values):
        return None
    return order[positions]


# -- classification -------------------------------------------------------------------------
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Rows: true class, columns: predicted class (scikit-learn's layout)."""
    cells = np.bincount(y_true * n_classes + y_pred, weights=weights,
                        minlength=n_classes * n_classes)
    return cells.reshape(n_classes, n_classes)


def classification_metrics(arrays: ClassifierArrays, prefix: str = "training_",
                           *, with_score: bool = False) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (binary: of the positive label; else support-weighted),
    log loss and ROC AUC where probabilities (or binary scores) exist.

    ``with_score`` adds ``<prefix>score``: the unweighted accuracy, which is what
    ``ClassifierMixin.score(X, y)`` returns.
    """
    n_classes = len(arrays.classes)
    y_true, y_pred, weights = arrays.y_true, arrays.y_pred, arrays.weights
    matrix = confusion_matrix(y_true, y_pred, n_classes, weights)
    if n_classes == 2 and arrays.pos_index is not None:
        metrics = _binary_label_metrics(matrix, arrays.pos_index, prefix)
    else:
        metrics = _multiclass_label_metrics(matrix, prefix)
    if not metrics:
        return metrics
    if arrays.proba is not None and arrays.proba.shape == (len(y_true), n_classes):
        metrics[f"{prefix}log_loss"] = log_loss(y_true, arrays.proba, weights)
    auc = roc_auc(arrays)
    if auc is not None:
        metrics[f"{prefix}roc_auc"] = auc
    if with_score:  # unweighted accuracy; the same number as accuracy_score without weights
        metrics[f"{prefix}score"] = (metrics[f"{prefix}accuracy_score"] if weights is None
                                     else float(np.mean(y_true == y_pred)))
    return metrics


def _binary_label_metrics(matrix: np.ndarray, pos_index: int, prefix: str) -> dict[str, float]:
    """From the four cells as Python numbers: a dozen numpy calls on 2x2 arrays cost more."""
    (first_first, first_second), (second_first, second_second) = matrix.tolist()
    total = first_first + first_second + second_first + second_second
    if total <= 0:
        return {}
    if pos_index == 1:
        hits, false_alarms, misses = second_second, first_second, second_first
    else:
        hits, false_alarms, misses = first_first, second_first, first_second
    return {
        f"{prefix}accuracy_score": (first_first + second_second) / total,
        f"{prefix}precision_score": _ratio(hits, hits + false_alarms),
        f"{prefix}recall_score": _ratio(hits, hits + misses),
        f"{prefix}f1_score": _ratio(2 * hits, 2 * hits + false_alarms + misses),
    }


def _multiclass_label_metrics(matrix: np.ndarray, prefix: str) -> dict[str, float]:
    """Support-weighted precision, recall and F1 (scikit-learn's ``average="weighted"``)."""
    total = matrix.sum()
    if total <= 0:
        return {}
    true_positive = np.diag(matrix)
    actual = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    support = actual / total
    return {
        f"{prefix}accuracy_score": float(true_positive.sum() / total),
        f"{prefix}precision_score": float(_safe_divide(true_positive, predicted) @ support),
        f"{prefix}recall_score": float(_safe_divide(true_positive, actual) @ support),
        f"{prefix}f1_score": float(_safe_divide(2 * true_positive, actual + predicted) @ support),
    }


def _ratio(numerator: float, denominator: float) -> float:
    """0 where the denominator is 0, like :func:`_safe_divide`."""
    return float(numerator / denominator) if denominator else 0.0


def log_loss(y_true: np.ndarray, proba: np.ndarray, weights: np.ndarray | None) -> float:
    """Mean negative log-likelihood of the true class; probabilities clipped at the dtype's
    machine epsilon, as scikit-learn does."""
    proba = np.asarray(proba, dtype=np.float64)
    picked = np.clip(proba[np.arange(len(y_true)), y_true], _EPS, 1 - _EPS)
    logs = np.log(picked)
    return float(-(logs.mean() if weights is None else np.average(logs, weights=weights)))


def roc_auc(arrays: ClassifierArrays) -> float | None:
    """Binary: from the positive scores. Multiclass: one-vs-rest, weighted by class support
    (needs probabilities). None where undefined (a class absent, no scores)."""
    n_classes = len(arrays.classes)
    if n_classes == 2 and arrays.scores is not None and arrays.pos_index is not None:
        return binary_auc(arrays.y_true == arrays.pos_index, arrays.scores, arrays.weights)
    if n_classes > 2 and arrays.proba is not None and arrays.proba.shape[1] == n_classes:
        weights = arrays.weights
        aucs, supports = [], []
        for position in range(n_classes):
            positive = arrays.y_true == position
            auc = binary_auc(positive, arrays.proba[:, position], weights)
            if auc is None:
                return None
            aucs.append(auc)
            supports.append(positive.sum() if weights is None else weights[positive].sum())
        support = np.asarray(supports, dtype=np.float64)
        return float(np.dot(aucs, support) / support.sum()) if support.sum() > 0 else None
    return None


def binary_auc(positive: np.ndarray, scores: np.ndarray,
               weights: np.ndarray | None) -> float | None:
    curve = binary_curve(positive, scores, weights)
    if curve is None:
        return None
    false_positives, true_positives, _ = curve
    fpr = np.concatenate(([0.0], false_positives / false_positives[-1]))
    tpr = np.concatenate(([0.0], true_positives / true_positives[-1]))
    return _area(fpr, tpr)


def _area(x: np.ndarray, y: np.ndarray) -> float:
    """The trapezoidal rule (``np.trapezoid``'s arithmetic without its generic overhead)."""
    return float(np.dot(x[1:] - x[:-1], y[1:] + y[:-1]) / 2.0)


def binary_curve(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Cumulative (weighted) false and true positives at each distinct score, highest first.

    None when the curve is undefined: no positives or no negatives, or non-finite scores.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.shape != positive.shape or not np.all(np.isfinite(scores)):
        return None
    order = np.argsort(-scores, kind="mergesort")
    ranked = scores[order]
    hits = positive[order].astype(np.float64)
    last_of_each = np.append(np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1)
    if weights is None:  # counts: what is not a hit up to a row is a false positive
        true_positives = np.cumsum(hits)[last_of_each]
        false_positives = (last_of_each + 1.0) - true_positives
    else:
        weight = np.asarray(weights, np.float64)[order]
        true_positives = np.cumsum(hits * weight)[last_of_each]
        false_positives = np.cumsum((1.0 - hits) * weight)[last_of_each]
    if true_positives[-1] <= 0 or false_positives[-1] <= 0:
        return None
    return false_positives, true_positives, ranked[last_of_each]


@dataclass
class Curves:
    """The ROC and precision-recall curves of a binary classifier, one point per distinct
    score (the plots thin them for drawing), with the numbers their legends show."""

    fpr: np.ndarray
    tpr: np.ndarray
    recall: np.ndarray
    precision: np.ndarray
    auc: float
    average_precision: float
    prevalence: float  # the positive class' (weighted) share: the precision of a guess
    positive_label: str


def binary_curves(arrays: ClassifierArrays) -> Curves | None:
    if len(arrays.classes) != 2 or arrays.scores is None or arrays.pos_index is None:
        return None
    curve = binary_curve(arrays.y_true == arrays.pos_index, arrays.scores, arrays.weights)
    if curve is None:
        return None
    false_positives, true_positives, _ = curve
    fpr = np.r_[0.0, false_positives / false_positives[-1]]
    tpr = np.r_[0.0, true_positives / true_positives[-1]]
    precision = np.r_[1.0, true_positives / (true_positives + false_positives)]
    recall = tpr.copy()
    # scikit-learn's average_precision_score: each precision weighted by the recall it adds.
    average_precision = float(np.dot(np.diff(recall), precision[1:]))
    return Curves(fpr, tpr, recall, precision, _area(fpr, tpr), average_precision,
                  float(precision[-1]), str(arrays.classes[arrays.pos_index]))


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """0 where the denominator is 0 (scikit-learn's ``zero_division`` result, minus its
    warning: a training-set metric is no place for an UndefinedMetricWarning)."""
    out = np.zeros(np.shape(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


# -- regression -----------------------------------------------------------------------------
def regression_metrics(y_true: Any, y_pred: Any, weights: np.ndarray | None,
                       prefix: str = "training_", *, with_score: bool = False
                       ) -> dict[str, float]:
    """MSE, RMSE, MAE and R²; multi-output targets average the outputs uniformly, as
    scikit-learn's defaults do. ``with_score`` adds the unweighted R² as ``<prefix>score``
    (what ``RegressorMixin.score(X, y)`` returns)."""
    truth = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(y_pred, dtype=np.float64)
    if truth.ndim == 1:
        truth = truth[:, None]
    if predicted.ndim == 1:
        predicted = predicted[:, None]
    if truth.shape != predicted.shape or truth.shape[0] == 0:
        return {}
    residual = truth - predicted
    mse = np.average(residual**2, axis=0, weights=weights)
    metrics = {
        f"{prefix}mean_squared_error": float(mse.mean()),
        f"{prefix}root_mean_squared_error": float(np.sqrt(mse).mean()),
        f"{prefix}mean_absolute_error": float(np.average(np.abs(residual), axis=0,
                                                         weights=weights).mean()),
        f"{prefix}r2_score": _r2(truth, residual, weights),
    }
    if with_score:
        metrics[f"{prefix}score"] = (metrics[f"{prefix}r2_score"] if weights is None
                                     else _r2(truth, residual, None))
    return metrics


def _r2(truth: np.ndarray, residual: np.ndarray, weights: np.ndarray | None) -> float:
    mean = np.average(truth, axis=0, weights=weights)
    w = np.ones(truth.shape[0]) if weights is None else weights
    residual_ss = (w[:, None] * residual**2).sum(axis=0)
    total_ss = (w[:, None] * (truth - mean) ** 2).sum(axis=0)
    # scikit-learn's force_finite: a constant target scores 1 if predicted exactly, else 0
    r2 = np.where(total_ss != 0, 1 - _safe_divide(residual_ss, total_ss),
                  np.where(residual_ss == 0, 1.0, 0.0))
    return float(r2.mean())

"""Training metrics of a fitted estimator: what runs on the caller's thread, and what not.

Shared by the scikit-learn and XGBoost integrations (an ``XGBClassifier`` has scikit-learn's
estimator API, so its run reads like any scikit-learn classifier's).

On the caller's thread, right after ``fit`` returns (the estimator can change as soon as the
user's code goes on):

- predictions on the training data (``predict``, ``predict_proba`` or ``decision_function``);
  a linear classifier's from one product with its coefficients (:mod:`integrations._linear`);
- the labels encoded as integer positions: new arrays, so the user's ``y`` is never copied,
  nor read again later;
- regression metrics, a few vectorized passes over the residuals (microseconds);
- ``score`` when the estimator defines its own (the default mixin scores are derived from the
  predictions instead of predicting twice).

Later, from those arrays only (see ``integrations.sklearn._estimator.report_training``): the classification
arithmetic (confusion matrix, precision, recall, F1, log loss, ROC AUC, which sorts), the plots
and the silhouette of clusterers (on at most ``SILHOUETTE_ROWS`` sampled rows; quadratic in
them), all on autolog's writer thread.

Inputs a metric cannot use are skipped with one ``AutologWarning`` per kind (multi-output
classification, labels outside ``classes_``, a ``predict`` that fails); the fit is never
affected. Inputs autolog cannot read twice (generators, iterators) are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autolog._guard import is_silenced, user_stacklevel
from autolog._warnings import warn_once
from integrations._linear import linear_outputs
from integrations._metrics import ClassifierArrays, encode_labels, regression_metrics

logger = logging.getLogger("autolog.integrations.sklearn")

SILHOUETTE_ROWS = 1000
_REREADABLE_TOP_MODULES = ("numpy", "scipy", "pandas", "polars")
#: ``predict`` implementations that are, line for line, ``classes_.take(argmax(predict_proba(X)))``
#: for a single output. Their training predictions are taken from the probabilities autolog
#: needs anyway: one pass over the model instead of two (a forest walks every tree in each).
_PREDICT_IS_ARGMAX_OF_PROBA = frozenset({"sklearn.ensemble._forest.ForestClassifier.predict"})


@dataclass
class Captured:
    """Metrics known now, and the arrays for the ones computed off the caller's thread."""

    metrics: dict[str, float] = field(default_factory=dict)
    classifier: ClassifierArrays | None = None
    derive_score: bool = False  # classifier: training_score is the unweighted accuracy
    silhouette_rows: tuple[Any, np.ndarray] | None = None  # (sampled X, their labels)
    #: What ``predict`` returned on the training data, when it was called here.
    predictions: Any = None


def estimator_type(estimator: Any) -> str | None:
    """"classifier", "regressor", "clusterer", "outlier_detector", ... or None."""
    try:
        from sklearn.utils import get_tags

        return get_tags(estimator).estimator_type
    except Exception:  # older scikit-learn, or a third-party estimator without tags
        return getattr(estimator, "_estimator_type", None)


def rereadable(data: Any) -> bool:
    """Whether autolog may read ``data`` again after the fit (a generator may not be)."""
    if isinstance(data, (list, tuple, np.ndarray)):
        return True
    return type(data).__module__.partition(".")[0] in _REREADABLE_TOP_MODULES


def capture(estimator: Any, X: Any, y: Any, sample_weight: Any, *, pos_label: Any = None,
            labels: Any = None) -> Captured:
    """Predict on the training data and keep what the metrics need (caller's thread).

    ``labels``: what ``fit_predict`` returned, reused instead of predicting again.
    """
    captured = Captured()
    if not rereadable(X) or (y is not None and not rereadable(y)):
        return captured
    kind = estimator_type(estimator)
    default_score = _default_score(estimator)
    if kind == "classifier" and y is not None:
        _capture_classifier(captured, estimator, X, y, sample_weight, pos_label, labels,
                            default_score == "classifier")
    elif kind == "regressor" and y is not None:
        predicted = labels if labels is not None else _call(estimator, "predict", X)
        if labels is None:
            captured.predictions = predicted
        if predicted is not None:
            captured.metrics.update(regression_metrics(
                y, predicted, _weights(sample_weight, _length(y)),
                with_score=default_score == "regressor"))
    elif kind == "clusterer":
        _capture_clusterer(captured, estimator, X, labels)
    if not _score_is_derived(captured, kind, default_score) and hasattr(estimator, "score"):
        score = _call(estimator, "score", X, *(() if y is None else (y,)), quiet=True)
        if score is not None and np.ndim(score) == 0:
            captured.metrics["training_score"] = float(score)
    return captured


def _score_is_derived(captured: Captured, kind: str | None, default_score: str | None) -> bool:
    if default_score == "regressor":
        return "training_score" in captured.metrics
    return default_score == "classifier" and captured.derive_score


def _capture_classifier(captured: Captured, estimator: Any, X: Any, y: Any, sample_weight: Any,
                        pos_label: Any, labels: Any, derive_score: bool) -> None:
    truth = np.asarray(y)
    if truth.ndim == 2 and truth.shape[1] == 1:
        truth = truth.ravel()
    if truth.ndim != 1:
        warn_skipped("multioutput", "training metrics of multi-output classifiers are not "
                     "computed (training_score still is, where the estimator's score supports it)")
        return
    # ``positions``: where each prediction sits in classes_, when a shortcut already knows
    proba = predicted = positions = None
    linear = linear_outputs(estimator, X) if labels is None else None
    if linear is not None:
        proba, predicted, positions = linear.proba, linear.predicted, linear.positions
    elif labels is None and _predict_is_argmax_of_proba(estimator):
        proba = _probabilities(estimator, X, len(truth), len(estimator.classes_))
        if proba is not None:
            positions = np.argmax(proba, axis=1)
            predicted = np.asarray(estimator.classes_).take(positions, axis=0)
    if predicted is None:
        predicted = labels if labels is not None else _call(estimator, "predict", X)
    if predicted is None:
        return
    if labels is None:
        captured.predictions = predicted
    predicted = np.asarray(predicted)
    if predicted.ndim == 2 and predicted.shape[1] == 1:
        predicted = predicted.ravel()
    own_classes = getattr(estimator, "classes_", None)
    own_classes = np.asarray(own_classes) if own_classes is not None else None
    encoded = _encode(truth, predicted, own_classes, positions)
    if encoded is None:
        warn_skipped("labels", "training metrics skipped: the labels could not be matched with "
                     "the classifier's classes_ (mixed or unorderable label types?)")
        return
    classes, true_positions, predicted_positions = encoded
    weights = _weights(sample_weight, len(truth))
    # predict_proba's columns and decision_function's sign follow classes_: with labels
    # outside it, no column is known to be a label's, so no probability metrics.
    in_column_order = classes is own_classes
    if not in_column_order:
        proba = None
    elif proba is None:
        proba = _probabilities(estimator, X, len(truth), len(classes))
    pos_index = _positive_index(classes, pos_label) if len(classes) == 2 else None
    scores = None
    if pos_index is not None and in_column_order:
        if proba is not None:
            scores = proba[:, pos_index]
        elif linear is not None and linear.decision.ndim == 1:
            scores = linear.decision if pos_index == 1 else -linear.decision
        else:
            scores = _binary_scores(estimator, X, pos_index)
    captured.classifier = ClassifierArrays(classes, true_positions, predicted_positions, proba,
                                           scores, weights, pos_index)
    captured.derive_score = derive_score


def _predict_is_argmax_of_proba(estimator: Any) -> bool:
    predict = getattr(type(estimator), "predict", None)
    name = f"{getattr(predict, '__module__', '')}.{getattr(predict, '__qualname__', '')}"
    return (name in _PREDICT_IS_ARGMAX_OF_PROBA and getattr(estimator, "n_outputs_", None) == 1
            and np.ndim(getattr(estimator, "classes_", None)) == 1)


def _encode(truth: np.ndarray, predicted: np.ndarray, classes: np.ndarray | None,
            predicted_positions: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(classes, truth's positions, predictions' positions)``: in ``classes`` (the
    estimator's classes_, whose positions the predictions may already come with) where every
    label is one of them, else in the sorted union of both label sets."""
    if predicted.shape != truth.shape:
        return None
    if classes is not None and classes.ndim == 1:
        true_positions = encode_labels(truth, classes)
        if predicted_positions is None:
            predicted_positions = encode_labels(predicted, classes)
        if true_positions is not None and predicted_positions is not None:
            return classes, true_positions, predicted_positions
    try:
        classes = np.unique(np.concatenate([truth.astype(object), predicted.astype(object)]))
    except TypeError:
        return None
    true_positions = encode_labels(truth, classes)
    predicted_positions = encode_labels(predicted, classes)
    if true_positions is None or predicted_positions is None:
        return None
    return classes, true_positions, predicted_positions


def _probabilities(estimator: Any, X: Any, n_samples: int, n_classes: int) -> np.ndarray | None:
    if not hasattr(estimator, "predict_proba"):  # also False when available_if says no
        return None
    proba = _call(estimator, "predict_proba", X, quiet=True)
    if proba is None:
        return None
    proba = np.asarray(proba, dtype=np.float64)
    return proba if proba.shape == (n_samples, n_classes) else None


def _binary_scores(estimator: Any, X: Any, pos_index: int) -> np.ndarray | None:
    if not hasattr(estimator, "decision_function"):
        return None
    scores = _call(estimator, "decision_function", X, quiet=True)
    if scores is None or np.ndim(scores) != 1:
        return None
    scores = np.asarray(scores, dtype=np.float64)
    return scores if pos_index == 1 else -scores  # positive decision values mean classes_[1]


def _positive_index(classes: np.ndarray, pos_label: Any) -> int:
    if pos_label is not None:
        matches = np.flatnonzero(classes == pos_label)
        if matches.size:
            return int(matches[0])
        warn_skipped("pos-label", f"pos_label={pos_label!r} is not one of the classes "
                     f"{classes.tolist()}; binary metrics use {classes[1]!r} instead")
    return 1


def _capture_clusterer(captured: Captured, estimator: Any, X: Any, labels: Any) -> None:
    inertia = getattr(estimator, "inertia_", None)
    if inertia is not None and np.ndim(inertia) == 0:
        captured.metrics["training_inertia"] = float(inertia)
    labels = labels if labels is not None else getattr(estimator, "labels_", None)
    if labels is None:
        return
    labels = np.asarray(labels)
    n_samples = _length(X)
    if labels.ndim != 1 or n_samples is None or len(labels) != n_samples or n_samples < 3:
        return
    rows = None
    if n_samples > SILHOUETTE_ROWS:
        rows = np.unique(np.linspace(0, n_samples - 1, SILHOUETTE_ROWS).round().astype(np.intp))
    sampled = _take_rows(X, rows)
    if sampled is None:
        return
    picked = labels if rows is None else labels[rows]
    if 2 <= len(np.unique(picked)) < len(picked):
        captured.silhouette_rows = (sampled, np.array(picked, copy=True))


def _take_rows(X: Any, rows: np.ndarray | None) -> Any:
    """The sampled rows as autolog's own numeric array (a copy of at most 1,000 rows)."""
    top = type(X).__module__.partition(".")[0]
    if top == "scipy" and hasattr(X, "tocsr"):
        matrix = X.tocsr() if rows is not None else X.copy()
        return matrix[rows] if rows is not None else matrix
    if top == "pandas":
        X = X if rows is None else X.iloc[rows]
        values = X.to_numpy()
    elif top == "polars":
        X = X if rows is None else X[rows]
        values = X.to_numpy()
    else:
        values = np.asarray(X) if rows is None else np.asarray(X)[rows]
    if values.dtype.kind not in "biuf":
        return None
    return np.array(values, dtype=np.float64, copy=True) if rows is None else values


def _default_score(estimator: Any) -> str | None:
    """Which mixin ``score`` the estimator (a pipeline: its last step) inherits, if any."""
    from sklearn.base import ClassifierMixin, RegressorMixin

    final = estimator
    if hasattr(type(estimator), "_final_estimator") and hasattr(estimator, "steps"):
        final = estimator.steps[-1][1] if estimator.steps else None
    score = getattr(type(final), "score", None)
    if score is ClassifierMixin.score:
        return "classifier"
    if score is RegressorMixin.score:
        return "regressor"
    return None


def _weights(sample_weight: Any, n_samples: int | None) -> np.ndarray | None:
    """``sample_weight`` as autolog's own float array, or None (uniform, or unusable)."""
    if sample_weight is None or n_samples is None:
        return None
    try:
        weights = np.array(sample_weight, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        return None
    if weights.shape != (n_samples,) or not np.all(np.isfinite(weights)) or weights.sum() <= 0:
        return None  # a scalar weight (uniform), or one the metrics cannot use
    return weights


def _length(data: Any) -> int | None:
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and shape:
        return int(shape[0])
    try:
        return len(data)
    except TypeError:
        return None


def _call(estimator: Any, method: str, *args: Any, quiet: bool = False) -> Any:
    """``estimator.method(*args)``; None, with one warning unless ``quiet``, if it raises.

    Its failure is the estimator's, not autolog's: skipped, never re-raised, not reported as
    an autolog error.
    """
    function: Callable[..., Any] | None = getattr(estimator, method, None)
    if function is None:
        return None
    try:
        return function(*args)
    except Exception as exc:
        logger.debug("%s.%s on the training data failed", type(estimator).__name__, method,
                     exc_info=True)
        if not quiet:
            warn_skipped(f"{method}-failed:{type(estimator).__qualname__}",
                         f"training metrics of {type(estimator).__name__} skipped: {method} on "
                         f"the training data raised {type(exc).__name__}: {exc}")
        return None


def warn_skipped(kind: str, message: str) -> None:
    """One AutologWarning per kind of input autolog skipped (a debug log with ``silent``)."""
    if is_silenced():
        logger.debug("autolog: %s", message)
        return
    warn_once(f"sklearn:{kind}", f"autolog: {message}", stacklevel=user_stacklevel())

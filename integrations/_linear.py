"""Training predictions of linear classifiers without scikit-learn's per-call input checks.

LogisticRegression, SGDClassifier, LinearSVC, Perceptron, RidgeClassifier... score rows with
``LinearClassifierMixin.decision_function``: ``X @ coef_.T + intercept_``. On a small training
set that product costs ~3 us, while the input validation each of ``predict``,
``predict_proba`` and ``decision_function`` runs first costs ~100 us (scikit-learn 1.9): more
than all the training-metric arithmetic together. The training ``X`` was validated by the fit
that just succeeded on it, so for a float64 numpy ``X`` autolog computes the decision values
once and derives the predictions (and LogisticRegression's probabilities) from them with the
same numpy operations scikit-learn's methods use.

Exact or not at all: the first time a class goes through here (binary and multiclass apart),
the derived arrays are compared element for element with what the estimator's own methods
return, and used only if identical; a difference (a scikit-learn version that computes them
another way) turns the shortcut off for that class for the rest of the process.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger("autolog.integrations.sklearn")


@dataclass
class LinearOutputs:
    """What the estimator's own methods would return on the training data."""

    decision: np.ndarray  # decision_function(X)
    predicted: np.ndarray | None  # predict(X); None where predict is not the mixin's
    positions: np.ndarray | None  # where each prediction sits in classes_ (with ``predicted``)
    proba: np.ndarray | None  # predict_proba(X); None where it is not LogisticRegression's


#: (class, binary) -> whether the derived outputs matched the real ones on first use. Two
#: threads checking one class at once both store the same verdict: no lock needed.
_checked: dict[tuple[type, bool], bool] = {}


def linear_outputs(estimator: Any, X: Any) -> LinearOutputs | None:
    """The training outputs of a linear classifier, or None where the shortcut does not apply
    (then the caller calls the estimator's methods as usual)."""
    methods = _mixin_methods()
    cls = type(estimator)
    if (methods is None or type(X) is not np.ndarray or X.ndim != 2 or X.dtype != np.float64
            or getattr(cls, "decision_function", None) is not methods[0]):
        return None
    classes = getattr(estimator, "classes_", None)
    coef = getattr(estimator, "coef_", None)
    if (type(classes) is not np.ndarray or classes.ndim != 1 or len(classes) < 2
            or type(coef) is not np.ndarray or coef.dtype != np.float64
            or coef.shape[-1] != X.shape[1]):
        return None
    key = (cls, len(classes) == 2)
    verdict = _checked.get(key)
    if verdict is False:
        return None
    try:
        derived = _derive(estimator, X, classes, coef, methods)
    except Exception:  # an attribute of an unexpected shape: the usual path handles it
        logger.debug("no shortcut for %s", cls.__name__, exc_info=True)
        return None
    if verdict is None:
        matches = _checked[key] = _same_as_own_methods(estimator, X, derived)
        if not matches:
            logger.debug("%s: derived training outputs differ from its own; not derived "
                         "again in this process", cls.__name__)
            return None
    return derived


@functools.lru_cache(maxsize=1)
def _mixin_methods() -> tuple[Any, Any, Any] | None:
    """scikit-learn's (decision_function, predict, LogisticRegression.predict_proba)."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.linear_model._base import LinearClassifierMixin
    except ImportError:  # a scikit-learn that moved them: no shortcut
        return None
    return (LinearClassifierMixin.decision_function, LinearClassifierMixin.predict,
            LogisticRegression.predict_proba)


def _derive(estimator: Any, X: np.ndarray, classes: np.ndarray, coef: np.ndarray,
            methods: tuple[Any, Any, Any]) -> LinearOutputs:
    cls = type(estimator)
    coef_t = coef.T if coef.ndim == 2 else coef
    decision = X @ coef_t + estimator.intercept_
    if decision.ndim > 1 and decision.shape[1] == 1:
        decision = decision.reshape(-1)
    predicted = indices = None
    if getattr(cls, "predict", None) is methods[1]:
        indices = ((decision > 0).astype(np.intp) if decision.ndim == 1
                   else np.argmax(decision, axis=1))
        predicted = classes.take(indices, axis=0)
    proba = None
    if getattr(cls, "predict_proba", None) is methods[2]:
        proba = _logistic_probabilities(decision)
    return LinearOutputs(decision, predicted, indices, proba)


def _logistic_probabilities(decision: np.ndarray) -> np.ndarray:
    """LogisticRegression's: the logistic of the binary score, else the softmax of the rows."""
    if decision.ndim == 1:
        proba = np.empty((len(decision), 2))
        _expit()(decision, out=proba[:, 1])
        np.subtract(1, proba[:, 1], out=proba[:, 0])
        return proba
    exp = decision - np.max(decision, axis=1).reshape(-1, 1)
    np.exp(exp, out=exp)
    exp /= np.sum(exp, axis=1).reshape(-1, 1)
    return exp


@functools.lru_cache(maxsize=1)
def _expit() -> Any:
    from scipy.special import expit

    return expit


def _same_as_own_methods(estimator: Any, X: np.ndarray, derived: LinearOutputs) -> bool:
    try:
        if not _identical(estimator.decision_function(X), derived.decision):
            return False
        if derived.predicted is not None and not _identical(estimator.predict(X),
                                                            derived.predicted):
            return False
        return derived.proba is None or _identical(estimator.predict_proba(X), derived.proba)
    except Exception:  # the estimator's own method fails: leave it to the usual path
        logger.debug("comparing with %s's own outputs failed", type(estimator).__name__,
                     exc_info=True)
        return False


def _identical(own: Any, derived: np.ndarray) -> bool:
    own = np.asarray(own)
    return own.dtype == derived.dtype and own.shape == derived.shape and bool(
        np.array_equal(own, derived, equal_nan=own.dtype.kind == "f"))

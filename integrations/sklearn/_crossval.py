"""``cross_validate`` / ``cross_val_score`` / ``cross_val_predict``: one run per call.

The run is named ``<function>(<Estimator>)`` and holds the estimator's params, ``cv`` and
``scoring`` (prefixed ``cross_validation.`` where the estimator has a param of that name), and
per-fold metrics as the steps of one metric each (fold k = step k) plus ``mean_<metric>`` and
``std_<metric>``:

- ``cross_validate``: every per-fold array it returns (``test_<scorer>``, ``train_<scorer>``,
  ``fit_time``, ``score_time``);
- ``cross_val_score``: ``test_<scoring>`` (``test_score`` for the estimator's default scorer);
- ``cross_val_predict``: it returns only the out-of-fold predictions, so the folds are
  rebuilt from ``cv`` and the test metrics computed per fold (``test_accuracy_score``, ...:
  numpy arithmetic on the predictions). Only where rebuilding them cannot change the
  user's results: no shuffling, or shuffling with an integer ``random_state``; otherwise the
  metrics of all predictions together are logged at step 0.

The clone fits inside are nested calls and open nothing. The functions are patched behind
scikit-learn's parameter validation (:mod:`._functions`), so a name imported before
``autolog.autolog()`` ran records too.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from integrations._fit_capture import estimator_type, rereadable
from integrations._metrics import (
    ClassifierArrays,
    classification_metrics,
    encode_labels,
    regression_metrics,
)
from integrations.sklearn._estimator import estimator_params, estimator_tags, open_fit_run

if TYPE_CHECKING:
    from autolog.plugin import Integration, Outcome, PatchedCall, Run


def record_cross_validation(integration: Integration, call: PatchedCall
                            ) -> Generator[None, Outcome, None]:
    function = call.patch.name
    run = open_function_run(integration, call, ("cv", "scoring", "method"))
    if run is None:
        return  # not a call we can describe: the function runs plainly
    started = time.perf_counter()
    outcome = yield
    finished_ms = int(time.time() * 1000)
    run.log_metrics({"fit_duration_s": time.perf_counter() - started}, timestamp=finished_ms)
    if not outcome.ok:
        return
    if function == "cross_validate" and isinstance(outcome.result, Mapping):
        log_folds(run, {key: value for key, value in outcome.result.items()
                        if key not in ("estimator", "indices")}, finished_ms)
    elif function == "cross_val_score":
        log_folds(run, {score_name(call.kwargs.get("scoring")): outcome.result}, finished_ms)
    elif function == "cross_val_predict":
        estimator, X, y = call.arg(0, "estimator"), call.arg(1, "X"), call.arg(2, "y")
        _record_predictions(run, call, estimator, X, y, outcome.result, finished_ms)


def open_function_run(integration: Integration, call: PatchedCall,
                      argument_names: tuple[str, ...]) -> Run | None:
    """The run of a model-selection function ``f(estimator, X, y, **kwargs)``: named
    ``f(Estimator)``, with the estimator's params and the ``argument_names`` passed (``cv``
    always); None when the first argument is no estimator."""
    function = call.patch.name
    estimator = call.arg(0, "estimator")
    if estimator is None or not hasattr(estimator, "get_params"):
        return None
    X, y = call.arg(1, "X"), call.arg(2, "y")
    tags = {**estimator_tags(estimator), "autolog.sklearn_function": function}
    run = open_fit_run(integration, call, f"{function}({type(estimator).__name__})", tags, X, y)
    params = estimator_params(estimator)
    for name in argument_names:
        if name in call.kwargs or name == "cv":
            key = f"cross_validation.{name}" if name in params else name
            params[key] = _describe(call.kwargs.get(name))
    run.log_params(params)
    return run


def log_folds(run: Run, per_fold: Mapping[str, Any], timestamp: int) -> None:
    """Each 1-D numeric array as steps of its metric, plus its mean and std."""
    series: dict[str, np.ndarray] = {}
    for name, values in per_fold.items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if array.ndim == 1 and array.size:
            series[name] = array
    if not series:
        return
    for fold in range(max(len(values) for values in series.values())):
        run.log_metrics({name: values[fold] for name, values in series.items()
                         if fold < len(values)}, step=fold, timestamp=timestamp)
    summary = {}
    for name, values in series.items():
        summary[f"mean_{name}"] = float(np.nanmean(values)) if np.isfinite(values).any() \
            else float("nan")
        summary[f"std_{name}"] = float(np.nanstd(values)) if np.isfinite(values).any() \
            else float("nan")
    run.log_metrics(summary, timestamp=timestamp)


def score_name(scoring: Any) -> str:
    return f"test_{scoring}" if isinstance(scoring, str) else "test_score"


def _describe(value: Any) -> Any:
    if value is None:
        return "default"
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "split") and hasattr(value, "get_n_splits"):
        return repr(value)
    return type(value).__name__ if callable(value) else str(value)[:250]


# -- cross_val_predict ----------------------------------------------------------------------
def _record_predictions(run: Run, call: PatchedCall, estimator: Any, X: Any, y: Any,
                        predictions: Any, timestamp: int) -> None:
    if y is None or not rereadable(X) or not rereadable(y):
        return
    method = call.kwargs.get("method", "predict")
    kind = estimator_type(estimator)
    truth = np.asarray(y)
    if truth.ndim == 2 and truth.shape[1] == 1:
        truth = truth.ravel()
    predictions = np.asarray(predictions)
    folds = _fold_of(call, estimator, X, truth)
    if kind == "regressor" and method == "predict":
        _log_by_fold(run, folds, timestamp,
                     lambda rows: regression_metrics(truth[rows], predictions[rows], None,
                                                     prefix="test_"))
        return
    if kind != "classifier" or truth.ndim != 1:
        return
    arrays = _classifier_arrays(truth, predictions, method)
    if arrays is None:
        return
    _log_by_fold(run, folds, timestamp,
                 lambda rows: classification_metrics(_subset(arrays, rows), prefix="test_"))


def _classifier_arrays(truth: np.ndarray, predictions: np.ndarray,
                       method: str) -> ClassifierArrays | None:
    classes = np.unique(truth)
    true_positions = encode_labels(truth, classes)
    if true_positions is None:
        return None
    proba = None
    if method == "predict":
        predicted_positions = encode_labels(predictions, classes)
    elif method == "predict_proba" and predictions.shape == (len(truth), len(classes)):
        proba = np.asarray(predictions, dtype=np.float64)
        predicted_positions = proba.argmax(axis=1)
    else:
        return None
    if predicted_positions is None:
        return None
    binary = len(classes) == 2
    return ClassifierArrays(classes, true_positions, predicted_positions, proba,
                            proba[:, 1] if binary and proba is not None else None, None,
                            1 if binary else None)


def _subset(arrays: ClassifierArrays, rows: np.ndarray) -> ClassifierArrays:
    def pick(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[rows]

    return ClassifierArrays(arrays.classes, arrays.y_true[rows], arrays.y_pred[rows],
                            pick(arrays.proba), pick(arrays.scores), None, arrays.pos_index)


def _log_by_fold(run: Run, folds: list[np.ndarray] | None, timestamp: int,
                 metrics_of: Any) -> None:
    if folds is None:
        run.log_metrics(metrics_of(slice(None)), timestamp=timestamp)
        return
    log_folds(run, _transpose([metrics_of(rows) for rows in folds]), timestamp)


def _transpose(per_fold: list[dict[str, float]]) -> dict[str, list[float]]:
    names = [name for name in per_fold[0] if all(name in fold for fold in per_fold)] \
        if per_fold else []
    return {name: [fold[name] for fold in per_fold] for name in names}


def _fold_of(call: PatchedCall, estimator: Any, X: Any, y: np.ndarray) -> list[np.ndarray] | None:
    """The test rows of each fold, rebuilt only where that cannot change anything."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv

    cv = call.kwargs.get("cv")
    if cv is not None and not isinstance(cv, numbers.Integral) and not (
            hasattr(cv, "split") or isinstance(cv, (list, tuple))):
        return None  # an iterator of splits, consumed by the call itself
    splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    random_state = getattr(splitter, "random_state", None)
    if getattr(splitter, "shuffle", False) and not isinstance(random_state, numbers.Integral):
        return None
    groups = call.kwargs.get("groups")
    try:
        return [np.asarray(test) for _, test in splitter.split(X, y, groups)]
    except (TypeError, ValueError):
        return None

"""One estimator fit (``fit`` / ``fit_transform`` / ``fit_predict``) → one run.

Before the fit, on the caller's thread: the run (its own, the user's, or a child), all
``get_params(deep=True)``, the estimator and dataset tags. After it: the fit duration, then
:mod:`._training` predicts on the training data. The classification arithmetic, the
silhouette and the plots (:mod:`._training_plots`) are queued as deferred records that
autolog's writer thread builds (``Run.log_metrics_later`` / ``log_artifact_later``;
``autolog.flush()`` waits for them like for any record): a queue append on the training
thread. Inline, right after a fit, the
arithmetic cost ~100 us at 375 rows (every numpy call on cold caches); the writer computes a
second's worth of fits in one warm pass at ~40 us each.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
import weakref
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from autolog._values import MAX_PARAM_LENGTH
from integrations._dataset import describe_dataset, describe_dataset_later
from integrations._fit_capture import (
    Captured,
    capture,
    estimator_type,
    rereadable,
    warn_skipped,
)
from integrations._metrics import classification_metrics
from integrations._models import log_fitted_model, per_fit_output_wanted
from integrations.sklearn._training_plots import queue_plots

if TYPE_CHECKING:
    from autolog._patching import Patch
    from autolog.plugin import Integration, Outcome, PatchedCall, Run

#: Estimator-valued params (a pipeline's steps, a search's estimator) are shown this short:
#: their own params are logged one by one anyway (``clf__C``).
_OBJECT_PARAM_CHARS = 250


# -- arguments ------------------------------------------------------------------------------
class FitArguments:
    """Where X, y and sample_weight sit in a patched method's signature (cached per patch)."""

    __slots__ = ("x_name", "y_name", "weight_position")

    def __init__(self, x_name: str, y_name: str | None, weight_position: int | None) -> None:
        self.x_name = x_name
        self.y_name = y_name
        self.weight_position = weight_position

    def of(self, call: PatchedCall) -> tuple[Any, Any, Any]:
        X = call.arg(0, self.x_name)
        y = call.arg(1, self.y_name) if self.y_name is not None else None
        weight = call.kwargs.get("sample_weight")
        if weight is None and self.weight_position is not None:
            weight = call.arg(self.weight_position, "sample_weight")
        return X, y, weight


_arguments: weakref.WeakKeyDictionary[Patch, FitArguments] = weakref.WeakKeyDictionary()


def fit_arguments(patch: Patch) -> FitArguments:
    known = _arguments.get(patch)
    if known is None:
        known = _arguments[patch] = _read_signature(patch.original)
    return known


def _read_signature(original: Any) -> FitArguments:
    function = getattr(original, "fn", original)  # scikit-learn's available_if descriptor
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return FitArguments("X", "y", None)
    names = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]  # minus self
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
        # A wrapper the user put on fit before autolog (``def fit(self, *args, **kwargs)``):
        # what it passes on is in scikit-learn's own order and names.
        names += ["X", "y"][len(names):]
    x_name = names[0] if names else "X"
    y_name = names[1] if len(names) > 1 else None
    weight_position = names.index("sample_weight") if "sample_weight" in names else None
    return FitArguments(x_name, y_name, weight_position)


def note_missing_training_data(call: PatchedCall, run: Run, X: Any, y: Any) -> bool:
    """When a fit's training data is not where autolog looks (a wrapper with other argument
    names): say so once per entry point, and on the run. True when something is missing."""
    arguments = fit_arguments(call.patch)
    if X is not None:
        if y is not None or estimator_type(call.instance) not in ("classifier", "regressor"):
            return False
        missing = f"no y (the second argument, or the keyword {arguments.y_name or 'y'!r})"
    else:
        missing = f"no X (the first argument, or the keyword {arguments.x_name!r})"
    given = ", ".join([*(["positional"] * min(len(call.args), 1)), *map(str, call.kwargs)])
    entry = f"{type(call.instance).__name__}.{call.patch.name}"
    reason = f"{missing} among what it was called with ({given or 'nothing'})"
    run.set_tags({"autolog.training_data": f"not found: {reason}"})
    warn_skipped(f"no-training-data:{type(call.instance).__qualname__}.{call.patch.name}",
                 f"{entry} was called without training data autolog can find: {reason}; its "
                 "runs get no training metrics. Pass the data as X and y, or wrap fit with "
                 "functools.wraps so its signature says where they are.")
    return True


# -- params and tags ------------------------------------------------------------------------
def estimator_params(estimator: Any) -> dict[str, Any]:
    """``get_params(deep=True)`` as loggable values; {} with one warning if it raises."""
    try:
        params = _get_params(estimator)
    except Exception as exc:
        warn_skipped(f"get_params:{type(estimator).__qualname__}",
                     f"the params of {type(estimator).__name__} were not logged: get_params "
                     f"raised {type(exc).__name__}: {exc}")
        return {}
    return format_params(params)


def _get_params(estimator: Any) -> dict[str, Any]:
    """``estimator.get_params(deep=True)``.

    scikit-learn's own ``BaseEstimator.get_params`` reads the parameter names from
    ``inspect.signature(cls.__init__)`` on every call (~15 us of a ~25 us call); a class's
    ``__init__`` does not change, so where neither method is overridden the names are read
    once per class and the rest of ``get_params`` is done the same way here.
    """
    base = _base_estimator()
    cls = type(estimator)
    if (base is None or getattr(cls, "get_params", None) is not base.get_params
            or getattr(cls._get_param_names, "__func__", None)
            is not base._get_param_names.__func__):
        return estimator.get_params(deep=True)
    params: dict[str, Any] = {}
    for key in _param_names(cls):
        value = getattr(estimator, key)
        if hasattr(value, "get_params") and not isinstance(value, type):
            params.update((f"{key}__{inner}", inner_value)
                          for inner, inner_value in value.get_params().items())
        params[key] = value
    return params


@functools.lru_cache(maxsize=1024)
def _param_names(cls: type) -> tuple[str, ...]:
    return tuple(cls._get_param_names())


@functools.lru_cache(maxsize=1)
def _base_estimator() -> Any:
    try:
        from sklearn.base import BaseEstimator
    except ImportError:
        return None
    return BaseEstimator


def format_params(params: Mapping[str, Any]) -> dict[str, Any]:
    formatted: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            formatted[key] = value
            continue
        text = repr(value) if _holds_estimator(value) else str(value)
        limit = _OBJECT_PARAM_CHARS if _holds_estimator(value) else MAX_PARAM_LENGTH
        formatted[key] = text if len(text) <= limit else text[: limit - 3] + "..."
    return formatted


def _holds_estimator(value: Any) -> bool:
    if hasattr(value, "get_params") and not isinstance(value, type):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_estimator(item) for item in value[:3])
    return False


def estimator_tags(estimator: Any, prefix: str = "estimator") -> dict[str, str]:
    cls = type(estimator)
    return {f"{prefix}_name": cls.__name__,
            f"{prefix}_class": f"{cls.__module__}.{cls.__qualname__}"}


def open_fit_run(integration: Integration, call: PatchedCall, name: str, tags: dict[str, str],
                 X: Any, y: Any) -> Run:
    """``call.open_run`` with scikit-learn's version and, with ``log_datasets``, the dataset's
    shape and fingerprint among the tags (a small numpy dataset's fingerprint follows from the
    writer thread, see :func:`describe_dataset_later`)."""
    sklearn = sys.modules.get("sklearn")
    if sklearn is not None:
        tags["autolog.sklearn_version"] = str(getattr(sklearn, "__version__", "unknown"))
    fingerprint = None
    if integration.options.specific.get("log_datasets", True) and X is not None:
        labels = y if rereadable(y) else None
        later = describe_dataset_later(X, labels)
        if later is None:
            tags.update(describe_dataset(X, labels).tags())
        else:
            known, fingerprint = later
            tags.update(known)
    run = call.open_run(name, tags=tags)
    if fingerprint is not None:
        run.set_tags_later(fingerprint, what="sklearn: dataset fingerprint")
    return run


# -- the hook -------------------------------------------------------------------------------
def record_fit(integration: Integration, call: PatchedCall) -> Generator[None, Outcome, None]:
    estimator = call.instance
    X, y, weight = fit_arguments(call.patch).of(call)
    method = call.patch.name
    tags = estimator_tags(estimator)
    if method != "fit":
        tags["autolog.sklearn_method"] = method
    run = open_fit_run(integration, call, type(estimator).__name__, tags, X, y)
    params = estimator_params(estimator)
    run.log_params(params)
    started = time.perf_counter()
    outcome = yield
    finished_ms = int(time.time() * 1000)
    run.log_metrics({"fit_duration_s": time.perf_counter() - started}, timestamp=finished_ms)
    if not outcome.ok:
        return
    captured = None
    if (not integration.options.specific.get("log_training_metrics", True)
            or note_missing_training_data(call, run, X, y)):
        pass
    elif overwrites_input(params):
        run.set_tags({"autolog.training_metrics_skipped": "copy=False: the fit may have "
                      "overwritten X, so predictions on it would not be the training data's"})
    else:
        labels = outcome.result if method == "fit_predict" else None
        captured = capture(estimator, X, y, weight, labels=labels,
                           pos_label=integration.options.specific.get("pos_label"))
    # The training predictions' first rows are the model's output on its input example.
    log_fitted_model(integration.options, run, estimator, flavor="sklearn", input_example=X,
                     output_example=captured.predictions if captured is not None else None)
    if captured is not None:
        report_training(integration, run, captured, finished_ms, plots=True)


def overwrites_input(params: Mapping[str, Any]) -> bool:
    """``copy_X=False`` / ``copy=False``: the fit may have changed X in place (autolog does
    not copy X to protect it, so it does not predict on it either)."""
    return params.get("copy_X") is False or params.get("copy") is False


def report_training(integration: Integration, run: Run, captured: Captured, timestamp: int,
                    *, plots: bool) -> None:
    """Log what :func:`capture` computed; queue what can wait for the writer thread."""
    arrays = captured.classifier
    if arrays is not None:
        run.log_metrics_later(
            lambda: classification_metrics(arrays, with_score=captured.derive_score),
            what="sklearn: training metrics")
    if captured.metrics:
        run.log_metrics(captured.metrics, timestamp=timestamp)
    if captured.silhouette_rows is not None:
        rows, labels = captured.silhouette_rows
        run.log_metrics_later(lambda: _silhouette(rows, labels),
                              what="sklearn: training silhouette")
    if arrays is not None and plots and per_fit_output_wanted(
            run, integration.options.specific.get("log_plots", True)):
        queue_plots(run, arrays, integration.options.plot_format)


def _silhouette(rows: Any, labels: Any) -> dict[str, float] | None:
    from sklearn.metrics import silhouette_score

    try:
        return {"training_silhouette_score": float(silhouette_score(rows, labels))}
    except ValueError:  # NaN in X, or a sample with a single cluster
        return None

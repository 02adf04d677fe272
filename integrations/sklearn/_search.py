"""Hyperparameter searches (``BaseSearchCV`` and subclasses): a parent run, one child per
candidate.

The parent run is opened before ``fit`` (search params, dataset tags). The search's own clone
fits are nested calls and open nothing. After ``fit``, on the caller's thread: ``best_<param>``
params, ``best_score``, the training metrics of the refitted best estimator (as for any fit),
and, from ``cv_results_``:

- one child run per candidate, best first, at most ``max_tuning_runs`` (None: all), named
  after its params, with ``mean/std_test_<scorer>``, ``mean/std_train_<scorer>``,
  ``rank_test_<scorer>``, mean/std fit and score times, and the per-fold scores as the steps
  of ``test_<scorer>`` / ``train_<scorer>`` (fold k = step k);
- ``cv_results.csv`` on the parent, written by autolog's writer thread (through pandas when it
  is already imported, else the ``csv`` module: importing pandas just for this would cost more
  than the search). ``cv_results_`` is referenced, not copied: scikit-learn replaces it on
  the next fit, it never changes it in place.

Successive halving evaluates a candidate once per iteration it survives: its child holds its
last (largest-budget) evaluation, and candidates that went further rank first.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from autolog.plugin import run_scope
from integrations._fit_capture import capture
from integrations._models import log_fitted_model
from integrations.sklearn._estimator import (
    estimator_params,
    estimator_tags,
    fit_arguments,
    format_params,
    note_missing_training_data,
    open_fit_run,
    report_training,
)

if TYPE_CHECKING:
    from autolog.plugin import Integration, Outcome, PatchedCall, Run

_RUN_NAME_CHARS = 120
_PER_CANDIDATE_PREFIXES = ("mean_", "std_", "rank_")


def search_run_name(search: Any) -> str:
    inner = getattr(search, "estimator", None)
    if inner is None or isinstance(inner, type):
        return type(search).__name__
    return f"{type(search).__name__}({type(inner).__name__})"


def record_search(integration: Integration, call: PatchedCall) -> Generator[None, Outcome, None]:
    search = call.instance
    X, y, weight = fit_arguments(call.patch).of(call)
    tags = estimator_tags(search)
    inner = getattr(search, "estimator", None)
    if inner is not None:
        tags.update(estimator_tags(inner, prefix="search.estimator"))
    run = open_fit_run(integration, call, search_run_name(search), tags, X, y)
    run.log_params(estimator_params(search))
    started = time.perf_counter()
    outcome = yield
    finished_ms = int(time.time() * 1000)
    run.log_metrics({"fit_duration_s": time.perf_counter() - started}, timestamp=finished_ms)
    if not outcome.ok:
        return
    best_params = getattr(search, "best_params_", None)
    if isinstance(best_params, Mapping):
        run.log_params(format_params({f"best_{key}": value for key, value in best_params.items()}))
    best_score = getattr(search, "best_score_", None)
    if best_score is not None and np.ndim(best_score) == 0:
        run.log_metrics({"best_score": float(best_score)}, timestamp=finished_ms)
    specific = integration.options.specific
    best = getattr(search, "best_estimator_", None)
    if best is not None:  # the refitted winner: what register_best(search run) promotes
        log_fitted_model(integration.options, run, best, flavor="sklearn", input_example=X)
    if (best is not None and specific.get("log_training_metrics", True)
            and not note_missing_training_data(call, run, X, y)):
        captured = capture(best, X, y, weight, pos_label=specific.get("pos_label"))
        report_training(integration, run, captured, finished_ms, plots=True)
    results = getattr(search, "cv_results_", None)
    if isinstance(results, Mapping) and "params" in results:
        limit = specific.get("max_tuning_runs", 5)
        primary = primary_scorer(search, results)
        _log_candidates(integration, run, results, primary, limit, finished_ms)
        run.log_artifact_later("cv_results.csv", lambda: cv_results_csv(results).encode(),
                               what="sklearn: cv_results.csv")


def primary_scorer(search: Any, results: Mapping[str, Any]) -> str:
    """The scorer candidates are ranked by: the refit one, else "score", else the first."""
    names = sorted(key[len("rank_test_"):] for key in results if key.startswith("rank_test_"))
    refit = getattr(search, "refit", None)
    if isinstance(refit, str) and refit in names:
        return refit
    if "score" in names or not names:
        return "score"
    return names[0]


def candidate_order(results: Mapping[str, Any], primary: str) -> list[int]:
    """Row indices, best first; with successive halving, each candidate's last row only."""
    n_rows = len(results["params"])
    ranks = np.asarray(results.get(f"rank_test_{primary}", np.zeros(n_rows)), dtype=np.float64)
    iterations = np.asarray(results.get("iter", np.zeros(n_rows)), dtype=np.float64)
    last_row: dict[str, int] = {}
    for row in range(n_rows):
        key = repr(sorted(results["params"][row].items(), key=lambda item: item[0]))
        if key not in last_row or iterations[row] >= iterations[last_row[key]]:
            last_row[key] = row
    return sorted(last_row.values(), key=lambda row: (-iterations[row], ranks[row], row))


def candidate_name(params: Mapping[str, Any]) -> str:
    """``C=0.1, class_weight=balanced``: a pipeline's ``step__`` prefixes are dropped where
    the names stay distinct (the params themselves keep their full names)."""
    short = {key: key.rsplit("__", 1)[-1] for key in params}
    if len(set(short.values())) < len(short):
        short = {key: key for key in params}
    text = ", ".join(f"{short[key]}={_short_value(value)}" for key, value in params.items())
    text = text or "default params"
    return text if len(text) <= _RUN_NAME_CHARS else text[: _RUN_NAME_CHARS - 3] + "..."


def _short_value(value: Any) -> str:
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


def candidate_metrics(results: Mapping[str, Any], row: int) -> tuple[dict[str, float],
                                                                      dict[str, list[float]]]:
    """``(summary metrics, per-fold series)`` of one row of ``cv_results_``."""
    summary: dict[str, float] = {}
    folds: dict[str, dict[int, float]] = {}
    for key, values in results.items():
        if key == "params" or key.startswith("param_"):
            continue
        value = _number(values, row)
        if value is None:
            continue
        if key.startswith(_PER_CANDIDATE_PREFIXES) or key in ("iter", "n_resources"):
            summary[key] = value
        elif key.startswith("split"):
            fold, _, name = key[len("split"):].partition("_")
            if fold.isdigit():
                folds.setdefault(name, {})[int(fold)] = value
    series = {name: [by_fold[k] for k in sorted(by_fold)] for name, by_fold in folds.items()}
    return dict(sorted(summary.items(), key=lambda item: _display_order(item[0]))), series


def _display_order(key: str) -> int:
    """Test scores first, then ranks, train scores, times (listings show the first few)."""
    for position, prefix in enumerate(("mean_test_", "std_test_", "rank_test_", "mean_train_",
                                       "std_train_")):
        if key.startswith(prefix):
            return position
    return 5


def _number(values: Any, row: int) -> float | None:
    try:
        value = values[row]
    except (TypeError, IndexError, KeyError):
        return None
    if value is np.ma.masked or isinstance(value, (str, bytes, bool)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _log_candidates(integration: Integration, parent: Run, results: Mapping[str, Any],
                    primary: str, limit: int | None, timestamp: int) -> None:
    """The children (on the caller's thread: ~0.2 ms each, after the search's own time)."""
    order = candidate_order(results, primary)
    if limit is not None:
        order = order[:limit]
    for row in order:
        params = results["params"][row]
        summary, series = candidate_metrics(results, row)
        with run_scope(integration, candidate_name(params), parent=parent,
                       tags={"autolog.candidate_index": str(row)}) as child:
            child.log_params(format_params(params))
            child.log_metrics(summary, timestamp=timestamp)
            for name, values in series.items():
                for fold, value in enumerate(values):
                    child.log_metrics({name: value}, step=fold, timestamp=timestamp)


def cv_results_csv(results: Mapping[str, Any]) -> str:
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        return pandas.DataFrame(dict(results)).to_csv(index=False)
    columns = list(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in range(len(results["params"])):
        writer.writerow(["" if results[name][row] is np.ma.masked else results[name][row]
                         for name in columns])
    return buffer.getvalue()

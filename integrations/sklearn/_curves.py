"""``learning_curve`` / ``validation_curve`` / ``permutation_test_score``: one run per call.

Each fits dozens of clones internally; without a run of their own, every clone fit would be
a top-level run. The run (see ``_crossval.open_function_run``) holds the curve as steps:

- ``learning_curve``: ``mean/std_test_score`` and ``mean/std_train_score`` (plus fit and
  score times when returned) at step = the number of training samples, so the MLflow chart
  is the learning curve;
- ``validation_curve``: the same at step = position in ``param_range``; the param's name and
  values are params;
- ``permutation_test_score``: ``test_score``, ``pvalue``, and the permutation scores as the
  steps of ``permutation_score``, plus their mean and std.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from integrations.sklearn._crossval import log_folds, open_function_run, score_name

if TYPE_CHECKING:
    from autolog.plugin import Integration, Outcome, PatchedCall, Run

_ARGUMENTS = ("cv", "scoring", "param_name", "param_range", "train_sizes", "n_permutations")


def record_curve(integration: Integration, call: PatchedCall) -> Generator[None, Outcome, None]:
    run = open_function_run(integration, call, _ARGUMENTS)
    if run is None:
        return
    started = time.perf_counter()
    outcome = yield
    finished_ms = int(time.time() * 1000)
    run.log_metrics({"fit_duration_s": time.perf_counter() - started}, timestamp=finished_ms)
    if not outcome.ok or not isinstance(outcome.result, tuple):
        return
    function = call.patch.name
    result = outcome.result
    if function == "learning_curve" and len(result) >= 3:
        sizes = np.asarray(result[0]).astype(int).tolist()
        names = ("train_score", "test_score", "fit_time", "score_time")
        _log_curve(run, sizes, dict(zip(names, result[1:], strict=False)), finished_ms)
    elif function == "validation_curve" and len(result) == 2:
        steps = list(range(np.shape(result[0])[0]))
        _log_curve(run, steps, {"train_score": result[0], "test_score": result[1]}, finished_ms)
    elif function == "permutation_test_score" and len(result) == 3:
        score, permutation_scores, pvalue = result
        name = score_name(call.kwargs.get("scoring"))
        run.log_metrics({name: float(score), "pvalue": float(pvalue)}, timestamp=finished_ms)
        log_folds(run, {"permutation_score": permutation_scores}, finished_ms)


def _log_curve(run: Run, steps: list[int], per_point: dict[str, Any], timestamp: int) -> None:
    """``(n_points, n_folds)`` arrays → mean and std across folds at each step."""
    for name, values in per_point.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] != len(steps):
            continue
        for step, row in zip(steps, array, strict=True):
            run.log_metrics({f"mean_{name}": float(np.nanmean(row)) if np.isfinite(row).any()
                             else float("nan"),
                             f"std_{name}": float(np.nanstd(row)) if np.isfinite(row).any()
                             else float("nan")}, step=int(step), timestamp=timestamp)

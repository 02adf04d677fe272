"""``register_best``: promote the best model of a search or study through the model registry.

The "promote if the new model wins" loop in one call::

    study.optimize(objective, n_trials=50)                     # autologged
    autolog.register_best(study, "churn")                      # -> Promotion(version=7, ...)
    mlflow.pyfunc.load_model("models:/churn@champion")

How the best child of a parent run is chosen, first rule that applies:

1. ``metric=`` given: the child run with the best value of that metric (``mode`` "min" or
   "max"; default "min" for names that read as losses or errors, else "max").
2. An Optuna study (the ``Study`` or its run): the study's best trial (``study.best_trial``
   when the study object is given, else the ``value`` metric of the trial runs, in the
   direction the study run records). Compared with the champion by that value.
3. A scikit-learn search: the candidate ranked first (``rank_test_<scorer>``); compared with
   the champion by the search's ``best_score``.

The model registered is the first MLflow model found in: the best child, the child's own child
runs (a model fitted inside a trial), then the parent itself (a search's refitted best
estimator). Logged models (MLflow 3) are preferred as the version's source; otherwise the run's
``model/`` directory. With ``only_if_better`` (the default), the alias's current version is
compared first, by the score recorded on it when ``register_best`` registered it (tags
``autolog.score_*``) or else by that metric of its run; a candidate that does not beat it is
not registered. Needs an MLflow tracking server.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from autolog.backends._mlflow_api import filter_literal
from autolog.backends._mlflow_models import ready_logged_model
from autolog.backends.base import ModelBackend
from autolog.models._delivery import logged_model_name

SCORE_KEY_TAG = "autolog.score_key"
SCORE_VALUE_TAG = "autolog.score_value"
SCORE_MODE_TAG = "autolog.score_mode"
SELECTED_FROM_TAG = "autolog.selected_from_run"
_LOSS_WORDS = ("loss", "error", "err", "rmse", "mse", "mae", "rank", "perplexity")


@dataclass(frozen=True)
class Promotion:
    """What ``register_best`` did. ``version`` is None when nothing was registered."""

    name: str
    alias: str
    promoted: bool
    version: str | None
    run_id: str  # the best child (tracking server id)
    model_run_id: str  # the run whose model was registered
    source: str
    score_key: str
    score: float
    mode: str
    previous_version: str | None = None
    previous_score: float | None = None
    reason: str = ""


@dataclass
class _Choice:
    child: dict[str, Any]
    score_key: str
    score: float
    mode: str


def register_best(
    run_or_study: Any,
    name: str,
    alias: str = "champion",
    *,
    metric: str | None = None,
    mode: str | None = None,
    only_if_better: bool = True,
    artifact_path: str = "model",
    experiment: str | None = None,
    tracking_uri: str | None = None,
    timeout: float = 120.0,
) -> Promotion:
    """Register the best child's model of a search or study as a new version of ``name`` and
    point ``alias`` at it (see the module docs for the rules).

    ``run_or_study``: an autolog ``Run``, a tracking-server run id, or an Optuna ``Study``
    (found by its ``optuna.study_name`` tag in ``experiment``, default the configured one).
    Waits up to ``timeout`` seconds for autolog to deliver what it recorded. Raises
    ``ValueError`` when no best child or no model can be found, ``RuntimeError`` when the
    tracking target has no model registry or delivery does not finish in time.
    """
    if mode is not None and mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
    if not name:
        raise ValueError("name must be a registered model name")
    backend, parent_id = _resolve(run_or_study, experiment, tracking_uri, timeout)
    parent = _ok(backend.get_run(parent_id), "reading the parent run")
    experiment_id = str(parent["info"]["experiment_id"])
    children = _ok(backend.search_runs(
        [experiment_id], f"tags.`mlflow.parentRunId` = '{filter_literal(parent_id)}'"),
        "listing the child runs")
    choice = _choose(run_or_study, parent, children, metric, mode)
    child_id = _run_id(choice.child)
    model_run_id, source, model_id = _find_model(backend, experiment_id, child_id, parent_id,
                                                 artifact_path)
    previous, previous_score = _champion(backend, name, alias, choice)
    base = dict(name=name, alias=alias, run_id=child_id, model_run_id=model_run_id,
                source=source, score_key=choice.score_key, score=choice.score,
                mode=choice.mode, previous_version=previous, previous_score=previous_score)
    if (only_if_better and previous_score is not None
            and not _better(choice.score, previous_score, choice.mode)):
        return Promotion(promoted=False, version=None, **base, reason=(
            f"{alias} (version {previous}) has {choice.score_key}={previous_score:g}; "
            f"{choice.score:g} does not beat it"))
    _ok(backend.create_registered_model(name), "creating the registered model")
    tags = {SCORE_KEY_TAG: choice.score_key, SCORE_VALUE_TAG: repr(choice.score),
            SCORE_MODE_TAG: choice.mode, SELECTED_FROM_TAG: parent_id}
    version = _ok(backend.create_model_version(name, source, model_run_id, model_id, tags),
                  "creating the model version")
    number = str(version["version"])
    _ok(backend.set_registered_model_alias(name, alias, number), "moving the alias")
    reason = ("no current version to compare with" if previous_score is None
              else f"beats version {previous} ({choice.score_key}={previous_score:g})")
    return Promotion(promoted=True, version=number, **base, reason=reason)


# -- where the runs are -------------------------------------------------------------------------
def _resolve(target: Any, experiment: str | None, tracking_uri: str | None,
             timeout: float) -> tuple[Any, str]:
    """(a backend of our own, the parent's tracking-server run id), after a flush."""
    from autolog import _config
    from autolog._runs import Run, flush, get_pipeline

    deadline = time.monotonic() + timeout
    if not flush(timeout):
        raise RuntimeError(f"autolog could not deliver its records within {timeout:g} s; the "
                           "tracking server may be unreachable")
    if isinstance(target, Run):
        backend = _registry_backend(target.pipeline.backend)
        remote = target.remote_id(max(1.0, deadline - time.monotonic()))
        if not remote:
            raise RuntimeError(f"run {target.name!r} is not on the tracking server yet")
        return backend, remote
    backend = _registry_backend(get_pipeline(tracking_uri).backend)
    if isinstance(target, str):
        return backend, target
    if hasattr(target, "study_name") and hasattr(target, "best_trial"):
        name = _config.experiment_name(experiment)
        found = backend.search_runs(
            [_ok(backend.get_or_create_experiment(name), "finding the experiment")],
            f"tags.`optuna.study_name` = '{filter_literal(target.study_name)}'")
        runs = [run for run in _ok(found, "finding the study's run")
                if "optuna.trial_number" not in _tags(run)]
        if not runs:
            raise ValueError(f"no run of study {target.study_name!r} in experiment {name!r}")
        newest = max(runs, key=lambda run: int(run["info"].get("start_time") or 0))
        return backend, _run_id(newest)
    raise ValueError("run_or_study must be an autolog Run, a run id or an Optuna Study, not "
                     f"{type(target).__name__}")


def _registry_backend(backend: Any) -> ModelBackend:
    if not isinstance(backend, ModelBackend):
        raise RuntimeError("register_best needs an MLflow tracking server (a model registry); "
                           "runs here go to the embedded local store")
    return backend  # safe to share with the delivery threads


# -- which child is best ------------------------------------------------------------------------
def _choose(target: Any, parent: dict[str, Any], children: list[dict[str, Any]],
            metric: str | None, mode: str | None) -> _Choice:
    finished = [child for child in children if child["info"].get("status") == "FINISHED"]
    if metric is not None:
        return _best_by(finished, metric, mode or _default_mode(metric))
    tags, params = _tags(parent), _params(parent)
    if "optuna.study_name" in tags or "direction" in params:
        key = (tags.get("optuna.metric_names") or "value").split(",")[0]
        direction = params.get("direction")
        study_mode = "min" if direction == "minimize" else "max"
        if hasattr(target, "best_trial"):
            study_mode = "min" if target.direction.name == "MINIMIZE" else "max"
            number = str(target.best_trial.number)
            for child in finished:
                if _tags(child).get("optuna.trial_number") == number:
                    return _Choice(child, key, float(target.best_trial.value), study_mode)
        if direction is None and not hasattr(target, "best_trial"):
            raise ValueError("the study run records no single direction (multi-objective?); "
                             "pass metric= and mode=")
        return _best_by(finished, key, study_mode)
    ranks = sorted({key for child in finished for key in _metrics(child)
                    if key.startswith("rank_test_")})
    if ranks:
        refit = params.get("refit")
        rank_key = f"rank_test_{refit}" if f"rank_test_{refit}" in ranks else (
            "rank_test_score" if "rank_test_score" in ranks else ranks[0])
        best = _best_by(finished, rank_key, "min")
        parent_score = _metrics(parent).get("best_score")
        if parent_score is not None:
            return _Choice(best.child, "best_score", parent_score, "max")
        mean_key = "mean_test_" + rank_key[len("rank_test_"):]
        return _Choice(best.child, mean_key, _metrics(best.child).get(mean_key, math.nan), "max")
    raise ValueError("cannot tell which child run is best (neither an Optuna study nor a "
                     "scikit-learn search); pass metric= and mode=")


def _best_by(children: list[dict[str, Any]], key: str, mode: str) -> _Choice:
    scored = [(value, child) for child in children
              if (value := _metrics(child).get(key)) is not None and not math.isnan(value)]
    if not scored:
        raise ValueError(f"no finished child run has the metric {key!r}")
    pick = min if mode == "min" else max
    value, child = pick(scored, key=lambda item: item[0])
    return _Choice(child, key, value, mode)


def _default_mode(metric: str) -> str:
    return "min" if any(word in metric.lower() for word in _LOSS_WORDS) else "max"


def _better(new: float, old: float, mode: str) -> bool:
    if math.isnan(new):
        return False
    if math.isnan(old):
        return True
    return new < old if mode == "min" else new > old


# -- which model, and the champion ---------------------------------------------------------------
def _find_model(backend: Any, experiment_id: str, child_id: str, parent_id: str,
                artifact_path: str) -> tuple[str, str, str | None]:
    """(run id, version source, logged model id) of the first model found (see module docs)."""
    grandchildren = _ok(backend.search_runs(
        [experiment_id], f"tags.`mlflow.parentRunId` = '{filter_literal(child_id)}'"),
        "listing the best child's runs")
    grandchildren.sort(key=lambda run: -int(run["info"].get("start_time") or 0))
    for run_id in [child_id, *(_run_id(run) for run in grandchildren), parent_id]:
        model_id = ready_logged_model(backend, experiment_id, run_id, logged_model_name(artifact_path))
        if model_id:
            return run_id, f"models:/{model_id}", model_id
        listed = backend.list_artifacts(run_id, artifact_path)
        if listed.ok and any(entry.get("path") == f"{artifact_path}/MLmodel"
                             for entry in listed.value):
            return run_id, f"runs:/{run_id}/{artifact_path}", None
    raise ValueError(f"the best child run {child_id} has no model (nor its child runs, nor the "
                     "search's run): log models for trials and candidates with "
                     "autolog.autolog(log_models='all')")


def _champion(backend: Any, name: str, alias: str,
              choice: _Choice) -> tuple[str | None, float | None]:
    """(version the alias points to, its score on the candidate's scale) or (None, None)."""
    found = backend.get_model_version_by_alias(name, alias)
    if not found.ok or not found.value:
        return None, None
    version = found.value
    tags = {tag.get("key"): tag.get("value") for tag in version.get("tags") or []}
    number = str(version.get("version"))
    if tags.get(SCORE_KEY_TAG) == choice.score_key and tags.get(SCORE_MODE_TAG) == choice.mode:
        try:
            return number, float(tags[SCORE_VALUE_TAG])
        except (KeyError, ValueError):
            pass
    run_id = version.get("run_id")
    if run_id:
        run = backend.get_run(run_id)
        if run.ok:
            value = _metrics(run.value).get(choice.score_key)
            if value is not None:
                return number, value
    return number, None


# -- small readers ------------------------------------------------------------------------------
def _ok(result: Any, doing: str) -> Any:
    if not result.ok:
        raise RuntimeError(f"register_best: {doing} failed: {result.error}")
    return result.value


def _run_id(run: dict[str, Any]) -> str:
    info = run["info"]
    return str(info.get("run_id") or info["run_uuid"])


def _tags(run: dict[str, Any]) -> dict[str, str]:
    return {tag["key"]: tag.get("value", "") for tag in run.get("data", {}).get("tags") or []}


def _params(run: dict[str, Any]) -> dict[str, str]:
    return {p["key"]: p.get("value", "") for p in run.get("data", {}).get("params") or []}


def _metrics(run: dict[str, Any]) -> dict[str, float]:
    values = {}
    for metric in run.get("data", {}).get("metrics") or []:
        try:
            values[metric["key"]] = float(metric["value"])
        except (KeyError, TypeError, ValueError):
            continue
    return values

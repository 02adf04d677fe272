"""A study's run in this process: what it is, and what it shows about the study.

The study run carries the study's settings (params, once, by the process that created it)
and a live summary that trials update as they finish — best value and trial, best params,
counts by state, the Pareto front of a multi-objective study. Live updates come from what
this process saw (its own trials, plus the study as it was when this process joined), so they
cost a few comparisons and appends on the trial's thread; at the end of ``optimize`` the
summary is recomputed from the storage, which also counts other workers' trials.

Params are immutable in MLflow, so everything that changes as the search goes on is a metric
(``best_value``, ``best_trial``, ``trials_complete`` …, with the trial number as step) or a tag
(``best_<param>``, ``pareto_front_trials``), and settings that may differ between calls of
``optimize`` (``n_trials``, ``timeout``, ``n_jobs``) are logged by the first call only.
Workers ending together each log a summary; the metrics' latest value is the one read last
(they carry the time of their read), while the ``best_<param>`` tags, upserts without a
timestamp, are the last delivered ones.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from autolog.plugin import Run
from integrations.optuna._remote_parent import RemoteParent
from integrations.optuna._trials import TrialRecorder, open_trial

FINISHED_STATES = ("COMPLETE", "PRUNED", "FAIL")
_PRIMITIVES = (bool, int, float, str, type(None))


class StudySession:
    """One study's run in this process, and the summary it keeps up to date."""

    def __init__(self, study: Any, run: Run, *, owned: bool, logs_settings: bool,
                 integration_name: str, run_tags: Mapping[str, str],
                 record_intermediate: bool) -> None:
        self.run = run
        #: Created by this process: ended by it when the ``optimize`` call ends.
        self.owned = owned
        #: This process logs the study's settings (it created the run, or the run is the user's).
        self.logs_settings = logs_settings
        self.integration_name = integration_name
        self.run_tags = dict(run_tags)
        self.record_intermediate = record_intermediate
        #: Links trial runs to a study run another machine created (``_remote_parent``).
        self.remote_parent: RemoteParent | None = None
        self.study_name: str = study.study_name
        self.directions = [direction.name.lower() for direction in study.directions]
        self.value_keys: list[str] = []
        self.intermediate_key = "intermediate_value"
        self.best_key = "best_value"
        self.set_metric_names(study.metric_names)
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.best: tuple[int, float, dict[str, Any]] | None = None
        self.front: list[tuple[int, tuple[float, ...]]] = []
        self.open_trials: dict[int, TrialRecorder] = {}
        self._params: dict[str, str] = {}
        self._best_param_keys: set[str] = set()
        self._last_points: dict[str, tuple[int, float]] = {}

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1

    def set_metric_names(self, names: Sequence[str] | None) -> None:
        """Name values after ``study.set_metric_names``, else ``value`` / ``value_<i>``."""
        if names and len(names) == len(self.directions):
            self.value_keys = list(names)
        elif len(self.directions) == 1:
            self.value_keys = ["value"]
        else:
            self.value_keys = [f"value_{index}" for index in range(len(self.directions))]
        self.intermediate_key = f"intermediate_{self.value_keys[0]}"
        self.best_key = f"best_{self.value_keys[0]}"

    # -- settings ------------------------------------------------------------------------------
    def log_settings(self, study: Any, optimize_args: Mapping[str, Any] | None = None) -> None:
        """The study's settings as params, by the process that logs them; never a conflict."""
        if not self.logs_settings:
            return
        params: dict[str, Any] = {"study_name": self.study_name}
        if self.multi_objective:
            params["directions"] = ",".join(self.directions)
        else:
            params["direction"] = self.directions[0]
        for role, component in (("sampler", study.sampler), ("pruner", study.pruner)):
            params[role] = type(component).__name__
            params.update({f"{role}.{key}": value
                           for key, value in component_settings(component).items()})
        params.update(optimize_args or {})
        fresh = {key: value for key, value in params.items() if key not in self._params}
        if fresh:
            self.run.log_params(fresh)
            self._params.update({key: str(value) for key, value in fresh.items()})
        if self.value_keys != ["value"]:
            self.run.set_tags({"optuna.metric_names": ",".join(self.value_keys)})

    def seed(self, trials: Sequence[Any]) -> None:
        """Start the live summary from the trials the study already has (resume, late worker)."""
        with self.lock:
            for trial in trials:
                state = trial.state.name
                if state in FINISHED_STATES:
                    self.counts[state] += 1
                    if state == "COMPLETE" and trial.values is not None:
                        self._consider(trial.number, trial.values, trial.params)

    # -- trials ----------------------------------------------------------------------------
    def trial_started(self, trial: Any) -> TrialRecorder:
        recorder = open_trial(self, trial)
        with self.lock:
            self.open_trials[recorder.trial_id] = recorder
        return recorder

    def trial_ended(self, recorder: TrialRecorder, *, result: Any = None,
                    exc: BaseException | None = None) -> None:
        with self.lock:
            self.open_trials.pop(recorder.trial_id, None)
        if exc is not None:
            recorder.finish_from_objective(exc=exc)
        else:
            recorder.finish_from_objective(result)

    def trial_told(self, frozen: Any) -> None:
        with self.lock:
            recorder = self.open_trials.pop(frozen._trial_id, None)
        if recorder is not None:
            recorder.finish_from_frozen(frozen)

    def trial_finished(self, number: int, state: str, values: Sequence[float] | None,
                       params: Mapping[str, Any]) -> None:
        """Live summary update, on the trial's thread: comparisons and appends only."""
        with self.lock:
            self.counts[state] += 1
            metrics: dict[str, float] = {f"trials_{state.lower()}": self.counts[state]}
            tags: dict[str, str] = {}
            if state == "COMPLETE" and values is not None and self._consider(number, values,
                                                                              params):
                metrics.update(self._best_metrics())
                tags.update(self._best_tags())
            self._log(metrics, tags, step=number)

    def _consider(self, number: int, values: Sequence[float], params: Mapping[str, Any]) -> bool:
        """Fold one complete trial into the best / the Pareto front; True if it changed."""
        if not self.multi_objective:
            value = float(values[0])
            if self.best is not None:
                best = self.best[1]
                if not (value < best if self.directions[0] == "minimize" else value > best):
                    return False
            self.best = (number, value, dict(params))
            return True
        point = tuple(v if d == "minimize" else -v for v, d in zip(values, self.directions,
                                                                   strict=True))
        if any(_dominates(other, point) for _, other in self.front):
            return False
        self.front = [(n, other) for n, other in self.front if not _dominates(point, other)]
        self.front.append((number, point))
        return True

    def _best_metrics(self) -> dict[str, float]:
        if self.multi_objective:
            return {"pareto_front_size": len(self.front)}
        assert self.best is not None
        return {self.best_key: self.best[1], "best_trial": self.best[0]}

    def _best_tags(self) -> dict[str, str]:
        if self.multi_objective:
            numbers = sorted(number for number, _ in self.front)
            return {"pareto_front_trials": ",".join(map(str, numbers))}
        assert self.best is not None
        return self._best_param_tags(self.best[2])

    def _best_param_tags(self, params: Mapping[str, Any]) -> dict[str, str]:
        tags = {f"best_{name}": str(value) for name, value in params.items()}
        # A conditional search space: params of the previous best the new one lacks are cleared.
        tags.update({key: "" for key in self._best_param_keys - set(tags)})
        self._best_param_keys |= set(tags)
        return tags

    def _log(self, metrics: Mapping[str, float], tags: Mapping[str, str], step: int,
             timestamp: int | None = None) -> None:
        fresh = {key: value for key, value in metrics.items()
                 if self._last_points.get(key) != (step, value)}
        if fresh:
            self.run.log_metrics(fresh, step=step, timestamp=timestamp)
            self._last_points.update({key: (step, value) for key, value in fresh.items()})
        if tags:
            self.run.set_tags(tags)

    # -- end of an optimize call -------------------------------------------------------------
    def summarize(self, study: Any) -> tuple[list[tuple[int, str, tuple[float, ...] | None]],
                                             frozenset[int]]:
        """The summary from the storage (all workers' trials).

        Returns a snapshot for the plot: ``(number, state, values)`` of the finished trials, and
        the numbers of the Pareto-front trials (multi-objective studies).
        """
        # Stamped with the time of the read, not of the write: workers ending together each
        # log a summary at the same step, and the server keeps the latest by timestamp; one
        # that read the storage earlier but wrote later (a busy machine) must not win.
        read_at = int(time.time() * 1000)
        trials = study.get_trials(deepcopy=False)
        counts = Counter(trial.state.name for trial in trials)
        finished = [trial for trial in trials if trial.state.name in FINISHED_STATES]
        step = max((trial.number for trial in finished), default=0)
        metrics: dict[str, float] = {f"trials_{state.lower()}": counts[state]
                                     for state in FINISHED_STATES}
        tags: dict[str, str] = {}
        best = None
        numbers: list[int] = []
        if counts["COMPLETE"]:
            if self.multi_objective:
                numbers = sorted(trial.number for trial in study.best_trials)
                metrics["pareto_front_size"] = len(numbers)
                tags["pareto_front_trials"] = ",".join(map(str, numbers))
            else:
                try:
                    best = study.best_trial
                except ValueError:  # no feasible trial (constraints)
                    pass
        with self.lock:
            if best is not None:
                metrics[self.best_key] = float(best.value)
                metrics["best_trial"] = best.number
                tags.update(self._best_param_tags(best.params))
            self.counts = Counter({state: counts[state] for state in FINISHED_STATES})
            self._log(metrics, tags, step=step, timestamp=read_at)
        snapshot = [(trial.number, trial.state.name,
                     tuple(trial.values) if trial.values is not None else None)
                    for trial in finished]
        return snapshot, frozenset(numbers)


def component_settings(component: Any) -> dict[str, Any]:
    """A sampler's or pruner's constructor settings, as far as the object still holds them.

    Optuna keeps most constructor arguments as ``_<name>`` attributes (some grouped in a
    named tuple); values that are not plain data are shown by their type or function name.
    """
    try:
        parameters = inspect.signature(type(component).__init__).parameters
    except (TypeError, ValueError):
        return {}
    namespace = vars(component) if hasattr(component, "__dict__") else {}
    groups = [value for value in namespace.values() if hasattr(value, "_asdict")]
    settings: dict[str, Any] = {}
    for name, parameter in parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        for source in (namespace, *(group._asdict() for group in groups)):
            found = next((source[key] for key in (f"_{name}", name) if key in source), _MISSING)
            if found is not _MISSING:
                settings[name] = _setting_text(found)
                break
    return settings


_MISSING = object()


def _setting_text(value: Any) -> Any:
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple, dict)):
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = None
        if text is not None and len(text) <= 500:
            return text
    if callable(value) and hasattr(value, "__qualname__"):
        return value.__qualname__
    return type(value).__name__


def _dominates(left: tuple[float, ...], right: tuple[float, ...]) -> bool:
    """``left`` is no worse everywhere and better somewhere (values to minimize)."""
    return all(a <= b for a, b in zip(left, right, strict=True)) and left != right


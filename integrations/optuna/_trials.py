"""Trial runs: one child of the study run per trial, active on the thread evaluating it.

A trial's run is opened on the thread that runs the trial (Optuna's ``n_jobs`` worker
threads start with no active run), so whatever another integration records inside the
objective — a scikit-learn fit, an XGBoost training — becomes its child: study → trial → model.

Everything here runs on the trial's thread and only appends records: the trial's params,
user attrs and state are read from the ``Trial`` object Optuna keeps in memory, never from
the storage. Intermediate values are recorded live, as ``trial.report`` is called.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from autolog._nesting import current_call
from autolog.plugin import ERROR_TAG, OPENED_BY, Run, start_run
from integrations.optuna._guarding import recording

if TYPE_CHECKING:
    from integrations.optuna._session import StudySession

#: Optuna's trial state → the run status MLflow shows.
STATUS_FOR_STATE = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
_NO_RESULT = object()


class TrialRecorder:
    """The run of one trial, from its start to the state Optuna gives it."""

    def __init__(self, session: StudySession, trial: Any, run: Run) -> None:
        self.session = session
        self.trial = trial
        self.run = run
        self.number: int = trial.number
        self.trial_id: int = trial._trial_id
        self.started = time.monotonic()
        self.reported: dict[int, float] = {}
        self.params_logged = 0
        self.errors: list[str] = []
        self.finished = False

    # -- live ------------------------------------------------------------------------------
    def instrument_report(self) -> None:
        """Record ``trial.report(value, step)`` as it happens, for this trial object only.

        An instance attribute rather than a patch of ``Trial.report``: pruning callbacks of
        other frameworks call ``report`` from inside their own (autologged) training call,
        where a class-level patch would count as nested and stay silent.
        """
        original_report: Callable[[float, int], None] = self.trial.report

        def report(value: float, step: int) -> None:
            original_report(value, step)  # the user's call: its errors are the user's
            with recording("optuna: recording an intermediate value", self.errors):
                self.on_report(value, step)

        self.trial.report = report

    def on_report(self, value: float, step: int) -> None:
        step = int(step)
        if step in self.reported:  # Optuna keeps the first value of a step; so does the run
            return
        value = float(value)
        self.reported[step] = value
        self.run.log_metrics({self.session.intermediate_key: value}, step=step)
        self.log_new_params()

    def log_new_params(self) -> None:
        frozen = self.trial._cached_frozen_trial
        if len(frozen.params) > self.params_logged:  # params suggested since the last look
            self.run.log_params(frozen.params)
            self.run.set_tags({f"distribution.{name}": repr(dist)
                               for name, dist in frozen.distributions.items()})
            self.params_logged = len(frozen.params)

    # -- end ---------------------------------------------------------------------------------
    def finish_from_objective(self, result: Any = _NO_RESULT,
                              exc: BaseException | None = None) -> None:
        """The state Optuna will give the trial, from what the objective did (no storage read)."""
        state, values, error, status = infer_outcome(
            result, exc, len(self.session.directions), self._last_intermediate())
        frozen = self.trial._cached_frozen_trial
        self.finish(state, values, error, status, frozen)

    def finish_from_frozen(self, frozen: Any) -> None:
        """The state ``study.tell`` stored (ask-and-tell loops)."""
        state = frozen.state.name
        self.finish(state, frozen.values, None, STATUS_FOR_STATE.get(state, "FAILED"), frozen)

    def finish(self, state: str, values: Sequence[float] | None, error: str | None,
               status: str, frozen: Any) -> None:
        if self.finished:
            return
        self.finished = True
        run, errors = self.run, self.errors
        with recording("optuna: recording a trial's params", errors):
            if frozen.params:
                run.log_params(frozen.params)
        tags: dict[str, Any] = {"optuna.state": state}
        tags.update({f"distribution.{name}": repr(dist)
                     for name, dist in frozen.distributions.items()})
        tags.update({f"user_attrs.{key}": _tag_text(value)
                     for key, value in frozen.user_attrs.items()})
        if "fixed_params" in frozen.system_attrs:
            tags["optuna.enqueued"] = "true"
        if state == "PRUNED":
            tags["pruned"] = "true"
        if error:
            tags["error"] = error
        with recording("optuna: recording a trial's tags", errors):
            run.set_tags(tags)
        metrics = {"duration_s": time.monotonic() - self.started}
        if values is not None:
            metrics.update(zip(self.session.value_keys, values, strict=False))
        with recording("optuna: recording a trial's values", errors):
            run.log_metrics(metrics)
        with recording("optuna: updating the study run", errors):
            self.session.trial_finished(self.number, state, values, frozen.params)
        if errors:
            run.set_tags({ERROR_TAG: "; ".join(dict.fromkeys(errors))})
        run.end(status)

    def _last_intermediate(self) -> float | None:
        if not self.reported:
            return None
        return self.reported[max(self.reported)]


def open_trial(session: StudySession, trial: Any) -> TrialRecorder:
    """Open the trial's run on this thread (it becomes the active run) and start recording."""
    number = trial.number
    run = start_run(f"trial-{number}", parent=session.run,
                    tags={**session.run_tags, "optuna.trial_number": number})
    run.integration_state[OPENED_BY] = session.integration_name
    if session.remote_parent is not None:
        session.remote_parent.link(run)
    recorder = TrialRecorder(session, trial, run)
    if session.record_intermediate:
        recorder.instrument_report()
    return recorder


class TrialObjective:
    """The user's objective, run with its trial's run active and in a fresh autolog scope."""

    def __init__(self, func: Callable[[Any], Any], session: StudySession) -> None:
        self.func = func
        self.session = session

    def __call__(self, trial: Any) -> Any:
        recorder = None
        errors: list[str] = []
        with recording("optuna: opening a trial run", errors):
            recorder = self.session.trial_started(trial)
        # Fits inside the objective are not "nested in optimize": they open their own runs,
        # children of the trial's run (study → trial → model).
        token = current_call.set(None)
        try:
            result = self.func(trial)
        except BaseException as exc:
            current_call.reset(token)
            if recorder is not None:
                with recording("optuna: closing a trial run", recorder.errors):
                    self.session.trial_ended(recorder, exc=exc)
            raise
        current_call.reset(token)
        if recorder is not None:
            with recording("optuna: closing a trial run", recorder.errors):
                self.session.trial_ended(recorder, result=result)
        return result


def infer_outcome(result: Any, exc: BaseException | None, n_objectives: int,
                  last_intermediate: float | None
                  ) -> tuple[str, list[float] | None, str | None, str]:
    """``(state, values, error, run status)`` as ``Study.optimize`` will decide them.

    Mirrors Optuna's rules: ``TrialPruned`` → PRUNED (its value: the last intermediate value,
    if any); another exception → FAIL; a returned value that is not a number, is NaN, or
    has the wrong number of objectives → FAIL.
    """
    if exc is not None:
        from optuna.exceptions import TrialPruned

        if isinstance(exc, TrialPruned):
            feasible = last_intermediate is not None and not math.isnan(last_intermediate)
            return "PRUNED", [last_intermediate] if feasible else None, None, "KILLED"
        error = f"{type(exc).__name__}: {exc}"
        return "FAIL", None, error, "FAILED" if isinstance(exc, Exception) else "KILLED"
    values = result if isinstance(result, Sequence) else [result]
    floats: list[float] = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return "FAIL", None, f"the objective returned {value!r}, not a number", "FAILED"
        if math.isnan(number):
            return "FAIL", None, "the objective returned NaN", "FAILED"
        floats.append(number)
    if len(floats) != n_objectives:
        return ("FAIL", None, f"the objective returned {len(floats)} values for "
                f"{n_objectives} objectives", "FAILED")
    return "COMPLETE", floats, None, "FINISHED"


def _tag_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)

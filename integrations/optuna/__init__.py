"""Optuna: study → trial → model run trees, for parallel and distributed studies too.

``autolog.autolog()`` then ``study.optimize(objective, ...)``:

- the **study run** (opened for the study, or the user's active run) holds the study's
  settings and a live summary: best value and params, best trial, counts by state, the
  Pareto front; at the end an optimization-history plot (SVG; PNG with
  ``plot_format="png"``);
- every trial is a **trial run** ``trial-<number>``, a child of the study run, active on the
  thread running the trial (``n_jobs`` threads included): params, distributions, value(s),
  state as run status, user attrs, and intermediate values as ``trial.report`` is called;
- whatever other integrations record inside the objective is a child of the trial's run;
- workers of one study in several processes (RDB or journal storage), and a study resumed
  later, share one study run: its id is claimed in the study's storage (``_claim``).

Patched: ``Study.optimize`` (wraps the objective), ``Study.ask`` and ``Study.tell`` (the
ask-and-tell loop: ``ask`` opens the trial's run and makes it active, ``tell`` closes it).
Inside ``optimize`` Optuna's own ``ask`` is left alone (the objective wrapper does the work).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Generator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from autolog.plugin import ERROR_TAG, Integration, Outcome, PatchedCall, guarded, register_background_work

if TYPE_CHECKING:
    from integrations.optuna._session import StudySession

# The integration's working modules (sessions, claims, plots) load with the first study, not
# with ``autolog()``: most programs that enable autolog never run an Optuna study.

__all__ = ["OptunaIntegration", "wait_for_background"]

Hook = Generator[None, Outcome, None]


class OptunaIntegration(Integration):
    name = "optuna"
    modules = ("optuna.study.study",)
    distributions = ("optuna",)
    supported_versions = ">=3.4,<6"
    #: ``plot``: the optimization-history plot on the study run at the end of ``optimize``;
    #: ``intermediate_values``: ``trial.report(value, step)`` as a metric with those steps.
    default_options = {"plot": True, "intermediate_values": True}

    def __init__(self) -> None:
        super().__init__()
        # storage object → study id → session (a storage is shared by the Study objects
        # loaded from it; weak, so a finished in-memory study is forgotten with its storage).
        self._sessions: weakref.WeakKeyDictionary[Any, dict[int, StudySession]] = (
            weakref.WeakKeyDictionary())
        self._sessions_lock = threading.RLock()

    def on_import(self, module: ModuleType) -> None:
        self.patch(module.Study, "optimize", self._patched_optimize)
        self.patch(module.Study, "ask", self._patched_ask)
        self.patch(module.Study, "tell", self._patched_tell)

    # -- hooks --------------------------------------------------------------------------------
    def _patched_optimize(self, call: PatchedCall) -> Hook:
        study = call.instance
        func = call.arg(0, "func")
        if not callable(func) or _in_optimize(study):
            return  # Optuna refuses these calls itself; nothing to record
        from autolog.plugin import activate
        from integrations.optuna._plot import PlotJob, submit
        from integrations.optuna._trials import TrialObjective

        session, new = self._session(study)
        if not new:
            session.set_metric_names(study.metric_names)  # set since the last optimize?
        pushed = activate(session.run)
        call.on_finish(lambda outcome: self._end_optimize(session, pushed, outcome, call.errors))
        with guarded("optuna: recording the study's settings"):
            session.log_settings(study, {"n_trials": call.arg(1, "n_trials"),
                                         "timeout": call.arg(2, "timeout"),
                                         "n_jobs": call.arg(3, "n_jobs", 1)})
        objective = TrialObjective(func, session)
        if "func" in call.kwargs:
            call.kwargs = {**call.kwargs, "func": objective}
        else:
            call.args = (objective, *call.args[1:])
        yield
        snapshot, pareto = session.summarize(study)
        if self.options.specific["plot"] and snapshot:
            job = PlotJob(session.run, session.study_name, tuple(session.directions),
                          tuple(session.value_keys), snapshot, pareto)
            if self.options.plot_format == "png":
                submit(job)  # matplotlib: on the plotting thread, waited for at exit
            else:
                from integrations.optuna._plot_svg import log_history_svg

                log_history_svg(job)

    def _patched_ask(self, call: PatchedCall) -> Hook:
        study = call.instance
        if _in_optimize(study):
            return  # a trial of optimize: the objective wrapper records it
        session, new = self._session(study)
        if new:
            with guarded("optuna: recording the study's settings"):
                session.log_settings(study)
        outcome = yield
        if outcome.ok:  # the trial's run becomes this thread's active run until ``tell``
            session.trial_started(outcome.result)

    def _patched_tell(self, call: PatchedCall) -> Hook:
        outcome = yield
        if outcome.ok:
            session = self._known_session(call.instance)
            if session is not None:
                session.trial_told(outcome.result)

    # -- sessions -------------------------------------------------------------------------------
    def _session(self, study: Any) -> tuple[StudySession, bool]:
        """The study's session in this process, and whether it was opened just now."""
        with self._sessions_lock:
            session = self._known_session(study)
            if session is not None:
                return session, False
            from integrations.optuna._opening import open_session

            global _studies_seen
            _studies_seen = True
            session = open_session(self, study)
            self._sessions.setdefault(study._storage, {})[study._study_id] = session
            return session, True

    def _known_session(self, study: Any) -> StudySession | None:
        with self._sessions_lock:
            return self._sessions.get(study._storage, {}).get(study._study_id)

    def _end_optimize(self, session: StudySession, pushed: bool, outcome: Outcome,
                      errors: list[str]) -> None:
        if pushed:
            from autolog.plugin import deactivate

            deactivate(session.run)
        if errors:
            session.run.set_tags({ERROR_TAG: "; ".join(dict.fromkeys(errors))})
        if session.owned:
            session.run.end(outcome.status)


def wait_for_background(timeout: float | None = 60.0) -> bool:
    """Wait for the integration's background work: PNG history plots, and linking this worker to a
    study run another machine created.

    ``autolog.flush()`` and the exit path wait for it themselves (it is registered with the
    lifecycle); this waits for Optuna's work alone.
    """
    from integrations.optuna._plot import wait_for_plots
    from integrations.optuna._remote_parent import wait_for_links

    deadline = None if timeout is None else time.monotonic() + timeout
    plots = wait_for_plots(timeout)
    remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
    return wait_for_links(remaining) and plots


_studies_seen = False  # no study: no background work to wait for at exit


def _wait_for_studies(timeout: float | None) -> bool:
    return not _studies_seen or wait_for_background(timeout)


# autolog.flush() and the exit path wait for it before they flush.
register_background_work("optuna plots and study-run links", _wait_for_studies)


def _in_optimize(study: Any) -> bool:
    return bool(getattr(study._thread_local, "in_optimize_loop", False))


"""Per-round metrics through XGBoost's own ``TrainingCallback``, at one append per metric.

XGBoost already keeps every evaluated value in the callback's ``evals_log`` (one list per eval
set and metric, a value appended per round). So the recorder keeps nothing of its own: on a
round it records it reads the last element of each list; on the rounds the throttle skips it
does nothing at all; at the end it reads the skipped rounds it still owes (the last one, the
best one) back from the same lists. That keeps the per-round cost at a dict of a few floats
and one ``log_metrics`` call, and makes the rounds it owes exact: they are the values XGBoost
computed, never a re-evaluation.

Curves stay honest: every point is logged at the round it was computed, the best round at its
own step and never again later, and the early-stopping summary goes to keys of its own
(``best_iteration``, ``best_score``, ``stopped_iteration``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from xgboost.callback import EarlyStopping, TrainingCallback

from autolog._values import is_valid_key, make_valid_key
from autolog.plugin import Run, guarded

logger = logging.getLogger("autolog.integrations.xgboost")

#: Metric-name prefixes XGBoost maximizes when early stopping is not told (its callback.py).
_MAXIMIZED = ("auc", "aucpr", "pre", "map", "ndcg")


def metric_key(*parts: str) -> str:
    """``valid-ndcg@5`` → ``valid-ndcg_at_5``: made valid here, once per series, so the core
    does not warn about a rename every XGBoost ranking user would hit."""
    key = "-".join(parts)
    return key if is_valid_key(key) else make_valid_key(key)


def is_maximized(metric: str) -> bool:
    """XGBoost's own rule for the direction of a metric when ``maximize`` is not given."""
    return metric != "mape" and metric.startswith(_MAXIMIZED)


class StoppingRule:
    """What early stopping watches, as far as the caller knows it before training."""

    __slots__ = ("active", "data", "metric", "maximize")

    def __init__(self, *, rounds: Any = None, maximize: bool | None = None,
                 callbacks: Sequence[Any] = ()) -> None:
        user_rule = next((cb for cb in callbacks if isinstance(cb, EarlyStopping)), None)
        self.active = bool(rounds) or user_rule is not None
        self.data: str | None = getattr(user_rule, "data", None) or None
        self.metric: str | None = getattr(user_rule, "metric_name", None) or None
        if maximize is None and user_rule is not None:
            maximize = getattr(user_rule, "maximize", None)
        self.maximize = maximize


class RoundRecorder(TrainingCallback):
    """Records the metrics of each boosting round into ``run``.

    ``every_n``: record every n-th round (None: only the first, the last and the best). The
    last and the best rounds are always recorded, at their own step. ``is_cv``: the values are
    ``(mean, std)`` pairs from ``xgboost.cv``, recorded as ``<name>-mean`` and ``<name>-std``.
    """

    def __init__(self, run: Run, *, every_n: int | None, rule: StoppingRule,
                 is_cv: bool = False, kind: str = "xgboost.callback") -> None:
        super().__init__()
        self.run = run
        self.every_n = every_n
        self.rule = rule
        self.is_cv = is_cv
        self._kind = kind
        self._log = run.log_metrics
        self._model: Any = None
        self._history: dict[str, dict[str, list[Any]]] | None = None
        self._series: list[tuple[tuple[str, ...], list[Any]]] = []
        self._first_step = 0
        self._seen = 0
        self._monitored_metric: str | None = None
        self._broken = False
        self._finished = False

    # -- XGBoost's callback API (training thread) ---------------------------------------------
    def before_training(self, model: Any) -> Any:
        with guarded(f"{self._kind} (before training)") as guard:
            self._model = model
            # Continued training (xgb_model=...): steps count the booster's rounds, as
            # best_iteration does, so the two agree.
            self._first_step = int(model.num_boosted_rounds())
        self._broken = guard.failed
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if self._broken:
            return False
        try:  # not the guard's ``with``: this runs every round, a ``try`` costs nothing
            seen = self._seen
            self._seen = seen + 1
            if seen == 0:
                self._start(evals_log, epoch)
            elif self.every_n is None or seen % self.every_n:
                return False
            if self.is_cv:
                metrics = {}
                for (mean_key, std_key), values in self._series:
                    mean, std = values[-1]
                    metrics[mean_key] = mean
                    metrics[std_key] = std
            else:
                metrics = {keys[0]: values[-1] for keys, values in self._series}
            if metrics:
                self._log(metrics, step=self._first_step + seen)
        except Exception as error:
            # One warning, then quiet: never a flood of failures on the training thread.
            self._broken = True
            with guarded(f"{self._kind} (round)"):
                raise error
        return False

    def after_training(self, model: Any) -> Any:
        return model

    # -- after the call (training thread, outside the training loop) -------------------------
    def adopt(self, evals_log: Any) -> None:
        """Take a finished training's ``evals_result()`` as the history (for estimators that
        accept no callback, such as XGBoost's random forests); :meth:`finish` records it."""
        if self._history is None and evals_log:
            self._start(evals_log, 0)

    def finish(self, *, ok: bool) -> None:
        """Record the rounds still owed (last, best) and, on success, the stopping summary.

        Idempotent; called by the patch after the training returned or raised.
        """
        if self._finished:
            return
        self._finished = True
        history = self._history
        if history is None or self._broken:
            return
        rounds = self._rounds_in_history()
        if rounds == 0:
            return
        owed = set()
        if not self._recorded(rounds - 1):
            owed.add(rounds - 1)
        best = self._best_round(rounds)
        if best is not None and not self._recorded(best):
            owed.add(best)
        for index in sorted(owed):
            self._log(self._round_metrics(index), step=self._first_step + index)
        if ok and self.rule.active:
            self._log_stopping_summary(rounds)

    # -- internals ------------------------------------------------------------------------------
    def _start(self, evals_log: Any, epoch: int) -> None:
        self._history = evals_log
        self._first_step += epoch
        series = []
        for data, metrics in evals_log.items():
            for metric, values in metrics.items():
                if self.is_cv:
                    keys = (metric_key(data, metric, "mean"), metric_key(data, metric, "std"))
                else:
                    keys = (metric_key(data, metric),)
                series.append((keys, values))
        self._series = series

    def _rounds_in_history(self) -> int:
        # A user's callback listed before this one may stop training: XGBoost then skips the
        # later callbacks for that round, but the round is in the history all the same.
        return max((len(values) for _, values in self._series), default=0)

    def _recorded(self, index: int) -> bool:
        if index >= self._seen:
            return False
        return index == 0 or (self.every_n is not None and index % self.every_n == 0)

    def _round_metrics(self, index: int) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        for keys, values in self._series:
            if index >= len(values):
                continue
            if self.is_cv:
                metrics[keys[0]], metrics[keys[1]] = values[index]
            else:
                metrics[keys[0]] = values[index]
        return metrics

    def _best_round(self, rounds: int) -> int | None:
        """Early stopping's own best round when it ran; else the best by XGBoost's rule."""
        if self.rule.active:
            best = self._model_attr("best_iteration")
            if best is not None:
                index = int(best) - self._first_step
                return index if 0 <= index < rounds else None
        if self.every_n == 1:
            return None  # every round is recorded anyway
        values = self._monitored_values()
        if values is None:
            return None
        maximize = self.rule.maximize
        if maximize is None:
            maximize = is_maximized(self._monitored_metric or "")
        best_index, best_value = None, None
        for index, value in enumerate(values[:rounds]):
            score = float(value[0] if self.is_cv else value)
            if math.isnan(score):
                continue
            if best_value is None or (score > best_value if maximize else score < best_value):
                best_index, best_value = index, score
        return best_index

    def _monitored_values(self) -> list[Any] | None:
        """The series early stopping watches (or would): the last metric of the last eval
        set unless an ``EarlyStopping`` callback names others."""
        history = self._history or {}
        if not history:
            return None
        data = self.rule.data if self.rule.data in history else list(history)[-1]
        metrics = history[data]
        if not metrics:
            return None
        metric = self.rule.metric if self.rule.metric in metrics else list(metrics)[-1]
        self._monitored_metric = metric
        return metrics[metric]

    def _model_attr(self, name: str) -> str | None:
        model = self._model
        if model is None:
            return None
        return model.attr(name)

    def _log_stopping_summary(self, rounds: int) -> None:
        summary: dict[str, Any] = {"stopped_iteration": self._first_step + rounds - 1}
        best_iteration = self._model_attr("best_iteration")
        best_score = self._model_attr("best_score")
        if best_iteration is not None:
            summary["best_iteration"] = int(best_iteration)
        if best_score is not None:
            summary["best_score"] = float(best_score)
        self._log(summary, step=0)

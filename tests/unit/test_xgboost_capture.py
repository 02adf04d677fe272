"""The per-round recorder and the parameter/dataset helpers of the XGBoost integration, driven
directly (no server, no training loop): which rounds are recorded, at which steps."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from autolog._autolog import autolog as enable_autolog
from autolog._warnings import AutologWarning
from integrations.xgboost import XGBoostIntegration
from integrations.xgboost._capture import RoundRecorder, StoppingRule, is_maximized
from integrations.xgboost._dataset import dmatrix_tags
from integrations.xgboost._params import booster_params, describe, train_params


class FakeRun:
    def __init__(self, fail: bool = False) -> None:
        self.points: list[tuple[str, float, int]] = []
        self.fail = fail

    def log_metrics(self, metrics: dict[str, Any], step: int = 0) -> None:
        if self.fail:
            raise RuntimeError("backend exploded")
        self.points.extend((key, value, step) for key, value in metrics.items())

    def steps(self, key: str) -> list[int]:
        return sorted(step for name, _, step in self.points if name == key)


class FakeBooster:
    def __init__(self, boosted: int = 0, **attrs: str) -> None:
        self.boosted = boosted
        self.attrs = attrs

    def num_boosted_rounds(self) -> int:
        return self.boosted

    def attr(self, key: str) -> str | None:
        return self.attrs.get(key)


def train(recorder: RoundRecorder, series: dict[str, dict[str, list[Any]]],
          model: Any = None, *, seen_rounds: int | None = None, ok: bool = True) -> None:
    """Feed ``series`` round by round as XGBoost's CallbackContainer would, then finish."""
    model = model if model is not None else FakeBooster()
    recorder.before_training(model)
    history: dict[str, dict[str, list[Any]]] = OrderedDict()
    rounds = len(next(iter(next(iter(series.values())).values())))
    for epoch in range(rounds):
        for data, metrics in series.items():
            for metric, values in metrics.items():
                history.setdefault(data, OrderedDict()).setdefault(metric, []).append(
                    values[epoch])
        if seen_rounds is None or epoch < seen_rounds:
            assert recorder.after_iteration(model, epoch, history) is False
    recorder.finish(ok=ok)


def recorder(run: FakeRun, every_n: int | None, **rule: Any) -> RoundRecorder:
    return RoundRecorder(run, every_n=every_n, rule=StoppingRule(**rule))  # type: ignore[arg-type]


def test_every_round_by_default_with_one_point_per_metric() -> None:
    run = FakeRun()
    train(recorder(run, 1), {"train": {"rmse": [3.0, 2.0, 1.0]},
                             "valid": {"rmse": [3.5, 2.5, 2.0]}})
    assert run.steps("train-rmse") == [0, 1, 2] and run.steps("valid-rmse") == [0, 1, 2]
    assert [value for key, value, _ in run.points if key == "valid-rmse"] == [3.5, 2.5, 2.0]


def test_throttle_keeps_first_every_nth_last_and_best() -> None:
    run = FakeRun()
    losses = [0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.45, 0.5, 0.55, 0.6, 0.65]
    train(recorder(run, 3), {"valid": {"logloss": losses}})
    assert run.steps("valid-logloss") == [0, 3, 5, 6, 9, 10]  # 5: best, 10: last
    assert dict((step, value) for _, value, step in run.points)[5] == 0.3


def test_only_first_last_and_best_when_every_n_is_none() -> None:
    run = FakeRun()
    train(recorder(run, None), {"valid": {"auc": [0.6, 0.7, 0.9, 0.8, 0.75]}})
    assert run.steps("valid-auc") == [0, 2, 4]  # auc is maximized: best is round 2


def test_best_follows_the_last_metric_of_the_last_eval_set_or_the_users_rule() -> None:
    series = {"train": {"error": [0.5, 0.4, 0.1, 0.3]},
              "valid": {"error": [0.5, 0.1, 0.4, 0.3], "auc": [0.5, 0.9, 0.6, 0.7]}}
    run = FakeRun()
    train(recorder(run, None), series)
    assert run.steps("valid-auc") == [0, 1, 3]  # valid-auc, maximized: best round 1

    run = FakeRun()
    early = xgb.callback.EarlyStopping(rounds=10, data_name="train", metric_name="error")
    train(recorder(run, None, callbacks=[early]), series)
    assert run.steps("valid-auc") == [0, 2, 3]  # train-error, minimized: best round 2

    run = FakeRun()
    train(recorder(run, None, callbacks=[early]), series,
          FakeBooster(best_iteration="1", best_score="0.4"))
    assert run.steps("valid-auc") == [0, 1, 3]  # early stopping's own word wins


def test_early_stopping_summary_uses_the_boosters_rounds() -> None:
    run = FakeRun()
    model = FakeBooster(boosted=10, best_iteration="12", best_score="0.25")  # continued training
    train(recorder(run, 4, rounds=3), {"valid": {"rmse": [0.4, 0.3, 0.25, 0.26, 0.27, 0.3]}},
          model)
    assert run.steps("valid-rmse") == [10, 12, 14, 15]  # 12: best, 15: last
    summary = {key: (value, step) for key, value, step in run.points
               if key in ("best_iteration", "best_score", "stopped_iteration")}
    assert summary == {"best_iteration": (12, 0), "best_score": (0.25, 0),
                       "stopped_iteration": (15, 0)}


def test_no_summary_when_training_failed_but_recorded_rounds_are_completed() -> None:
    run = FakeRun()
    train(recorder(run, 5, rounds=3), {"valid": {"rmse": [0.5, 0.4, 0.3]}},
          FakeBooster(best_iteration="2", best_score="0.3"), ok=False)
    assert run.steps("valid-rmse") == [0, 2]
    assert not run.steps("best_iteration")


def test_a_round_the_recorder_never_saw_is_still_recorded() -> None:
    run = FakeRun()  # a user's callback listed first stopped training at the last round
    train(recorder(run, 1), {"valid": {"rmse": [0.5, 0.4, 0.3, 0.2]}}, seen_rounds=3)
    assert run.steps("valid-rmse") == [0, 1, 2, 3]


def test_cv_pairs_become_mean_and_std() -> None:
    run = FakeRun()
    cv_recorder = RoundRecorder(run, every_n=1, rule=StoppingRule(),  # type: ignore[arg-type]
                                is_cv=True)
    train(cv_recorder, {"test": {"auc": [(0.7, 0.05), (0.8, 0.04)]}})
    assert sorted(run.points) == [("test-auc-mean", 0.7, 0), ("test-auc-mean", 0.8, 1),
                                  ("test-auc-std", 0.04, 1), ("test-auc-std", 0.05, 0)]


def test_keys_with_at_sign_are_made_valid_quietly() -> None:
    run = FakeRun()
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutologWarning)
        train(recorder(run, 1), {"valid": {"ndcg@5": [0.5, 0.6], "map@3-": [0.4, 0.5]}})
    assert run.steps("valid-ndcg_at_5") == [0, 1] and run.steps("valid-map_at_3-") == [0, 1]


def test_a_failing_log_warns_once_and_the_recorder_goes_quiet(autolog_errors: Any) -> None:
    run = FakeRun(fail=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(recorder(run, 1), {"valid": {"rmse": [0.5, 0.4, 0.3, 0.2]}})
    assert len([w for w in caught if issubclass(w.category, AutologWarning)]) == 1
    assert len(autolog_errors()) == 1 and "backend exploded" in autolog_errors()[0]


def test_xgboosts_direction_rule() -> None:
    assert all(map(is_maximized, ("auc", "aucpr", "ndcg", "ndcg@5", "map@3", "pre@10")))
    assert not any(map(is_maximized, ("rmse", "logloss", "mape", "mae", "error", "mlogloss")))


# -- params -------------------------------------------------------------------------------------
def test_booster_params_from_pairs_join_repeated_keys() -> None:
    params = [("eval_metric", "logloss"), ("eval_metric", "auc"), ("max_depth", 3)]
    assert booster_params(params) == {"eval_metric": "logloss,auc", "max_depth": 3}


def test_train_params_name_callables_never_their_repr() -> None:
    def squared_log(predt: Any, dtrain: Any) -> Any:
        return predt

    logged = train_params({"eta": 0.1}, 50, {
        "obj": squared_log, "custom_metric": squared_log, "maximize": False,
        "callbacks": [xgb.callback.EarlyStopping(rounds=3)], "xgb_model": FakeBooster()})
    assert logged == {"eta": 0.1, "num_boost_round": 50, "maximize": False,
                      "custom_objective": "squared_log", "custom_metric": "squared_log",
                      "callbacks": "EarlyStopping", "xgb_model": "FakeBooster"}
    assert describe(np.zeros((2, 3))) == "ndarray(shape=(2, 3), dtype=float64)"


# -- options ------------------------------------------------------------------------------------
def test_options_are_validated_naming_the_option() -> None:
    assert XGBoostIntegration.validate_options({})["importance_types"] == ("weight", "gain")
    merged = XGBoostIntegration.validate_options({"importance_types": "cover"})
    assert merged["importance_types"] == ("cover",)
    with pytest.raises(ValueError, match="log_every_n_iterations"):
        enable_autolog(xgboost={"log_every_n_iterations": 0})
    with pytest.raises(ValueError, match="importance_types"):
        enable_autolog(xgboost={"importance_types": ["weight", "bogus"]})
    with pytest.raises(ValueError, match="log_importance_plot"):
        enable_autolog(xgboost={"log_importance_plot": "yes"})
    assert XGBoostIntegration.validate_options({"log_importance_plot": "all"})[
        "log_importance_plot"] == "all"


# -- dataset ------------------------------------------------------------------------------------
def test_dmatrix_fingerprint_tells_training_sets_apart() -> None:
    features = np.arange(40, dtype=float).reshape(10, 4)
    labels = np.arange(10) % 2
    base = dmatrix_tags(xgb.DMatrix(features, labels))
    assert base["dataset.n_samples"] == "10" and base["dataset.n_features"] == "4"
    assert dmatrix_tags(xgb.DMatrix(features.copy(), labels.copy())) == base
    other_labels = dmatrix_tags(xgb.DMatrix(features, 1 - labels))
    named = dmatrix_tags(xgb.DMatrix(features, labels, feature_names=list("abcd")))
    fewer = dmatrix_tags(xgb.DMatrix(features[:8], labels[:8]))
    fingerprints = {tags["dataset.fingerprint"] for tags in (base, other_labels, named, fewer)}
    assert len(fingerprints) == 4

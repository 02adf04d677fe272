"""Optuna: the optuna-examples scripts users start from, and a study whose trials fit models.

``quadratic`` and ``xgboost`` follow optuna-examples' ``basic/quadratic.py`` and
``xgboost/xgboost_simple.py`` (default sampler, 100 trials); ``sklearn`` fits a
LogisticRegression on 375x20 in every trial (RandomSampler, so the sampler's cost stays flat).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Hooks, Workload


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _optimize(objective: Callable[[Any], float], trials: int, direction: str,
              sampler: Any = None) -> Callable[[Hooks], None]:
    import optuna

    def call(hooks: Hooks) -> None:
        study = optuna.create_study(direction=direction, sampler=sampler)
        study.optimize(hooks.optuna_objective(objective), n_trials=trials,
                       callbacks=hooks.optuna_callbacks() or None)

    return call


def _quadratic(sizes: Sizes) -> Callable[[Hooks], None]:
    _quiet()

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", -100, 100)
        y = trial.suggest_int("y", -1, 1)
        return x**2 + y

    return _optimize(objective, sizes.trials, "minimize")


def _sklearn(sizes: Sizes) -> Callable[[Hooks], None]:
    import optuna
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from autolog._bench.workloads.sklearn import make_data

    _quiet()
    X, y = make_data()
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)

    def objective(trial: Any) -> float:
        c = trial.suggest_float("C", 1e-3, 1e2, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(X_train, y_train).score(X_valid, y_valid)

    return _optimize(objective, sizes.trials, "maximize", optuna.samplers.RandomSampler(seed=0))


def _xgboost(sizes: Sizes) -> Callable[[Hooks], None]:
    import numpy as np
    import sklearn.datasets
    import sklearn.metrics
    import xgboost as xgb
    from sklearn.model_selection import train_test_split

    _quiet()
    data, target = sklearn.datasets.load_breast_cancer(return_X_y=True)

    def objective(trial: Any) -> float:
        train_x, valid_x, train_y, valid_y = train_test_split(data, target, test_size=0.25)
        dtrain = xgb.DMatrix(train_x, label=train_y)
        dvalid = xgb.DMatrix(valid_x, label=valid_y)
        param = {
            "verbosity": 0, "objective": "binary:logistic", "tree_method": "exact",
            "nthread": 1,
            "booster": trial.suggest_categorical("booster", ["gbtree", "gblinear", "dart"]),
            "lambda": trial.suggest_float("lambda", 1e-8, 1.0, log=True),
            "alpha": trial.suggest_float("alpha", 1e-8, 1.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.2, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.2, 1.0),
        }
        if param["booster"] in ("gbtree", "dart"):
            param["max_depth"] = trial.suggest_int("max_depth", 3, 9, step=2)
            param["min_child_weight"] = trial.suggest_int("min_child_weight", 2, 10)
            param["eta"] = trial.suggest_float("eta", 1e-8, 1.0, log=True)
            param["gamma"] = trial.suggest_float("gamma", 1e-8, 1.0, log=True)
            param["grow_policy"] = trial.suggest_categorical("grow_policy",
                                                             ["depthwise", "lossguide"])
        if param["booster"] == "dart":
            param["sample_type"] = trial.suggest_categorical("sample_type", ["uniform", "weighted"])
            param["normalize_type"] = trial.suggest_categorical("normalize_type",
                                                                ["tree", "forest"])
            param["rate_drop"] = trial.suggest_float("rate_drop", 1e-8, 1.0, log=True)
            param["skip_drop"] = trial.suggest_float("skip_drop", 1e-8, 1.0, log=True)
        booster = xgb.train(param, dtrain)
        labels = np.rint(booster.predict(dvalid))
        return sklearn.metrics.accuracy_score(valid_y, labels)

    return _optimize(objective, sizes.trials, "maximize")


WORKLOADS = [
    Workload("optuna.quadratic", ("headline",),
             lambda s: f"optuna-examples basic/quadratic.py, {s.trials} trials",
             ("optuna",), _quadratic, ("optuna",), models=True, tools=("bare", "autolog", "mlflow")),
    Workload("optuna.sklearn", ("headline", "peers"),
             lambda s: f"study.optimize, {s.trials} trials each fitting LogisticRegression "
                       "on 375x20",
             ("optuna", "sklearn"), _sklearn, ("optuna", "sklearn"),
             note="MLflow: MLflowCallback + mlflow.sklearn.autolog(log_models=False)"),
    Workload("optuna.xgboost", ("headline",),
             lambda s: f"optuna-examples xgboost/xgboost_simple.py, {s.trials} trials, nthread=1",
             ("optuna", "xgboost", "sklearn"), _xgboost, ("optuna", "xgboost"), models=True,
             tools=("bare", "autolog", "mlflow")),
]

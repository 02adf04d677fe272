"""Optuna: 200 trivial trials, and 20 trials that each fit a small scikit-learn model.

MLflow's counterpart is optuna-integration's ``MLflowCallback`` (one run per trial), with
``mlflow.sklearn.autolog(log_models=False)`` for the fits inside trials, as its users would.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from autolog._bench._destination import Destination
from autolog._bench._harness import Variant, Workload
from autolog._bench._sizes import Sizes
from autolog._bench._variants import autolog_variant, bare

AUTOLOG_STUDY = ("a study run (settings, best value and params, history plot rendered in the "
                 "background) and a child run per trial (params, distributions, value, state)")
CALLBACK_TRIAL = "one run per trial (params, value, state tags); no study run, no plot"


def has_callback() -> bool:
    """optuna-integration's MLflowCallback needs that package as well as mlflow."""
    return importlib.util.find_spec("optuna_integration") is not None


def _callback_variant(destination: Destination, workload: str, logged: str, units: int,
                      with_sklearn: bool) -> Variant:
    from optuna_integration.mlflow import MLflowCallback

    experiment = destination.experiment(workload, "mlflow")
    mlflow_sklearn = None
    if with_sklearn:
        import mlflow.sklearn as mlflow_sklearn

    def on() -> None:
        destination.use_mlflow_experiment(experiment)
        if mlflow_sklearn is not None:
            mlflow_sklearn.autolog(log_models=False, silent=True)

    def off() -> None:
        if mlflow_sklearn is not None:
            mlflow_sklearn.autolog(disable=True, silent=True)

    def callbacks() -> list[Any]:
        return [MLflowCallback(tracking_uri=destination.mlflow_uri, metric_name="value",
                               create_experiment=False)]

    return Variant("mlflow", logged, on, off, units=units,
                   census=lambda: destination.census_mlflow(experiment),
                   extra={"callbacks": callbacks})


def _wait_for_optuna() -> None:
    from integrations.optuna import wait_for_background

    wait_for_background(600)


def _optimize(objective: Callable[[Any], float], direction: str) -> Callable[[int, Variant], None]:
    import optuna

    def run(units: int, variant: Variant) -> None:
        callbacks = variant.extra.get("callbacks")
        study = optuna.create_study(direction=direction,
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=units, callbacks=callbacks() if callbacks else None)

    return run


def workloads(destination: Destination, sizes: Sizes, with_mlflow: bool) -> list[Workload]:
    import optuna
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from autolog._bench._sklearn import FEATURES, make_data

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = make_data()
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)

    def trivial(trial: Any) -> float:
        return (trial.suggest_float("x", -10.0, 10.0) - 2.0) ** 2

    def fitting(trial: Any) -> float:
        c = trial.suggest_float("C", 1e-3, 1e2, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(X_train, y_train).score(X_valid, y_valid)

    with_callback = with_mlflow and has_callback()
    trivial_variants = [
        bare(), autolog_variant(destination, "optuna.trivial", {"optuna": True}, AUTOLOG_STUDY,
                                before_flush=_wait_for_optuna)]
    fit_variants = [
        bare(), autolog_variant(
            destination, "optuna.sklearn", {"optuna": True, "sklearn": {"log_models": False}},
            AUTOLOG_STUDY + "; each fit a child run of its trial (params, training metrics, "
            "3 plots); no model", before_flush=_wait_for_optuna)]
    if with_callback:
        trivial_variants.append(_callback_variant(
            destination, "optuna.trivial", CALLBACK_TRIAL, sizes.mlflow_trivial_trials, False))
        fit_variants.append(_callback_variant(
            destination, "optuna.sklearn", CALLBACK_TRIAL + "; mlflow.sklearn.autolog("
            "log_models=False): each fit a separate run, not linked to its trial (params, "
            "training metrics, 3 plots)", sizes.mlflow_fit_trials, True))
    return [
        Workload("optuna.trivial", "optuna", f"study.optimize, {sizes.trivial_trials} trivial "
                 "trials (one float, RandomSampler)", sizes.trivial_trials, "trial",
                 _optimize(trivial, "minimize"), trivial_variants),
        Workload("optuna.sklearn", "optuna", f"study.optimize, {sizes.fit_trials} trials each "
                 f"fitting LogisticRegression on {len(X_train)}x{FEATURES}", sizes.fit_trials,
                 "trial", _optimize(fitting, "maximize"), fit_variants),
    ]

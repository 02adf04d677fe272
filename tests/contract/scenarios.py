"""Per-integration scenarios for the contract suite (tests/contract/test_contract.py).

Every registered integration needs an entry in ``SCENARIOS``: its entry-point name → a factory
returning a :class:`Scenario`. The factory, and this module, must not import the framework
(the suite checks enabling before the framework import); import it inside the callables.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingCall:
    """``fn(*args, **kwargs)``: one minimal training call through the patched entry point."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


@dataclass(frozen=True)
class Scenario:
    #: Importing this module makes the integration patch ``entry``.
    module: str
    #: The patched training entry point, ``"module:Owner.attribute"`` (or ``"module:function"``);
    #: it must be defined on that owner itself, since the suite spies on it there.
    entry: str
    #: Builds a call that trains through ``entry`` (called after autolog is enabled).
    call: Callable[[], TrainingCall]
    #: Builds a call through ``entry`` in which the framework or the user's code raises.
    failing_call: Callable[[], TrainingCall]
    #: What "the same training result" compares between two calls (deterministic ones).
    fingerprint: Callable[[Any], Any] = lambda result: result
    #: Runs one top-level ``call()`` opens (a search: 1 + its children).
    runs_per_call: int = 1
    #: Keyword arguments the integration may add or replace (to pass a framework callback).
    injected_kwargs: frozenset[str] = frozenset()


def resolve_entry(entry: str) -> tuple[Any, str]:
    """``"pkg.mod:Owner.attr"`` → (Owner, "attr"), importing ``pkg.mod``."""
    module_name, _, path = entry.partition(":")
    owner: Any = importlib.import_module(module_name)
    *owners, attribute = path.split(".")
    for name in owners:
        owner = getattr(owner, name)
    return owner, attribute


def _fakeml() -> Scenario:
    def fakeml() -> Any:
        return importlib.import_module("tests.fake_framework.fakeml")

    return Scenario(
        module="tests.fake_framework.fakeml",
        entry="tests.fake_framework.fakeml:Model.fit",
        call=lambda: TrainingCall(fakeml().Model(lr=0.05, epochs=4).fit, ([1.0, 2.0, 3.0],),
                                  {"y": [2.0, 4.0, 6.5]}),
        failing_call=lambda: TrainingCall(fakeml().Model().fit, ([],)),
        fingerprint=lambda model: (model.weight_, model.loss_),
    )


def _lightning() -> Scenario:
    from tests.integration._lightning_models import contract_scenario

    return contract_scenario()


def _sklearn() -> Scenario:
    def logistic_regression() -> Any:
        return importlib.import_module("sklearn.linear_model").LogisticRegression

    X = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.1, 0.8], [0.8, 0.3]]
    return Scenario(
        module="sklearn.linear_model",
        entry="sklearn.linear_model:LogisticRegression.fit",
        call=lambda: TrainingCall(logistic_regression()(C=0.5).fit, (X, [0, 1, 0, 1, 0, 1])),
        failing_call=lambda: TrainingCall(logistic_regression()().fit, (X, [0] * 6)),
        fingerprint=lambda model: (model.coef_.tolist(), model.intercept_.tolist()),
    )


def _xgboost() -> Scenario:
    def train_call(labels: list[float], params: dict[str, Any]) -> TrainingCall:
        xgboost = importlib.import_module("xgboost")
        features = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.1, 0.8], [0.8, 0.3]]
        dtrain = xgboost.DMatrix(features, label=labels)
        return TrainingCall(importlib.import_module("xgboost.training").train,
                            (params, dtrain, 4), {"evals": [(dtrain, "train")],
                                                  "verbose_eval": False})

    good = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1, "seed": 0}
    return Scenario(
        module="xgboost",
        entry="xgboost.training:train",
        call=lambda: train_call([0, 1, 0, 1, 0, 1], good),
        failing_call=lambda: train_call([0, 1, 0, 1, 0, 1], {"objective": "no:such"}),
        fingerprint=lambda booster: booster.get_dump(),
        injected_kwargs=frozenset({"callbacks"}),
    )


def _optuna() -> Scenario:
    studies: list[Any] = []  # the fingerprint of a call: its study's trials

    def optimize_call(objective: Callable[[Any], float]) -> TrainingCall:
        optuna = importlib.import_module("optuna")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        studies.append(study)
        return TrainingCall(study.optimize, (), {"func": objective, "n_trials": 2})

    def objective(trial: Any) -> float:
        return (trial.suggest_float("x", -1.0, 1.0) - 0.5) ** 2

    def failing(trial: Any) -> float:
        raise ValueError("the objective failed")

    return Scenario(
        module="optuna",
        entry="optuna.study.study:Study.optimize",
        call=lambda: optimize_call(objective),
        failing_call=lambda: optimize_call(failing),
        fingerprint=lambda _: [(t.params, t.values) for t in studies[-1].trials],
        runs_per_call=3,  # the study run and one run per trial
        injected_kwargs=frozenset({"func"}),  # the objective, wrapped to run inside its trial's run
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "fakeml": _fakeml,
    "lightning": _lightning,
    "optuna": _optuna,
    "sklearn": _sklearn,
    "xgboost": _xgboost,
}

"""The parameters of a training call, as text a tracking server shows well.

Booster params are logged as given (a list of pairs may repeat ``eval_metric``: the values are
joined); the ``train()``/``cv()`` arguments that change the model are added under their own
names; callables (custom objectives, metrics, callbacks) are logged by name, never by their
``repr`` (which holds a memory address and would differ between identical runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np


def describe(value: Any) -> Any:
    """A param value as stable, readable text (or a value the core turns into text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return f"ndarray(shape={value.shape}, dtype={value.dtype})"
    if callable(value):
        return callable_name(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(describe(item)) for item in value)
    return str(value)


def callable_name(function: Callable[..., Any]) -> str:
    """``my_objective`` for a function, the class name for a callable object."""
    if isinstance(function, type):
        return function.__name__
    name = getattr(function, "__name__", None)
    return name if isinstance(name, str) else type(function).__name__


def booster_params(params: Any) -> dict[str, Any]:
    """``params`` as XGBoost takes it: a dict, or pairs in which a key may repeat."""
    if params is None:
        return {}
    pairs: Iterable[tuple[Any, Any]] = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, list[Any]] = {}
    for key, value in pairs:
        grouped.setdefault(str(key), []).append(value)
    return {key: describe(values[0] if len(values) == 1 else values)
            for key, values in grouped.items()}


def _common_call_params(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if kwargs.get("early_stopping_rounds") is not None:
        found["early_stopping_rounds"] = kwargs["early_stopping_rounds"]
    if kwargs.get("maximize") is not None:
        found["maximize"] = kwargs["maximize"]
    if kwargs.get("obj") is not None:
        found["custom_objective"] = callable_name(kwargs["obj"])
    if kwargs.get("custom_metric") is not None:
        found["custom_metric"] = callable_name(kwargs["custom_metric"])
    callbacks = kwargs.get("callbacks")
    if callbacks:
        found["callbacks"] = ",".join(type(callback).__name__ for callback in callbacks)
    return found


def train_params(params: Any, num_boost_round: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Booster params plus the ``xgboost.train`` arguments that shape the model."""
    found = booster_params(params)
    found["num_boost_round"] = num_boost_round
    found.update(_common_call_params(kwargs))
    evals = kwargs.get("evals")
    if evals:
        found["evals"] = ",".join(str(name) for _, name in evals)
    xgb_model = kwargs.get("xgb_model")
    if xgb_model is not None:
        found["xgb_model"] = type(xgb_model).__name__ if not isinstance(xgb_model, str) \
            else xgb_model
    return found


_CV_ARGUMENTS = ("nfold", "stratified", "seed", "shuffle")


def cv_params(params: Any, num_boost_round: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Booster params plus the ``xgboost.cv`` arguments that shape the folds and models."""
    found = booster_params(params)
    found["num_boost_round"] = num_boost_round
    found.update(_common_call_params(kwargs))
    defaults = {"nfold": 3, "stratified": False, "seed": 0, "shuffle": True}
    for name in _CV_ARGUMENTS:
        found[name] = kwargs.get(name, defaults[name])
    metrics = kwargs.get("metrics")
    if metrics:
        found["metrics"] = describe([metrics] if isinstance(metrics, str) else list(metrics))
    if kwargs.get("folds") is not None:
        found["folds"] = type(kwargs["folds"]).__name__
    return found


def estimator_params(estimator: Any) -> dict[str, Any]:
    """An XGBoost sklearn estimator's ``get_params()``, every value as stable text."""
    return {name: describe(value) for name, value in estimator.get_params(deep=False).items()}

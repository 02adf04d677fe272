"""What a Lightning fit was configured with, as flat MLflow params.

Names: the module's (and datamodule's) ``hparams`` keep the user's own names (nested dicts
flattened with dots); everything autolog adds lives under a prefix: ``optimizer.*`` (with
several optimizers ``optimizer0.*``, ``optimizer1.*``; with several param groups
``optimizer.group0.*``…), ``lr_scheduler.*`` (``lr_scheduler0.*``…), ``trainer.*``,
``early_stopping.*``, ``model_checkpoint.*`` and ``model.*``. Where a user's hparam already uses
a name, the hparam wins: a run's params cannot change.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 4
_SCALARS = (str, int, float, bool, type(None))
# Optimizer switches that choose an implementation, not the result.
_IMPLEMENTATION = frozenset({"params", "initial_lr", "foreach", "fused", "capturable",
                             "differentiable"})
# Scheduler state_dict entries that are progress, not configuration.
_SCHEDULER_STATE = frozenset({
    "base_lrs", "last_epoch", "verbose", "best", "num_bad_epochs", "cooldown_counter",
    "mode_worse", "eps", "min_lrs", "lr_lambdas", "optimizer",
})


def hparams(module: Any, datamodule: Any = None) -> dict[str, Any]:
    """``save_hyperparameters()`` values of the module, then the datamodule's new ones."""
    params: dict[str, Any] = {}
    for owner in (module, datamodule):
        values = getattr(owner, "hparams", None) if owner is not None else None
        if isinstance(values, Mapping):
            for key, value in _flatten("", values, 0).items():
                params.setdefault(key, value)
    return params


def _flatten(prefix: str, value: Any, depth: int) -> dict[str, Any]:
    if isinstance(value, argparse.Namespace):
        value = vars(value)
    if isinstance(value, Mapping) and value and depth < _MAX_DEPTH:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(f"{prefix}.{key}" if prefix else str(key), item, depth + 1))
        return flat
    return {prefix: value} if prefix else {}


def optimizer_prefixes(optimizers: list[Any]) -> list[list[str]]:
    """Per optimizer, per param group: the distinct name its params are logged under."""
    prefixes = []
    for index, optimizer in enumerate(optimizers):
        name = "optimizer" if len(optimizers) == 1 else f"optimizer{index}"
        groups = getattr(optimizer, "param_groups", None) or [{}]
        prefixes.append([name if len(groups) == 1 else f"{name}.group{group}"
                         for group in range(len(groups))])
    return prefixes


def optimizer_params(optimizers: list[Any]) -> dict[str, Any]:
    """Class and every scalar setting (lr, betas, eps, weight_decay, momentum…) per group."""
    params: dict[str, Any] = {}
    all_prefixes = optimizer_prefixes(optimizers)
    for index, (optimizer, prefixes) in enumerate(zip(optimizers, all_prefixes, strict=True)):
        name = "optimizer" if len(optimizers) == 1 else f"optimizer{index}"
        params[f"{name}.name"] = type(optimizer).__name__
        for group, prefix in zip(getattr(optimizer, "param_groups", []), prefixes, strict=False):
            for key, value in group.items():
                if key in _IMPLEMENTATION or value is None or not _is_setting(value):
                    continue
                if key == "lr":  # a scheduler may have moved it already; its base is the setting
                    value = group.get("initial_lr", value)
                params[f"{prefix}.{key}"] = value
    return params


def group_lrs(optimizers: list[Any]) -> dict[str, float]:
    """The current learning rate of every param group, named like the params."""
    lrs: dict[str, float] = {}
    single = len(optimizers) == 1 and len(getattr(optimizers[0], "param_groups", ())) == 1
    for optimizer, prefixes in zip(optimizers, optimizer_prefixes(optimizers), strict=True):
        for group, prefix in zip(getattr(optimizer, "param_groups", []), prefixes, strict=False):
            lr = group.get("lr")
            if isinstance(lr, (int, float)):
                lrs["lr" if single else f"lr/{prefix}"] = float(lr)
    return lrs


def scheduler_params(configs: list[Any]) -> dict[str, Any]:
    """Each LR scheduler's class, its Lightning config and its scalar settings."""
    params: dict[str, Any] = {}
    for index, config in enumerate(configs):
        prefix = "lr_scheduler" if len(configs) == 1 else f"lr_scheduler{index}"
        scheduler = getattr(config, "scheduler", None)
        params[f"{prefix}.name"] = type(scheduler).__name__
        for field in ("interval", "frequency", "monitor"):
            value = getattr(config, field, None)
            if value is not None:
                params[f"{prefix}.{field}"] = value
        try:
            state = scheduler.state_dict() if scheduler is not None else {}
        except Exception:  # a custom scheduler without a usable state_dict
            state = {}
        for key, value in state.items():
            if not key.startswith("_") and key not in _SCHEDULER_STATE and _is_setting(value):
                params[f"{prefix}.{key}"] = value
    return params


def trainer_params(trainer: Any) -> dict[str, Any]:
    """The trainer settings that shape results, and the seed ``seed_everything`` set."""
    strategy = trainer.strategy
    params: dict[str, Any] = {
        "trainer.max_epochs": trainer.max_epochs,
        "trainer.max_steps": trainer.max_steps,
        "trainer.precision": trainer.precision,
        "trainer.accumulate_grad_batches": trainer.accumulate_grad_batches,
        "trainer.gradient_clip_val": trainer.gradient_clip_val,
        "trainer.accelerator": type(trainer.accelerator).__name__,
        "trainer.strategy": type(strategy).__name__,
        "trainer.devices": trainer.num_devices,
        "trainer.num_nodes": trainer.num_nodes,
        "trainer.world_size": trainer.world_size,
    }
    if trainer.gradient_clip_val:
        params["trainer.gradient_clip_algorithm"] = trainer.gradient_clip_algorithm
    start_method = getattr(strategy, "_start_method", None)  # ddp: "popen"; ddp_spawn: "spawn"
    if isinstance(start_method, str):
        params["trainer.strategy.start_method"] = start_method
    limit = trainer.limit_train_batches
    if limit is not None and limit != 1.0:
        params["trainer.limit_train_batches"] = limit
    seed = os.environ.get("PL_GLOBAL_SEED")
    if seed:
        params["seed"] = seed
    return params


def callback_params(trainer: Any) -> dict[str, Any]:
    """EarlyStopping and ModelCheckpoint settings (the first of each, as Lightning reports)."""
    params: dict[str, Any] = {}
    stopping = trainer.early_stopping_callback
    if stopping is not None:
        params.update({
            "early_stopping.monitor": stopping.monitor,
            "early_stopping.mode": stopping.mode,
            "early_stopping.patience": stopping.patience,
            # EarlyStopping keeps min_delta negated for mode="min"; the setting is its size.
            "early_stopping.min_delta": abs(float(stopping.min_delta)),
        })
    checkpoint = trainer.checkpoint_callback
    if checkpoint is not None and getattr(checkpoint, "monitor", None):
        params.update({
            "model_checkpoint.monitor": checkpoint.monitor,
            "model_checkpoint.mode": checkpoint.mode,
            "model_checkpoint.save_top_k": checkpoint.save_top_k,
        })
    return params


def best_monitor(trainer: Any) -> tuple[str | None, str]:
    """The metric that defines the best epoch: ModelCheckpoint's, else EarlyStopping's."""
    for callback in (trainer.checkpoint_callback, trainer.early_stopping_callback):
        monitor = getattr(callback, "monitor", None)
        mode = getattr(callback, "mode", "min")
        if monitor:
            return monitor, mode if mode in ("min", "max") else "min"
    return None, "min"


def model_summary(namespace: str, module: Any) -> tuple[str, dict[str, int]]:
    """Lightning's own model summary table, and the total / trainable parameter counts."""
    import importlib

    summary_module = importlib.import_module(f"{namespace}.utilities.model_summary")
    summary = summary_module.ModelSummary(module, max_depth=1)
    counts = {"model.total_params": int(summary.total_parameters),
              "model.trainable_params": int(summary.trainable_parameters)}
    return str(summary), counts


def _is_setting(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    return isinstance(value, (tuple, list)) and len(value) <= 16 and all(
        isinstance(item, _SCALARS) for item in value)


def merge_without_overriding(first: dict[str, Any], *others: dict[str, Any]) -> dict[str, Any]:
    """``first`` plus the keys of ``others`` it does not have (the user's names win)."""
    merged = dict(first)
    for other in others:
        for key, value in other.items():
            merged.setdefault(key, value)
    return merged

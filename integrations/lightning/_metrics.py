"""Choosing and converting what ``trainer.callback_metrics`` holds, per epoch and per step.

``callback_metrics`` is one dict Lightning keeps updating: at an epoch boundary it still holds
the last batch's step values and the validation values of the last epoch that validated. Two
rules keep the series honest without Lightning internals:

- **freshness by identity**: Lightning stores a new tensor whenever it recomputes a value, so a
  value that ``is`` the one seen at the previous look is stale (validation that did not run this
  epoch, a step metric that was not logged) and is left out;
- **Lightning's own naming**: a value logged with ``on_step`` and ``on_epoch`` appears as
  ``name_step`` and ``name_epoch`` (and ``name``, the same tensor as the current one of the
  two). Epoch series keep ``name`` (the name the user wrote) and drop the stale ``name_step``
  and the duplicate ``name_epoch``; step series are recorded as ``step/<name>`` on the global
  step axis, so the two never mix.

Tensors become floats with one ``.item()`` per CPU value and one transfer per device and dtype
otherwise: no extra device synchronisation per value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STEP_PREFIX = "step/"


class Freshness:
    """Remembers the value objects seen at the last look, to pick the ones that changed."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def fresh(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        seen = self._seen
        changed = {key: value for key, value in metrics.items() if seen.get(key) is not value}
        self._seen = dict(metrics)
        return changed

    def mark_seen(self, metrics: Mapping[str, Any]) -> None:
        self._seen = dict(metrics)


def epoch_values(fresh: Mapping[str, Any], keep: str | None = None) -> dict[str, Any]:
    """The epoch series' values among ``fresh`` ones (``keep``: a key never dropped)."""
    chosen: dict[str, Any] = {}
    for key, value in fresh.items():
        if key == keep:
            chosen[key] = value
        elif key.endswith("_step") and key[:-5] + "_epoch" in fresh:
            continue  # the last batch's value of a metric that also has an epoch value
        elif key.endswith("_epoch") and fresh.get(key[:-6]) is value:
            continue  # the same tensor as ``name``
        else:
            chosen[key] = value
    return chosen


def step_values(fresh: Mapping[str, Any]) -> dict[str, Any]:
    """``step/<name>`` → value for the step series (``name_step`` and ``name`` are one)."""
    chosen: dict[str, Any] = {}
    for key, value in fresh.items():
        if key.endswith("_step"):
            chosen[STEP_PREFIX + key[:-5]] = value
        elif fresh.get(key + "_step") is value:
            continue
        else:
            chosen[STEP_PREFIX + key] = value
    return chosen


def to_floats(values: Mapping[Any, Any]) -> dict[Any, Any]:
    """Scalar tensors → floats; plain numbers pass through; anything else is dropped."""
    import torch

    converted: dict[Any, Any] = {}
    on_device: dict[tuple[Any, Any], list[tuple[Any, Any]]] = {}
    for key, value in values.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                continue
            if value.device.type == "cpu":
                converted[key] = value.item()
            else:
                on_device.setdefault((value.device, value.dtype), []).append((key, value))
        elif isinstance(value, (int, float)):
            converted[key] = value
    for items in on_device.values():
        stacked = torch.stack([value.detach().reshape(()) for _, value in items])
        for (key, _), number in zip(items, stacked.tolist(), strict=True):
            converted[key] = number
    return converted

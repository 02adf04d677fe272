"""Which epochs (boosting rounds, steps) to record: every n-th, plus first, last and best.

Recording every epoch of a long training floods the backend; recording every n-th loses the
moments people look for. An integration offers each epoch's metrics; :meth:`Throttle.offer`
says whether to record them now, and :meth:`Throttle.finish` returns what must still be
recorded at the end: the last epoch and the best one (by ``monitor``), if they were skipped::

    throttle = Throttle(options.log_every_n_epochs, monitor="val_loss", mode="min")
    for epoch, metrics in ...:
        if throttle.offer(epoch, metrics):
            run.log_metrics(metrics, step=epoch)
    for epoch, metrics in throttle.finish():
        run.log_metrics(metrics, step=epoch)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class Throttle:
    """Not thread-safe: one per training loop."""

    __slots__ = ("every_n", "monitor", "mode", "_offers", "_pending", "_best",
                 "_best_recorded")

    def __init__(self, every_n: int = 1, *, monitor: str | None = None,
                 mode: str = "min") -> None:
        if type(every_n) is not int or every_n < 1:
            raise ValueError(f"Throttle: every_n must be a positive int, not {every_n!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"Throttle: mode must be 'min' or 'max', not {mode!r}")
        self.every_n = every_n
        self.monitor = monitor
        self.mode = mode
        self._offers = 0
        self._pending: tuple[int, dict[str, Any]] | None = None
        self._best: tuple[float, int, dict[str, Any]] | None = None
        self._best_recorded = True

    def offer(self, step: int, metrics: Mapping[str, Any]) -> bool:
        """Whether to record ``metrics`` of ``step`` now (the first offer always is)."""
        emit = self._offers % self.every_n == 0
        self._offers += 1
        if self.monitor is not None and self.monitor in metrics:
            self._consider_best(step, metrics, emit)
        self._pending = None if emit else (step, dict(metrics))
        return emit

    def finish(self) -> list[tuple[int, dict[str, Any]]]:
        """``(step, metrics)`` still to record: the best and the last offer, if skipped."""
        owed: dict[int, dict[str, Any]] = {}
        if self._best is not None and not self._best_recorded:
            owed[self._best[1]] = self._best[2]
        if self._pending is not None:
            owed[self._pending[0]] = self._pending[1]
        self._pending = None
        self._best_recorded = True
        return sorted(owed.items(), key=lambda item: item[0])

    @property
    def best_step(self) -> int | None:
        return self._best[1] if self._best is not None else None

    @property
    def best_value(self) -> float | None:
        return self._best[0] if self._best is not None else None

    def _consider_best(self, step: int, metrics: Mapping[str, Any], emit: bool) -> None:
        try:
            value = float(metrics[self.monitor])  # type: ignore[index]
        except (TypeError, ValueError):
            return
        if math.isnan(value):
            return
        best = self._best
        if best is None or (value < best[0] if self.mode == "min" else value > best[0]):
            self._best = (value, step, dict(metrics))
            self._best_recorded = emit

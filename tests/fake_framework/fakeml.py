"""A tiny stand-in for a training framework, with the shapes real ones have.

``Model.fit`` is patched by the fake integration; ``Tuned`` overrides ``fit`` and calls
``super().fit`` (a nested patched call); ``Plain`` inherits ``fit``; ``train`` is a module-level
entry point that may call a user function (to nest any other training inside it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__version__ = "1.0"


class FitError(ValueError):
    """Raised by the framework itself for data it cannot fit."""


class Model:
    def __init__(self, lr: float = 0.1, epochs: int = 3) -> None:
        self.lr = lr
        self.epochs = epochs

    def get_params(self) -> dict[str, Any]:
        return {"lr": self.lr, "epochs": self.epochs}

    def fit(self, X: Sequence[float], y: Sequence[float] | None = None, *,
            on_epoch: Callable[[int, float], None] | None = None) -> Model:
        if not X:
            raise FitError("cannot fit an empty dataset")
        y = list(y) if y is not None else [2.0 * x for x in X]
        weight = 0.0
        for epoch in range(self.epochs):
            grad = sum((weight * x - t) * x for x, t in zip(X, y, strict=True)) / len(X)
            weight -= self.lr * grad
            if on_epoch is not None:
                on_epoch(epoch, self._loss(weight, X, y))
        self.weight_ = weight
        self.loss_ = self._loss(weight, X, y)
        return self

    @staticmethod
    def _loss(weight: float, X: Sequence[float], y: Sequence[float]) -> float:
        return sum((weight * x - t) ** 2 for x, t in zip(X, y, strict=True)) / len(X)


class Tuned(Model):
    """Overrides fit and calls the base one: the inner call is nested."""

    def fit(self, X: Sequence[float], y: Sequence[float] | None = None, **kwargs: Any) -> Tuned:
        self.lr = self.lr / 2
        return super().fit(X, y, **kwargs)


class Plain(Model):
    """Inherits fit."""


def train(fn: Callable[[], Any] | None = None, *, steps: int = 2) -> dict[str, Any]:
    """Module-level entry point; runs ``fn`` (any user code) inside it."""
    inner = fn() if fn is not None else None
    return {"steps": steps, "inner": inner, "ran_inner": fn is not None}

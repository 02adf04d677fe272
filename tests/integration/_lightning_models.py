"""Tiny Lightning modules for the integration tests, for either namespace.

``define(pl)`` builds the classes on ``lightning.pytorch`` or ``pytorch_lightning``. The
``lightning.pytorch`` ones are also this module's attributes under their own names, so they
pickle (``ddp_spawn`` sends the module to new processes).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

FEATURES = 4


def loaders(samples: int = 64, batch_size: int = 16, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """A deterministic regression problem: (train, val) loaders."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, FEATURES, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(samples, 1,
                                                                           generator=generator)
    train = TensorDataset(x, y)
    val = TensorDataset(x[: samples // 2], y[: samples // 2])
    return DataLoader(train, batch_size=batch_size), DataLoader(val, batch_size=batch_size)


def define(pl: Any, suffix: str = "") -> SimpleNamespace:
    """The test modules built on the namespace ``pl``."""

    class LitMLP(pl.LightningModule):
        """Adam (optionally two param groups and a StepLR), train/val/test losses."""

        def __init__(self, hidden: int = 8, lr: float = 0.05, weight_decay: float = 0.0,
                     scheduler: bool = False, two_groups: bool = False,
                     fail_at_epoch: int | None = None, interrupt_at_epoch: int | None = None,
                     optim: dict | None = None) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.body = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU())
            self.head = nn.Linear(hidden, 1)
            self.frozen = nn.Linear(1, 1)
            self.frozen.requires_grad_(False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.body(x))

        def _loss(self, batch: Any) -> torch.Tensor:
            x, y = batch
            return nn.functional.mse_loss(self(x), y)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            if self.current_epoch == self.hparams.fail_at_epoch and batch_idx == 1:
                raise RuntimeError("training_step failed on purpose")
            if self.current_epoch == self.hparams.interrupt_at_epoch and batch_idx == 1:
                raise KeyboardInterrupt
            loss = self._loss(batch)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", self._loss(batch))

        def test_step(self, batch: Any, batch_idx: int) -> None:
            self.log("test_loss", self._loss(batch))

        def configure_optimizers(self) -> Any:
            hp = self.hparams
            if hp.two_groups:
                groups = [{"params": self.body.parameters(), "lr": hp.lr},
                          {"params": self.head.parameters(), "lr": hp.lr / 10}]
                optimizer = torch.optim.Adam(groups, weight_decay=hp.weight_decay)
            else:
                optimizer = torch.optim.Adam(self.parameters(), lr=hp.lr,
                                             weight_decay=hp.weight_decay)
            if not hp.scheduler:
                return optimizer
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    class TwoOptimizers(pl.LightningModule):
        """Manual optimization with two optimizers (a GAN-style alternation)."""

        def __init__(self) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.automatic_optimization = False
            self.first = nn.Linear(FEATURES, 1)
            self.second = nn.Linear(FEATURES, 1)

        def training_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            opt_a, opt_b = self.optimizers()
            for optimizer, layer, name in ((opt_a, self.first, "a_loss"),
                                           (opt_b, self.second, "b_loss")):
                loss = nn.functional.mse_loss(layer(x), y)
                optimizer.zero_grad()
                self.manual_backward(loss)
                optimizer.step()
                self.log(name, loss, on_epoch=True, on_step=False)

        def configure_optimizers(self) -> Any:
            return (torch.optim.SGD(self.first.parameters(), lr=0.01, momentum=0.9),
                    torch.optim.RMSprop(self.second.parameters(), lr=0.001, alpha=0.95))

    class Scripted(pl.LightningModule):
        """Trains a little; its validation ``score`` per epoch is scripted (early stopping)."""

        def __init__(self, scores: tuple[float, ...] = (5.0, 1.0, 3.0, 4.0, 4.5, 5.0)) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = nn.Linear(FEATURES, 1)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            scores = self.hparams.scores
            self.log("score", scores[min(self.current_epoch, len(scores) - 1)])

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    classes = SimpleNamespace(LitMLP=LitMLP, TwoOptimizers=TwoOptimizers, Scripted=Scripted)
    for name, cls in vars(classes).items():
        cls.__name__ = cls.__qualname__ = name + suffix
        cls.__module__ = __name__
    return classes


def trainer_kwargs(**overrides: Any) -> dict[str, Any]:
    """Fast, quiet, single-process defaults."""
    kwargs: dict[str, Any] = dict(
        accelerator="cpu", devices=1, max_epochs=3, enable_progress_bar=False,
        enable_model_summary=False, logger=False, enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    kwargs.update(overrides)
    return kwargs


_lightning: SimpleNamespace | None = None


def __getattr__(name: str) -> Any:
    """``LitMLP`` / ``TwoOptimizers`` / ``Scripted`` on ``lightning.pytorch``, built on first use (so this
    module imports without ``lightning`` too), and found here by pickle."""
    global _lightning
    if name in ("LitMLP", "TwoOptimizers", "Scripted"):
        if _lightning is None:
            import lightning.pytorch

            _lightning = define(lightning.pytorch)
        return getattr(_lightning, name)
    raise AttributeError(name)


# -- the contract suite's scenario (tests/contract/scenarios.py) ---------------------------------
_last_trained: list[Any] = []


def contract_scenario() -> Any:
    """``Trainer.fit`` of ``lightning.pytorch``; imports no framework until a call is built."""
    from tests.contract.scenarios import Scenario, TrainingCall

    def call(**hparams: Any) -> TrainingCall:
        import lightning.pytorch as pl

        torch.manual_seed(0)
        model = __getattr__("LitMLP")(**hparams)
        _last_trained[:] = [model]
        trainer = pl.Trainer(**trainer_kwargs(max_epochs=2))
        train, val = loaders()
        return TrainingCall(trainer.fit, (model, train, val))

    def fingerprint(_: Any) -> Any:  # fit returns None: compare the trained weights
        return [value.tolist() for value in _last_trained[0].state_dict().values()]

    return Scenario(
        module="lightning.pytorch",
        entry="lightning.pytorch.trainer.trainer:Trainer.fit",
        call=call,
        failing_call=lambda: call(fail_at_epoch=0),
        fingerprint=fingerprint,
    )

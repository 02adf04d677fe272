"""PyTorch Lightning: a tiny MLP on CPU, one torch thread."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Hooks, Workload

FEATURES, HIDDEN, BATCH = 16, 32, 32


def module_class() -> type:
    import lightning.pytorch as pl
    import torch
    from torch import nn

    class TinyMLP(pl.LightningModule):
        def __init__(self, lr: float = 0.01, hidden: int = HIDDEN) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            loss = nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    return TinyMLP


def quiet() -> None:
    """No "GPU available: False" and tips on every Trainer."""
    for namespace in ("lightning.pytorch", "pytorch_lightning", "lightning.fabric",
                      "lightning_fabric"):
        for name in (namespace, f"{namespace}.utilities.rank_zero"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _fit(sizes: Sizes) -> Callable[[Hooks], None]:
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(sizes.pl_steps * BATCH, FEATURES, generator=generator)
    loader = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=BATCH)
    tiny_mlp = module_class()
    root = os.getcwd()  # the measured process's private working folder

    def call(hooks: Hooks) -> None:
        quiet()  # importing either namespace (some tools import both) resets its level
        torch.manual_seed(0)
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=sizes.pl_epochs,
                             enable_progress_bar=False, enable_model_summary=False,
                             logger=hooks.lightning_loggers(), enable_checkpointing=False,
                             default_root_dir=root, callbacks=hooks.lightning_callbacks())
        trainer.fit(tiny_mlp(), loader)

    return call


WORKLOADS = [
    Workload("lightning.fit", ("peers",),
             lambda s: f"Trainer.fit, MLP {FEATURES}-{HIDDEN}-1, {s.pl_epochs} epochs x "
                       f"{s.pl_steps} steps of {BATCH}, CPU, 1 thread",
             ("lightning",), _fit, ("lightning",)),
]

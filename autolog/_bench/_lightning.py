"""PyTorch Lightning: a tiny MLP, 20 epochs x 50 steps on CPU, one torch thread."""

from __future__ import annotations

import logging
from typing import Any

from autolog._bench._destination import Destination
from autolog._bench._harness import Variant, Workload
from autolog._bench._sizes import Sizes
from autolog._bench._variants import autolog_variant, bare, mlflow_autolog_variant

FEATURES, HIDDEN, BATCH = 16, 32, 32


def module_class() -> type:
    """The tiny MLP every Lightning benchmark trains (also benchmarks/bench_lightning.py)."""
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


def _quiet() -> None:
    """No "GPU available: False" and tips on every Trainer."""
    for namespace in ("lightning.pytorch", "pytorch_lightning", "lightning.fabric",
                      "lightning_fabric"):
        for name in (namespace, f"{namespace}.utilities.rank_zero"):
            logging.getLogger(name).setLevel(logging.ERROR)


def workloads(destination: Destination, sizes: Sizes, with_mlflow: bool) -> list[Workload]:
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(sizes.pl_steps * BATCH, FEATURES, generator=generator)
    loader = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=BATCH)
    tiny_mlp = module_class()
    root = destination.workdir / "lightning"

    def run(units: int, _variant: Variant) -> None:
        _quiet()  # here: importing either namespace (MLflow imports both) resets its level
        for _ in range(units):
            torch.manual_seed(0)
            trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=sizes.pl_epochs,
                                 enable_progress_bar=False, enable_model_summary=False,
                                 logger=False, enable_checkpointing=False,
                                 default_root_dir=root)
            trainer.fit(tiny_mlp(), loader)

    variants = [bare(), autolog_variant(
        destination, "lightning.fit", {"lightning": {"log_models": False}},
        "hyperparameters, optimizer and trainer params, train_loss every epoch, model summary "
        "artifact; no model, no checkpoint")]
    if with_mlflow:
        variants.append(mlflow_autolog_variant(
            destination, "lightning.fit", "pytorch", {"log_models": False, "checkpoint": False},
            "optimizer and trainer params, train_loss every epoch, model summary artifact; no "
            "model, no checkpoint (log_models=False, checkpoint=False)"))
    return [Workload("lightning.fit", "lightning", f"Trainer.fit, MLP {FEATURES}-{HIDDEN}-1, "
                     f"{sizes.pl_epochs} epochs x {sizes.pl_steps} steps of {BATCH}, CPU, "
                     "1 thread", 1, "fit", run, variants)]

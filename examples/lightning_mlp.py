"""A small Lightning MLP, autologged: params, per-epoch metrics, early stopping, test metrics.

    python examples/lightning_mlp.py                     # the embedded store, no server needed
    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python examples/lightning_mlp.py

One line (``autolog.autolog()``) before training; nothing else in the script knows about
tracking. The run gets the module's hyperparameters, the optimizer and scheduler settings, the
trainer's configuration, the model summary, ``train_loss`` / ``val_loss`` / ``lr`` per epoch,
early stopping's outcome, the best checkpoint's path and score, and the test metrics.
"""

import subprocess
import sys
import tempfile

import autolog

autolog.autolog(log_every_n_epochs=1)  # before or after importing Lightning

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset, random_split  # noqa: E402


class MLP(pl.LightningModule):
    def __init__(self, hidden: int = 32, lr: float = 0.01, weight_decay: float = 1e-4) -> None:
        super().__init__()
        self.save_hyperparameters()  # -> the run's params
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        self.log("val_loss", self._loss(batch))

    def test_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        self.log("test_loss", self._loss(batch))

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr,
                                      weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def data() -> tuple[DataLoader, DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1200, 8, generator=generator)
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.1 * torch.randn(1200, 1, generator=generator)).tanh()
    train, val, test = random_split(TensorDataset(x, y), [800, 200, 200], generator=generator)
    return (DataLoader(train, batch_size=32, shuffle=True), DataLoader(val, batch_size=100),
            DataLoader(test, batch_size=100))


def main() -> None:
    pl.seed_everything(7)  # recorded as the run's "seed" param
    train, val, test = data()
    checkpoints = tempfile.mkdtemp(prefix="lightning-mlp-")
    trainer = pl.Trainer(
        max_epochs=15, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
        callbacks=[EarlyStopping(monitor="val_loss", patience=3),
                   ModelCheckpoint(dirpath=checkpoints, monitor="val_loss")],
    )
    model = MLP()
    trainer.fit(model, train, val)
    trainer.test(model, test, verbose=False)  # -> test_loss in the same run
    autolog.flush()

    print("\nRecorded runs (python -m autolog runs):")
    subprocess.run([sys.executable, "-m", "autolog", "runs"], check=False)


if __name__ == "__main__":
    main()

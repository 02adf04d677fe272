"""Weights & Biases, offline (``WANDB_MODE=offline``): what its users reach for per framework.

scikit-learn has no W&B autologging (only plot helpers), so its row is absent and the manual
row does what W&B's docs show: a run per fit (``wandb.init``), the estimator's params as
config, the training score logged, ``run.finish()``. XGBoost: ``WandbCallback`` inside a run
(no model, no importance plot); Lightning: ``WandbLogger(offline=True, log_model=False)``;
Optuna: optuna-integration's ``WeightsAndBiasesCallback`` (one W&B run for the study). W&B
also records system metrics (its per-run system monitor) and the package list; the census
counts those apart. Its sidecar ``wandb-core`` process is measured with the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autolog._bench import _census
from autolog._bench._workload import Hooks
from autolog._bench.tools import Context, Session, Tool

HEADER, BLOCK = 7, 32768  # the .wandb file: a 7-byte header, then a LevelDB-style log


class WandbHooks(Hooks):
    def __init__(self, context: Context) -> None:
        self.context = context

    def _init(self) -> Any:
        import wandb

        return wandb.init(project=self.context.experiment, dir=str(self.context.workdir))

    def sklearn_fit(self, estimator: Any, X: Any, y: Any) -> Any:
        run = self._init()
        fitted = estimator.fit(X, y)
        run.config.update({key: repr(value) if not isinstance(value, (int, float, str, bool))
                           else value for key, value in estimator.get_params().items()})
        run.log({"training_score": fitted.score(X, y)})
        run.finish()
        return fitted

    @contextlib.contextmanager
    def xgboost_train(self) -> Iterator[None]:
        run = self._init()
        try:
            yield
        finally:
            run.finish()

    def xgboost_callbacks(self) -> list[Any]:
        from wandb.integration.xgboost import WandbCallback

        return [WandbCallback(log_model=False, log_feature_importance=False)]

    def lightning_loggers(self) -> list[Any]:
        from lightning.pytorch.loggers import WandbLogger

        return [WandbLogger(project=self.context.experiment, save_dir=str(self.context.workdir),
                            offline=True, log_model=False)]

    def optuna_callbacks(self) -> list[Any]:
        from optuna_integration.wandb import WeightsAndBiasesCallback

        return [WeightsAndBiasesCallback(metric_name="value", wandb_kwargs={
            "project": self.context.experiment, "dir": str(self.context.workdir)})]


class WandbSession(Session):
    def __init__(self, context: Context) -> None:
        self.context = context
        self.hooks = WandbHooks(context)

    def finish(self, mark: Callable[[str], None]) -> None:
        import wandb

        if wandb.run is not None:  # the Lightning logger's and the Optuna callback's run
            wandb.run.finish()

    def census(self) -> dict[str, Any] | None:
        return census(self.context.workdir / "wandb")


def census(folder: Path) -> dict[str, Any]:
    counts = {"runs": 0, "params": 0, "metric_points": 0, "files": 0, "system_points": 0}
    from wandb.proto import wandb_internal_pb2

    for log in sorted(folder.glob("offline-run-*/run-*.wandb")):
        counts["runs"] += 1
        counts["files"] += _census.count_files(log.parent / "files")
        config: set[str] = set()
        for data in _records(log):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(data)
            kind = record.WhichOneof("record_type")
            if kind == "history":
                counts["metric_points"] += sum(1 for item in record.history.item
                                               if not _internal(item))
            elif kind == "config":
                config.update(item.key for item in record.config.update)
            elif kind == "run":
                config.update(item.key for item in record.run.config.update)
            elif kind == "stats":
                counts["system_points"] += len(record.stats.item)
        counts["params"] += len({key for key in config if not key.startswith("_")})
    counts["note"] = f"+ {counts.pop('system_points'):,} system-metric values"
    return counts


def _internal(item: Any) -> bool:
    key = item.key or "/".join(item.nested_key)
    return key.startswith("_")


def _records(path: Path) -> Iterator[bytes]:
    """Each record of W&B's transaction log (LevelDB's log format: 32 KiB blocks, records in
    FULL or FIRST/MIDDLE/LAST pieces, each piece behind a 7-byte header)."""
    data = path.read_bytes()
    position, pending = HEADER, b""
    while position + 7 <= len(data):
        left = BLOCK - position % BLOCK
        if left < 7:
            position += left
            continue
        length = int.from_bytes(data[position + 4: position + 6], "little")
        kind = data[position + 6]
        piece = data[position + 7: position + 7 + length]
        position += 7 + length
        if kind == 1:
            yield piece
        elif kind == 2:
            pending = piece
        elif kind == 3:
            pending += piece
        elif kind == 4:
            yield pending + piece
            pending = b""


class Wandb(Tool):
    name = "wandb"
    module = "wandb"
    distribution = "wandb"
    integrations = {
        "xgboost": "wandb.integration.xgboost.WandbCallback (log_model=False)",
        "lightning": "lightning's WandbLogger(offline=True, log_model=False)",
        "optuna": "optuna-integration's WeightsAndBiasesCallback (one run for the study)",
    }
    manual = {"sklearn": "wandb.init + config (params) + log (training score) + finish per fit"}
    missing = {"sklearn": "no scikit-learn autologging (plot helpers only)"}

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        return {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(workdir),
                "WANDB_ERROR_REPORTING": "false"}

    def setup(self, context: Context) -> None:
        import wandb  # noqa: F401

    def start(self, context: Context) -> Session:
        return WandbSession(context)


TOOL = Wandb()

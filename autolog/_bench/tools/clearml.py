"""ClearML, offline (``Task.set_offline(True)``): one task per script, as its docs show.

``Task.init`` before the training connects the frameworks it knows (scikit-learn through
joblib, i.e. model files only; XGBoost; PyTorch, and Lightning's metrics only through
TensorBoard, so its row uses Lightning's ``TensorBoardLogger`` with tensorboardX);
``task.close()`` finishes. By default every task forks a reporter process and ``close()``
waits for it; ``sdk.development.report_use_subprocess: false`` reports from a thread (a second
row). ClearML has no Optuna study callback (its Optuna support drives its own search), so
Optuna has no row. Even offline it looks up its update server and writes ``~/.clearml``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autolog._bench._workload import Hooks
from autolog._bench.tools import Context, Session, Tool

THREAD_CONFIG = "sdk { development { report_use_subprocess: false } }\n"


class ClearmlHooks(Hooks):
    def __init__(self, context: Context) -> None:
        self.context = context

    def lightning_loggers(self) -> list[Any]:
        from lightning.pytorch.loggers import TensorBoardLogger

        return [TensorBoardLogger(save_dir=str(self.context.workdir / "tensorboard"))]


class ClearmlSession(Session):
    def __init__(self, context: Context) -> None:
        from clearml import Task

        self.context = context
        self.hooks = ClearmlHooks(context)
        self.before = set(_offline_folder().glob("offline-*"))
        Task.set_offline(True)
        self.task = Task.init(project_name="autolog-bench", task_name=context.experiment)

    def finish(self, mark: Callable[[str], None]) -> None:
        self.task.close()

    def census(self) -> dict[str, Any] | None:
        folders = [folder for folder in _offline_folder().glob("offline-*")
                   if folder.is_dir() and folder not in self.before]
        return census(folders)


def _offline_folder() -> Path:
    return Path.home() / ".clearml" / "cache" / "offline"


def census(folders: list[Path]) -> dict[str, Any]:
    counts = {"runs": 0, "params": 0, "metric_points": 0, "files": 0}
    system = console = 0
    for folder in folders:
        counts["runs"] += 1
        task = json.loads((folder / "task.json").read_text()) if (
            folder / "task.json").exists() else {}
        for section in (task.get("hyperparams") or {}).values():
            counts["params"] += len(section)
        counts["params"] += len((task.get("execution") or {}).get("parameters") or {})
        counts["files"] += sum(1 for path in (folder / "data").rglob("*") if path.is_file())
        events = [event for name in ("log.jsonl", "metrics.jsonl") if (folder / name).exists()
                  for line in (folder / name).read_text().splitlines()
                  for event in json.loads(line)]
        for event in events:
            kind = event.get("type")
            if kind == "training_stats_scalar":
                if str(event.get("metric", "")).startswith(":monitor:"):
                    system += 1
                else:
                    counts["metric_points"] += 1
            elif kind == "log":
                console += 1
    counts["note"] = f"+ {system:,} system-metric values, {console:,} console lines"
    return counts


class Clearml(Tool):
    name = "clearml"
    module = "clearml"
    distribution = "clearml"
    integrations = {
        "sklearn": "Task.init auto-connect (joblib: model files only)",
        "xgboost": "Task.init auto-connect",
        "lightning": "Task.init + lightning's TensorBoardLogger (tensorboardX)",
    }
    missing = {"optuna": "no Optuna study callback (its Optuna support runs its own search)"}
    switches = {"reporter thread": {"CLEARML_CONFIG_FILE": "{home}/clearml-thread.conf"}}

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        (home / "clearml-thread.conf").write_text(THREAD_CONFIG)
        return {"CLEARML_OFFLINE_MODE": "1", "CLEARML_SUPPRESS_UPDATE_MESSAGE": "1"}

    def setup(self, context: Context) -> None:
        import clearml  # noqa: F401  (before the frameworks it binds)

    def start(self, context: Context) -> Session:
        return ClearmlSession(context)


TOOL = Clearml()

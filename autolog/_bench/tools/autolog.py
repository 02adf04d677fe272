"""autolog itself: ``autolog.autolog()`` before the workload, ``autolog.flush()`` after it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autolog._bench import _census
from autolog._bench._workload import Hooks
from autolog._bench.tools import Context, Session, Tool

FLUSH_TIMEOUT = 900.0


class AutologHooks(Hooks):
    """The manual API, for the logging workloads."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._model_run: Any = None

    @contextlib.contextmanager
    def metrics_run(self) -> Iterator[Callable[[dict[str, float], int], None]]:
        import autolog

        with autolog.start_run(run_name="loop", experiment=self.context.experiment,
                               tracking_uri=self.context.uri) as run:
            yield lambda metrics, step: run.log_metrics(metrics, step=step)

    def log_run(self, index: int, steps: int) -> None:
        import autolog

        with autolog.start_run(run_name=f"points-{index}", experiment=self.context.experiment,
                               tracking_uri=self.context.uri) as run:
            for step in range(steps):
                run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)

    def log_model(self, model: Any, example: Any, index: int) -> None:
        import autolog
        from autolog.models import log_model

        if self._model_run is None:
            self._model_run = autolog.start_run(run_name="models",
                                                experiment=self.context.experiment,
                                                tracking_uri=self.context.uri)
        log_model(self._model_run, model, flavor="sklearn", input_example=example,
                  artifact_path=f"model-{index}")


class AutologSession(Session):
    def __init__(self, context: Context) -> None:
        self.context = context
        self.hooks = AutologHooks(context)

    def finish(self, mark: Callable[[str], None]) -> None:
        import autolog

        if self.hooks._model_run is not None:
            self.hooks._model_run.end()
        if self.context.destination == "down":  # kept in the store for `autolog sync`
            autolog.flush(timeout=1.0)
            return
        if not autolog.flush(timeout=FLUSH_TIMEOUT):
            raise RuntimeError(f"autolog did not store everything within {FLUSH_TIMEOUT:.0f} s")

    def census(self) -> dict[str, Any] | None:
        context = self.context
        if context.remote and context.destination != "down":
            if context.server_root is None:
                return None
            root = Path(context.server_root)
            return _census.mlflow_database(root / "mlflow.db", context.experiment,
                                           root / "artifacts")
        return _census.autolog_store(store_dir(context), context.experiment)


def store_dir(context: Context) -> Path:
    return context.process_dir / "autolog-runs"


class Autolog(Tool):
    name = "autolog"
    module = "autolog"
    distribution = "autolog"
    servers = True
    outage = True
    integrations = {
        "sklearn": "autolog.autolog()",
        "xgboost": "autolog.autolog()",
        "lightning": "autolog.autolog()",
        "optuna": "autolog.autolog()",
        "logging": "autolog.start_run() and run.log_metrics()",
        "patching": "autolog.autolog()",
        "models": "autolog.models.log_model()",
    }

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        return {"AUTOLOG_DIR": str(workdir / "autolog-runs")}

    def setup(self, context: Context) -> None:
        for name in ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_DISABLE"):
            os.environ.pop(name, None)
        import autolog

        options: dict[str, Any] = {"experiment": context.experiment,
                                   "tracking_uri": context.uri}
        if not context.models:
            options["log_models"] = False
        if context.frameworks[0] in ("logging", "models"):  # those use the manual API
            autolog.autolog(disable=True)
        else:
            autolog.autolog(**options)

    def start(self, context: Context) -> Session:
        return AutologSession(context)


TOOL = Autolog()

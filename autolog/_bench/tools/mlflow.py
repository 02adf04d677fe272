"""MLflow's own autologging (and optuna-integration's ``MLflowCallback`` for Optuna).

Locally it writes MLflow's SQLite store (``sqlite:///.../mlflow.db``) with artifacts in the
working folder; at a server destination it sends to the same server as autolog.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autolog._bench import _census
from autolog._bench._workload import Hooks
from autolog._bench.tools import Context, Session, Tool

FLAVORS = {"sklearn": "sklearn", "xgboost": "xgboost", "lightning": "pytorch"}


class MlflowHooks(Hooks):
    def __init__(self, context: Context, uri: str) -> None:
        self.context, self.uri = context, uri

    def optuna_callbacks(self) -> list[Any]:
        from optuna_integration.mlflow import MLflowCallback

        return [MLflowCallback(tracking_uri=self.uri, metric_name="value",
                               create_experiment=False)]

    def log_run(self, index: int, steps: int) -> None:
        import mlflow

        if self.context.mode == "manual":  # hand-rolled batches, the fastest its client offers
            from mlflow.entities import Metric

            client = mlflow.MlflowClient(self.uri)
            experiment_id = client.get_experiment_by_name(self.context.experiment).experiment_id
            run_id = client.create_run(experiment_id).info.run_id
            now, batch = int(time.time() * 1000), []
            for step in range(steps):
                batch.append(Metric("loss", 1.0 / (step + 1), now, step))
                if len(batch) == 1000:
                    client.log_batch(run_id, metrics=batch)
                    batch = []
            if batch:
                client.log_batch(run_id, metrics=batch)
            client.set_terminated(run_id)
            return
        with mlflow.start_run():
            for step in range(steps):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)

    def log_model(self, model: Any, example: Any, index: int) -> None:
        import mlflow

        with mlflow.start_run(run_id=self._model_run()):
            mlflow.sklearn.log_model(model, name=f"model-{index}", input_example=example[:5],
                                     serialization_format="cloudpickle")

    def _model_run(self) -> str:
        import mlflow

        if not hasattr(self, "_run_id"):
            client = mlflow.MlflowClient(self.uri)
            experiment_id = client.get_experiment_by_name(self.context.experiment).experiment_id
            self._run_id = client.create_run(experiment_id).info.run_id
        return self._run_id


class MlflowSession(Session):
    def __init__(self, context: Context, uri: str, artifacts: Path | None) -> None:
        self.context, self.uri, self.artifacts = context, uri, artifacts
        self.hooks = MlflowHooks(context, uri)

    def finish(self, mark: Callable[[str], None]) -> None:
        import mlflow

        mlflow.flush_async_logging()
        while mlflow.active_run() is not None:
            mlflow.end_run()
        if hasattr(self.hooks, "_run_id"):
            mlflow.MlflowClient(self.uri).set_terminated(self.hooks._run_id)

    def census(self) -> dict[str, Any] | None:
        context = self.context
        if context.remote:
            if context.server_root is None:
                return None
            root = Path(context.server_root)
            return _census.mlflow_database(root / "mlflow.db", context.experiment,
                                           root / "artifacts")
        return _census.mlflow_database(context.process_dir / "mlflow.db", context.experiment,
                                       self.artifacts)


class Mlflow(Tool):
    name = "mlflow"
    module = "mlflow"
    distribution = "mlflow"
    servers = True
    integrations = {
        "sklearn": "mlflow.sklearn.autolog()",
        "xgboost": "mlflow.xgboost.autolog()",
        "lightning": "mlflow.pytorch.autolog()",
        "optuna": "optuna-integration's MLflowCallback",
        "logging": "mlflow.log_metric(synchronous=False) per point",
        "models": "mlflow.sklearn.log_model()",
    }
    manual = {"logging": "MlflowClient.log_batch of 1,000 points, hand-rolled"}
    _enabled: list[str] = []

    def environment(self, home: Path, workdir: Path) -> dict[str, str]:
        return {"MLFLOW_DISABLE_TELEMETRY": "true",
                "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}

    def setup(self, context: Context) -> None:
        import mlflow

        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.ERROR)
        for module in ("mlflow", "optuna_integration"):
            warnings.filterwarnings("ignore", module=module)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="MLflowCallback has been deprecated")
        uri = context.uri or f"sqlite:///{context.process_dir / 'mlflow.db'}"
        self._artifacts = None if context.remote else context.process_dir / "mlflow-artifacts"
        mlflow.set_tracking_uri(uri)
        client = mlflow.MlflowClient(uri)
        # an artifact folder per experiment, so its files (logged models included) are counted
        location = (self._artifacts / context.experiment).as_uri() if self._artifacts else None
        client.create_experiment(context.experiment, artifact_location=location)
        mlflow.set_experiment(context.experiment)
        self._uri = uri
        for flavor in self._enabled:  # an earlier workload's, in a shared (smoke-test) process
            importlib.import_module(f"mlflow.{flavor}").autolog(disable=True, silent=True)
        self._enabled = []
        main, inner = context.frameworks[0], context.frameworks[1:]
        if main == "optuna":
            # optuna-integration's callback for the study; the trials' own fits with the
            # flavor's autolog, models off (as the callback's users do)
            for framework in inner:
                self._autolog(framework, models=False)
        elif main in FLAVORS:
            self._autolog(main, models=context.models)

    def _autolog(self, framework: str, models: bool) -> None:
        self._enabled.append(FLAVORS[framework])
        flavor = importlib.import_module(f"mlflow.{FLAVORS[framework]}")
        options: dict[str, Any] = {"silent": True}
        if not models:
            options["log_models"] = False
            if framework == "lightning":
                options["checkpoint"] = False
        with contextlib.suppress(TypeError):
            flavor.autolog(**options)
            return
        options.pop("checkpoint", None)
        flavor.autolog(**options)

    def start(self, context: Context) -> Session:
        return MlflowSession(context, self._uri, self._artifacts)

    def modes(self, frameworks: tuple[str, ...]) -> list[str]:
        modes = super().modes(frameworks)
        if frameworks[0] == "optuna" and importlib.util.find_spec("optuna_integration") is None:
            return []
        return modes


TOOL = Mlflow()

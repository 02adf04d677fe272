"""MLflow 3's logged models: create, find, finalize, and link one to its run.

A server that predates them (MLflow 2) answers 404 on ``logged-models``; the backend then says
so once in :attr:`LoggedModelsApi.logged_models_supported` (a create or a search tells), and
model delivery keeps the model directory as the run's artifacts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from autolog.backends._mlflow_api import API, MlflowApi, filter_literal
from autolog.backends.base import ModelBackend, Result

#: How a READY logged model's status reads (the UI's name, the short one, the enum number).
_READY = ("LOGGED_MODEL_READY", "READY", 2)


class LoggedModelsApi(MlflowApi):
    #: False once the server answered that it has no logged models (MLflow < 3).
    logged_models_supported: bool | None

    def create_logged_model(self, experiment_id: str, name: str, source_run_id: str,
                            tags: Mapping[str, str], params: Mapping[str, str]) -> Result:
        """``value``: ``{"model_id", "artifact_uri"}`` of the new (PENDING) logged model."""
        body: dict[str, Any] = {
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": source_run_id,
            "tags": [{"key": k, "value": str(v)} for k, v in tags.items()],
        }
        if params:
            body["params"] = [{"key": k, "value": str(v)} for k, v in params.items()]
        result = self.transport.request("POST", f"{API}/logged-models", json_body=body)
        if not result.ok:
            if result.status_code == 404 and result.value != "RESOURCE_DOES_NOT_EXIST":
                self.logged_models_supported = False  # no such endpoint: MLflow 2
            return result
        self.logged_models_supported = True
        return self._value(result, lambda data: _model_info(data["model"]))

    def search_logged_models(self, experiment_id: str, filter_string: str) -> Result:
        """``value``: every matching logged model's ``info`` dict (all pages)."""
        found = self._all_pages("POST", f"{API}/logged-models/search",
                                {"experiment_ids": [experiment_id], "filter": filter_string},
                                "models", page_size=100)
        if not found.ok:
            if found.status_code == 404 and found.value != "RESOURCE_DOES_NOT_EXIST":
                self.logged_models_supported = False
            return found
        self.logged_models_supported = True
        return Result.success([model.get("info", {}) for model in found.value])

    def finalize_logged_model(self, model_id: str, ready: bool) -> Result:
        """READY, or FAILED (the proto's ``LOGGED_MODEL_UPLOAD_FAILED``); sent as enum numbers,
        which is what the server's request validation accepts."""
        body = {"model_id": model_id, "status": 2 if ready else 3}
        return self._without_value(self.transport.request(
            "PATCH", f"{API}/logged-models/{quote(model_id, safe='')}", json_body=body))

    def link_model_to_run(self, run_id: str, model_id: str, step: int = 0) -> Result:
        """The run's outputs list the model (what the UI's run page shows under "Models")."""
        body = {"run_id": run_id, "models": [{"model_id": model_id, "step": int(step)}]}
        return self._without_value(
            self.transport.request("POST", f"{API}/runs/outputs", json_body=body))


def _model_info(model: Mapping[str, Any]) -> dict[str, Any]:
    info = model["info"]
    return {"model_id": str(info["model_id"]), "artifact_uri": str(info["artifact_uri"])}


def ready_logged_model(backend: ModelBackend, experiment_id: str, run_id: str,
                       name: str) -> str | None:
    """Id of the run's newest READY logged model named ``name`` (what MLflow loads for
    ``runs:/<run>/<name>``), or None: none, the server has no logged models, or no answer."""
    if backend.logged_models_supported is False:
        return None
    found = backend.search_logged_models(
        experiment_id,
        f"source_run_id = '{filter_literal(run_id)}' AND name = '{filter_literal(name)}'")
    if not found.ok:
        return None
    ready = [info for info in found.value if info.get("status") in _READY]
    ready.sort(key=lambda info: -int(info.get("creation_timestamp_ms") or 0))
    return str(ready[0]["model_id"]) if ready else None

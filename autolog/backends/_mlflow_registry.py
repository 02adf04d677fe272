"""The MLflow model registry: registered models, their versions, and aliases (``@champion``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autolog.backends._mlflow_api import API, MlflowApi
from autolog.backends.base import Result


class RegistryApi(MlflowApi):
    def create_registered_model(self, name: str) -> Result:
        """Create ``name`` in the registry; success too when it already exists."""
        result = self.transport.request("POST", f"{API}/registered-models/create",
                                        json_body={"name": name})
        if result.ok or result.value == "RESOURCE_ALREADY_EXISTS":
            return Result.success()
        return result

    def create_model_version(self, name: str, source: str, run_id: str | None,
                             model_id: str | None = None,
                             tags: Mapping[str, str] | None = None) -> Result:
        """``value``: the new version's dict (``version`` is a string)."""
        body: dict[str, Any] = {"name": name, "source": source}
        if run_id:
            body["run_id"] = run_id
        if model_id:
            body["model_id"] = model_id
        if tags:
            body["tags"] = [{"key": k, "value": str(v)} for k, v in tags.items()]
        result = self.transport.request("POST", f"{API}/model-versions/create", json_body=body)
        if not result.ok:
            return result
        return self._value(result, lambda data: dict(data["model_version"]))

    def search_model_versions(self, filter_string: str) -> Result:
        """``value``: matching versions (all pages)."""
        return self._all_pages("GET", f"{API}/model-versions/search", {"filter": filter_string},
                               "model_versions", page_size=200)

    def get_model_version_by_alias(self, name: str, alias: str) -> Result:
        """``value``: the version dict the alias points to, or None when it points nowhere."""
        result = self.transport.request("GET", f"{API}/registered-models/alias",
                                        params={"name": name, "alias": alias})
        if result.ok:
            return self._value(result, lambda data: dict(data["model_version"]))
        if result.status_code == 404 or result.value in ("RESOURCE_DOES_NOT_EXIST",
                                                          "INVALID_PARAMETER_VALUE"):
            return Result.success(None)
        return result

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> Result:
        body = {"name": name, "alias": alias, "version": str(version)}
        return self._without_value(
            self.transport.request("POST", f"{API}/registered-models/alias", json_body=body))

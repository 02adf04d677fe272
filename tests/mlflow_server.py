"""A real ``mlflow server`` for tests, and a small REST reader to check what it stored.

Tests assert through the server's REST API (not MLflow's Python client) so they see exactly
what a user of the tracking server would see. The server itself is
``autolog._mlflow_server.MlflowServer`` (also used by ``python -m autolog ui`` and ``bench``):
its own process group, and it can be stopped and started again on the same port and store to
simulate outages.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

from autolog._mlflow_server import HEALTH_TIMEOUT, free_port
from autolog._mlflow_server import MlflowServer as _Server

__all__ = ["HEALTH_TIMEOUT", "MlflowReader", "MlflowServer", "free_port"]


class MlflowServer(_Server):
    """autolog's local server helper, plus a :class:`MlflowReader` for assertions."""

    #: Which server shape this is (see ``tests/integration/server_shapes.py``).
    shape: str = "sqlite"
    #: The server's MLflow major version (logged models exist from 3 on).
    mlflow_major: int = 3

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        workers: int = 1,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        backend_store_uri: str | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        super().__init__(root, workers=workers, port=port, extra_args=extra_args,
                         backend_store_uri=backend_store_uri, command=command)
        self._reader: MlflowReader | None = None

    @property
    def reader(self) -> MlflowReader:
        if self._reader is None:
            self._reader = MlflowReader(self.uri)
        return self._reader

    def stop(self, grace: float = 10.0) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        super().stop(grace)


class MlflowReader:
    """Reads back what the server stored, through its REST API, for assertions."""

    def __init__(self, uri: str, timeout: float = 30.0) -> None:
        self.uri = uri.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _get(self, endpoint: str, /, **params: Any) -> dict[str, Any]:
        response = self._session.get(self.uri + endpoint, params=params, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._session.post(self.uri + path, json=body, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        response = self._session.get(
            f"{self.uri}/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": name},
            timeout=self.timeout,
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()["experiment"]

    def search_runs(
        self, experiment_ids: Sequence[str], filter: str = "", run_view_type: str = "ALL"
    ) -> list[dict[str, Any]]:
        """Every matching run (all pages), newest first as the server orders them."""
        runs: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": list(experiment_ids),
                "filter": filter,
                "max_results": 1000,
                "run_view_type": run_view_type,
            }
            if token:
                body["page_token"] = token
            page = self._post("/api/2.0/mlflow/runs/search", body)
            runs.extend(page.get("runs", []))
            token = page.get("next_page_token")
            if not token:
                return runs

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._get("/api/2.0/mlflow/runs/get", run_id=run_id)["run"]

    def metric_history(self, run_id: str, key: str, page_size: int = 1000) -> list[dict[str, Any]]:
        """All points of one metric (paged), with NaN/±inf as the server returns them."""
        points: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"run_id": run_id, "metric_key": key}
            params["max_results"] = page_size
            if token:
                params["page_token"] = token
            page = self._get("/api/2.0/mlflow/metrics/get-history", **params)
            points.extend(page.get("metrics", []))
            token = page.get("next_page_token")
            if not token:
                return points

    def params(self, run_id: str) -> dict[str, str]:
        data = self.get_run(run_id).get("data", {})
        return {p["key"]: p["value"] for p in data.get("params", [])}

    def tags(self, run_id: str) -> dict[str, str]:
        data = self.get_run(run_id).get("data", {})
        return {t["key"]: t["value"] for t in data.get("tags", [])}

    def list_artifacts(self, run_id: str, path: str = "") -> list[str]:
        """The paths directly under ``path`` in the run's artifacts (what the UI's tree shows)."""
        found = self._get("/api/2.0/mlflow/artifacts/list", run_id=run_id, path=path)
        return [entry["path"] for entry in found.get("files", [])]

    def download_artifact(self, run_id: str, path: str) -> bytes:
        """An artifact's bytes, via the endpoint the MLflow UI downloads with."""
        response = self._session.get(
            f"{self.uri}/get-artifact",
            params={"run_uuid": run_id, "path": path},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.content

    def runs_uri_listing(self, run_id: str, path: str) -> dict[str, int | None]:
        """Path -> size of what lies under ``runs:/<run>/<path>`` as MLflow's client finds it:
        the run's artifacts, else the files of the run's logged model named by the path."""
        found = self._get("/api/2.0/mlflow/artifacts/list", run_id=run_id, path=path)
        if found.get("files"):
            return {entry["path"]: entry.get("file_size") for entry in found["files"]}
        from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

        with self._as_mlflow_client():
            repo = RunsArtifactRepository(f"runs:/{run_id}", tracking_uri=self.uri)
            return {info.path: info.file_size for info in repo.list_artifacts(path)}

    def runs_uri_file(self, run_id: str, path: str) -> bytes:
        """A file's bytes as MLflow's client downloads ``runs:/<run>/<path>``: the run's
        artifact, else the file of the run's logged model (where ``mlflow.pyfunc.load_model``
        finds a model's files)."""
        response = self._session.get(f"{self.uri}/get-artifact",
                                     params={"run_uuid": run_id, "path": path},
                                     timeout=self.timeout)
        if response.status_code != 404:
            response.raise_for_status()
            return response.content
        import mlflow.artifacts

        with self._as_mlflow_client(), tempfile.TemporaryDirectory() as folder:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"runs:/{run_id}/{path}", dst_path=folder, tracking_uri=self.uri)
            return Path(local).read_bytes()

    @contextlib.contextmanager
    def _as_mlflow_client(self) -> Iterator[None]:
        """MLflow's client resolves ``models:/<id>`` against the environment's tracking URI,
        not the one passed to it: point the environment at this server meanwhile."""
        wanted = {"MLFLOW_TRACKING_URI": self.uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
        saved = {key: os.environ.get(key) for key in wanted}
        os.environ.update(wanted)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

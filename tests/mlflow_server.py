"""A real ``mlflow server`` for tests, and a small REST reader to check what it stored.

Tests assert through the server's REST API (not MLflow's Python client) so they see exactly
what a user of the tracking server would see. The server runs in its own process group so
stopping it stops its workers too, and it can be stopped and started again on the same port
and store to simulate outages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

HEALTH_TIMEOUT = 90.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _mlflow_command() -> list[str]:
    script = Path(sys.executable).with_name("mlflow")
    if script.exists():
        return [str(script)]
    found = shutil.which("mlflow")
    if found:
        return [found]
    return [sys.executable, "-m", "mlflow"]


class MlflowServer:
    """One ``mlflow server`` on 127.0.0.1 with a SQLite store and proxied artifacts."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        workers: int = 1,
        port: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="autolog-mlflow-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log_path = self.root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: MlflowReader | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def reader(self) -> MlflowReader:
        if self._reader is None:
            self._reader = MlflowReader(self.uri)
        return self._reader

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = HEALTH_TIMEOUT) -> MlflowServer:
        """Start (or restart, same port and store) and wait until ``/health`` answers 200."""
        if self.running:
            return self
        command = [
            *_mlflow_command(),
            "server",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
            "--artifacts-destination", str(self.root / "artifacts"),
            "--workers", str(self.workers),
            *self.extra_args,
        ]  # fmt: skip
        env = {
            **os.environ,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
            # The GenAI job runner adds ~8 processes and ~1 GB; tracking tests don't need it.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- starting: {' '.join(command)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                if requests.get(f"{self.uri}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, grace: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        process, self._process = self._process, None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            if _wait_group_gone(process, wait):
                return

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Server down inside the block, back up (same port, same data) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def cleanup(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.cleanup()


def _wait_group_gone(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Reap the leader and wait until no process of its group is left."""
    deadline = time.monotonic() + timeout
    while True:
        process.poll()  # a zombie leader would keep the group alive
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


class MlflowReader:
    """Reads back what the server stored, through its REST API, for assertions."""

    def __init__(self, uri: str, timeout: float = 30.0) -> None:
        self.uri = uri.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self._session.get(self.uri + path, params=params, timeout=self.timeout)
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

    def download_artifact(self, run_id: str, path: str) -> bytes:
        """An artifact's bytes, via the endpoint the MLflow UI downloads with."""
        response = self._session.get(
            f"{self.uri}/get-artifact",
            params={"run_uuid": run_id, "path": path},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.content

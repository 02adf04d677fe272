"""``python -m autolog ui``: the embedded store's runs in the MLflow UI.

MLflow's UI needs an MLflow server, so this starts one (``mlflow server``, one worker, its own
SQLite file under ``<store>/mlflow-ui/``) and delivers the embedded runs to it with the same
sender that delivers to any server, through a mirror store that keeps the delivery watermarks.
Copying is idempotent (rows keep their ids), so running ``ui`` again only sends what is new, and
while it runs it keeps sending new records every few seconds: runs appear live.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from typing import TextIO

from autolog.backends.local_store import LOCAL_TARGET, LocalStore
from autolog.client._shipper import Sender

INSTALL_HINT = "The MLflow UI needs mlflow: pip install mlflow   (autolog itself never imports it)"


def mirror_into(source: LocalStore, mirror: LocalStore, target: str) -> None:
    """Copy the source's local runs, and the new rows of runs already copied, into ``mirror``
    bound for ``target``; a run whose status changed is ended again there."""
    conn = mirror.connect()
    with mirror._lock:
        conn.execute("ATTACH DATABASE ? AS source", (str(source.path),))
        try:
            with mirror._transaction():
                conn.execute(
                    "INSERT OR IGNORE INTO runs (run_id, experiment, name, parent_id, status, "
                    "start_time, end_time, target, owner_pid, seq) SELECT run_id, experiment, "
                    "name, parent_id, status, start_time, end_time, ?, owner_pid, seq "
                    "FROM source.runs WHERE target = ?", (target, LOCAL_TARGET))
                conn.execute(
                    "UPDATE runs SET status = s.status, end_time = s.end_time, end_sent = 0 "
                    "FROM source.runs AS s WHERE s.run_id = runs.run_id AND s.status != runs.status")
                for table, columns in (("params", "id, run_id, key, value"),
                                       ("tags", "id, run_id, key, value"),
                                       ("metrics", "id, run_id, key, value, timestamp, step"),
                                       ("artifacts", "id, run_id, path, size")):
                    conn.execute(
                        f"INSERT OR IGNORE INTO {table} ({columns}) SELECT {columns} FROM "
                        f"source.{table} WHERE run_id IN (SELECT run_id FROM main.runs)")
        finally:
            conn.execute("DETACH DATABASE source")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(uri: str, process: subprocess.Popen, timeout: float = 90.0) -> bool:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(f"{uri}/health", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def serve(store: LocalStore, *, port: int | None, out: TextIO, interval: float = 3.0) -> int:
    """Start the UI server, deliver the runs, keep them in sync until Ctrl-C."""
    if importlib.util.find_spec("mlflow") is None:
        out.write(INSTALL_HINT + "\n")
        return 1
    if not store.path.exists():
        out.write(f"No autolog store at {store.directory} (set AUTOLOG_DIR or --dir).\n")
        return 1
    from autolog.backends.mlflow_rest import MlflowRestBackend

    home = store.directory / "mlflow-ui"
    home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true",
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
               str(port), "--workers", "1", "--backend-store-uri",
               f"sqlite:///{home / 'mlflow.db'}", "--artifacts-destination",
               str(home / "artifacts")]
    with open(home / "server.log", "ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                                  start_new_session=True)
    try:
        if not _wait_healthy(uri, server):
            out.write(f"mlflow server did not start; see {home / 'server.log'}\n")
            return 1
        mirror = LocalStore(home / "mirror")
        mirror.artifact_root = store.artifact_root  # deliver the embedded files in place
        sender = Sender(mirror, uri, MlflowRestBackend(uri))
        mirror_into(store, mirror, uri)
        sender.deliver_pass()
        out.write(f"MLflow UI over {store.directory}: {uri}\n")
        out.flush()
        while True:
            time.sleep(interval)
            mirror_into(store, mirror, uri)
            sender.deliver_pass()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)

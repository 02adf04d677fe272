"""``python -m autolog ui`` shows the embedded store's runs in a real MLflow UI, live."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

import autolog
from autolog._runs import shutdown
from tests.mlflow_server import MlflowReader, free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def test_ui_serves_embedded_runs_and_follows_new_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    with autolog.start_run(run_name="baseline") as run:
        run.log_params({"lr": 0.01})
        for step in range(50):
            run.log_metric("loss", 1 / (step + 1), step=step)
        with autolog.start_run(run_name="child"):
            pass
    assert autolog.flush(10)

    port = free_port()
    env = {**os.environ, "AUTOLOG_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    ui = subprocess.Popen([sys.executable, "-m", "autolog", "ui", "--port", str(port),
                           "--sync-interval", "0.5"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        line = ui.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line, line
        reader = MlflowReader(f"http://127.0.0.1:{port}")
        experiment = reader.get_experiment_by_name("Default")

        def runs_by_name():
            return {r["info"]["run_name"]: r for r in reader.search_runs(
                [experiment["experiment_id"]])}

        runs = runs_by_name()
        assert set(runs) == {"baseline", "child"}
        remote_id = runs["baseline"]["info"]["run_id"]
        assert reader.params(remote_id) == {"lr": "0.01"}
        assert len(reader.metric_history(remote_id, "loss")) == 50
        assert reader.tags(runs["child"]["info"]["run_id"])["mlflow.parentRunId"] == remote_id

        with autolog.start_run(run_name="later") as later:
            later.log_metric("loss", 0.5)
        assert autolog.flush(10)
        _wait_for(lambda: "later" in runs_by_name())
        time.sleep(1.5)  # several more sync rounds: nothing may be sent twice
        assert len(reader.metric_history(remote_id, "loss")) == 50
        assert len(runs_by_name()) == 3
    finally:
        shutdown(5)
        ui.send_signal(signal.SIGINT)
        ui.wait(30)
    assert ui.returncode == 0
    assert not _alive(port)


def _alive(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
        return True
    except requests.RequestException:
        return False

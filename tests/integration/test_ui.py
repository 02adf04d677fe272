"""``python -m autolog ui`` shows the embedded store's runs in a real MLflow UI, live."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import autolog
from autolog import _discovery
from autolog._runs import shutdown
from tests.browser import headless_chromium
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


def _start_ui(store: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "AUTOLOG_DIR": str(store), "PYTHONPATH": str(ROOT)}
    ui = subprocess.Popen([sys.executable, "-m", "autolog", "ui", "--port", str(port)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = ui.stdout.readline()
    assert f"http://127.0.0.1:{port}" in line, line + ui.stdout.read()
    return ui


def _server_group(ui: subprocess.Popen[str]) -> int:
    """The process group of the ``mlflow server`` the command started (its child leads it)."""
    children = [int(pid) for pid in os.listdir("/proc") if pid.isdigit()
                and _parent_of(int(pid)) == ui.pid]
    groups = {os.getpgid(pid) for pid in children} - {os.getpgid(ui.pid)}
    assert len(groups) == 1, (children, groups)
    return groups.pop()


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_ui_stops_its_server_as_ctrl_c_does(tmp_path, monkeypatch, sig):
    """``kill``, a container stop (SIGTERM) or a closed terminal (SIGHUP) leave nothing behind."""
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    with autolog.start_run(run_name="one"):
        pass
    assert autolog.flush(10)
    shutdown(5)
    port = free_port()
    ui = _start_ui(tmp_path, port)
    group = _server_group(ui)
    try:
        assert _alive(port) and _group_alive(group)
        ui.send_signal(sig)
        ui.wait(30)
        _wait_for(lambda: not _group_alive(group), timeout=15)
        assert not _alive(port)
        assert ui.returncode == 0, ui.stdout.read()
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # never leave a server behind, even failing


def _run_rows(browser) -> dict[str, int]:
    """Run name -> how far right the table draws it (the UI nests a child by indenting it)."""
    from selenium.webdriver.common.by import By

    rows = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "[role=row][row-id]"):
        for name in row.find_elements(By.CSS_SELECTOR, "[col-id='attributes.`Run Name`'] a"):
            if name.text:
                rows[name.text] = name.location["x"]
    return rows


def test_a_browser_shows_the_study_run_and_its_trials_nested(tmp_path, monkeypatch):
    """What a user sees: headless Chromium opens the UI's training runs; the study run is
    listed with an expander, and expanding it lists every trial nested under it."""
    import optuna
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait


    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    autolog.autolog(**{name: False for name in _discovery.discover() if name != "optuna"},
                    optuna={"plot": False})
    study = optuna.create_study(study_name="churn-study")
    study.optimize(lambda trial: (trial.suggest_float("x", -5, 5) - 1) ** 2, n_trials=3)
    assert autolog.flush(30)  # waits for the study's background work too
    shutdown(5)

    port = free_port()
    ui = _start_ui(tmp_path, port)
    group = _server_group(ui)
    try:
        experiment = MlflowReader(f"http://127.0.0.1:{port}").get_experiment_by_name("Default")
        with headless_chromium() as browser:
            browser.get(f"http://127.0.0.1:{port}/#/experiments/"
                        f"{experiment['experiment_id']}/runs")
            wait = WebDriverWait(browser, 60)
            try:
                wait.until(lambda _: "churn-study" in _run_rows(browser))
                assert list(_run_rows(browser)) == ["churn-study"]  # trials folded under it
                expander = browser.find_element(
                    By.XPATH, "//*[@role='row'][.//a[normalize-space()='churn-study']]"
                              "//*[@col-id='attributes.`Run Name`']//button")
                expander.click()
                wait.until(lambda _: len(_run_rows(browser)) == 4)
                shown = _run_rows(browser)
                study_x = shown.pop("churn-study")
                assert sorted(shown) == ["trial-0", "trial-1", "trial-2"]
                assert all(x > study_x for x in shown.values()), (study_x, shown)
            finally:
                browser.save_screenshot(str(tmp_path / "mlflow-ui.png"))  # kept for a failure
    finally:
        ui.send_signal(signal.SIGINT)
        ui.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

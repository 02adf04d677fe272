"""``python -m autolog bench`` at smoke-test sizes: every installed tool's every row runs in its
own process, records something, and the JSON, Markdown and plot are written. Times are never
checked; the numbers mean nothing at these sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autolog._bench import _probe, main
from autolog._bench.tools import TOOLS, load
from autolog._bench.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)  # the first test runs the whole comparison (fixture)
PEERS = ("wandb", "comet", "clearml", "dvclive")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One run of the whole comparison at tiny sizes, one MLflow server shape (1 worker)."""
    folder = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOLOG_DIR": str(folder / "user-store")}
    for name in ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_DISABLE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "autolog", "bench", "--tiny", "--jobs", "2", "--servers", "1",
         "--workloads", "headline,peers,detail", "--json", "bench.json",
         "--markdown", "bench.md", "--plot", "bench.png"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=840)
    except subprocess.TimeoutExpired:
        process.terminate()  # the benchmark stops its processes and its server
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout[-4000:] + stderr[-6000:]
    return folder, stdout, json.loads((folder / "bench.json").read_text())


def test_every_installed_tool_runs_every_workload_it_has_an_integration_for(tiny_run):
    _, _, results = tiny_run
    installed = [name for name in TOOLS if load(name).available() is None]
    if os.environ.get("CI"):  # the test extra installs the peers: the comparison cannot rot
        assert set(PEERS) <= set(installed)
    rows = {(row["workload"], row["row"], row["destination"]): row for row in results["rows"]}
    bare = {row["workload"] for row in results["rows"] if row["tool"] == "bare"}
    assert bare == {w["key"] for w in results["workloads"]
                    if WORKLOADS[w["key"]].tools is None or "bare" in WORKLOADS[w["key"]].tools}
    for workload in results["workloads"]:
        key = workload["key"]
        absent = {tool for tool, _why in workload["absent"]}
        for name in installed:
            limited = WORKLOADS[key].tools
            if name in absent or (limited is not None and name not in limited):
                continue
            tool = load(name)
            labels = [name + (" (manual)" if mode == "manual" else "")
                      for mode in tool.modes(WORKLOADS[key].frameworks)]
            if tool.switches:  # the smoke test runs the fast switch only
                labels = [f"{label} [{list(tool.switches)[-1]}]" for label in labels]
            assert labels, (key, name)
            for label in labels:
                assert (key, label, "embedded") in rows, (key, label)
    for row in results["rows"]:
        assert "errors" not in row, row
        assert row["call_s"] >= 0 and row["until_finished_s"] >= row["call_s"]
        assert row["cpu"]["process_s"] >= row["cpu"]["training_thread_s"] >= 0
        if row["tool"] == "bare" or not WORKLOADS[row["workload"]].records:
            continue
        assert row["census"]["runs"] >= 1, row  # it really recorded
        if row["tool"] in ("autolog", "mlflow"):
            recorded = "models" if row["workload"] == "logging.models" else "metric_points"
            assert row["census"][recorded] >= 1, row
            assert row["network"] == [], row  # nothing outside this machine


def test_the_server_rows_ran_against_a_server_and_counted_what_arrived(tiny_run):
    _, _, results = tiny_run
    assert results["destinations"] == ["embedded", "server-1", "down"]
    remote = [row for row in results["rows"] if row["destination"] == "server-1"]
    assert {row["tool"] for row in remote} == {"autolog", "mlflow"}
    for row in remote:  # what arrived on the server, read from its own database
        recorded = "models" if row["workload"] == "logging.models" else "metric_points"
        assert row["census"]["runs"] >= 1 and row["census"][recorded] >= 1, row
    # the same workload recorded the same runs locally and on the server
    local = {(r["workload"], r["row"]): r["census"] for r in results["rows"]
             if r["destination"] == "embedded" and r["tool"] == "autolog"}
    for row in remote:
        if row["tool"] == "autolog":
            assert row["census"]["runs"] == local[(row["workload"], row["row"])]["runs"], row
    # with the server down, training went on and every point is kept for later delivery
    down = {row["workload"]: row for row in results["rows"] if row["destination"] == "down"}
    assert set(down) == {"logging.points", "logging.loop"}
    for key, row in down.items():
        assert row["census"]["metric_points"] == local[(key, "autolog")]["metric_points"] > 0


def test_outputs_are_written_and_the_benchmark_keeps_to_its_own_folder(tiny_run):
    folder, stdout, results = tiny_run
    assert results["sizes"]["name"] == "tiny" and results["repeats"] == 1
    assert results["machine"]["nproc"] >= 1 and results["versions"]["autolog"]
    assert "sklearn.fits" in stdout and "× bare" in stdout  # the readable table
    assert (folder / "bench.png").read_bytes().startswith(b"\x89PNG")
    markdown = (folder / "bench.md").read_text()
    assert "| until delivered (server, 1 worker) |" in markdown  # the headline table
    assert "| CPU: sidecars |" in markdown  # the peer table
    assert all(w["title"] in markdown for w in results["workloads"])
    assert sorted(p.name for p in folder.iterdir()) == ["bench.json", "bench.md", "bench.png"]


def test_cpu_of_a_named_background_thread_is_counted_off_the_training_thread():
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    before = _probe.CpuSnapshot.take()
    thread = threading.Thread(target=spin, name="autolog-spinner")
    thread.start()
    time.sleep(0.3)
    after = _probe.CpuSnapshot.take().since(before)
    stop.set()
    thread.join()
    assert after["threads_s"]["autolog-spinner"] > 0
    # every thread named autolog-* counts (another test's writer thread may still be alive)
    named = [seconds for name, seconds in after["threads_s"].items() if name.startswith("autolog-")]
    # each thread's seconds and the total are rounded to 0.1 ms on their own
    assert after["autolog_threads_s"] == pytest.approx(sum(named), abs=5e-5 * (len(named) + 1))
    assert after["other_threads_s"] >= after["autolog_threads_s"] * 0.5


def _burn(seconds: float) -> None:
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        sum(range(100))


def test_autolog_thread_cpu_adds_up_with_small_threads_and_reused_names():
    """In a long process, autolog threads come and go under the same names: one that ended
    before the measurement must not subtract its CPU from its successor's, and small ones
    count in the listing as in the total."""
    go_on = threading.Event()
    old = threading.Thread(target=lambda: (_burn(0.05), go_on.wait()), name="autolog-reused")
    old.start()
    time.sleep(0.1)
    before = _probe.CpuSnapshot.take()
    go_on.set()
    old.join()
    burnt = [threading.Event(), threading.Event()]
    finish = threading.Event()
    new = threading.Thread(target=lambda: (_burn(0.01), burnt[0].set(), finish.wait()),
                           name="autolog-reused")
    small = threading.Thread(target=lambda: (_burn(0.0003), burnt[1].set(), finish.wait()),
                             name="autolog-small")
    new.start()
    small.start()
    assert all(event.wait(10) for event in burnt)
    after = _probe.CpuSnapshot.take().since(before)
    finish.set()
    new.join()
    small.join()
    assert 0.009 <= after["threads_s"]["autolog-reused"] < 0.05
    assert "autolog-small" in after["threads_s"]
    named = [seconds for name, seconds in after["threads_s"].items() if name.startswith("autolog-")]
    assert after["autolog_threads_s"] == pytest.approx(sum(named), abs=5e-5 * (len(named) + 1))


@pytest.mark.parametrize(("argv", "message"), [
    (["--tools", "autolog,nosuch"], "unknown tool(s) nosuch"),
    (["--workloads", "nosuch"], "unknown workload 'nosuch'"),
    (["--servers", "3"], "--servers takes 4, 1 or none"),
    (["--repeats", "0"], "--repeats must be at least 1"),
    (["--tracking-uri", "file:///tmp/x"], "--tracking-uri must be an http(s) MLflow server"),
])
def test_bad_options_are_refused_before_anything_runs(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err

"""Exit, crash, sync and fork against a real server: nothing lost, nothing sent twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autolog
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from tests.fault_proxy import Fault, FaultProxy

pytestmark = pytest.mark.server_shapes("mlflow2", "postgres")

ROOT = Path(__file__).resolve().parents[2]


def _run_script(code: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    full_env.pop("AUTOLOG_TESTING", None)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _sync(store_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOLOG_DIR": str(store_dir), "PYTHONPATH": str(ROOT),
           "AUTOLOG_RETRY_BASE": "0.05", "AUTOLOG_RETRY_MAX": "0.5"}
    return subprocess.run([sys.executable, "-m", "autolog", "sync", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _experiment_runs(reader, name):
    experiment = reader.get_experiment_by_name(name)
    return [] if experiment is None else reader.search_runs([experiment["experiment_id"]])


def test_exit_while_the_server_is_down_then_sync_delivers_once(mlflow_server, experiment_name,
                                                               tmp_path):
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(Fault.status(503, times=10**9))
        process = _run_script(
            """
            import autolog
            with autolog.start_run(run_name="offline") as run:
                run.log_params({"lr": 0.1})
                for step in range(3000):
                    run.log_metric("loss", 1 / (step + 1), step=step)
            print("trained")
            """,
            {"AUTOLOG_DIR": str(tmp_path), "MLFLOW_TRACKING_URI": proxy.uri,
             "MLFLOW_EXPERIMENT_NAME": experiment_name, "AUTOLOG_EXIT_TIMEOUT": "1"},
        )
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.strip() == "trained"
        assert "not yet delivered" in err and "python -m autolog sync" in err
        assert "3003 record(s)" in err or "record(s)" in err
        assert _experiment_runs(mlflow_server.reader, experiment_name) == []

        proxy.clear()
        first = _sync(tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "runs created: 1" in first.stdout and "still pending: 0" in first.stdout
        second = _sync(tmp_path)
        assert "runs created: 0, records delivered: 0" in second.stdout

    runs = _experiment_runs(mlflow_server.reader, experiment_name)
    assert [r["info"]["run_name"] for r in runs] == ["offline"]
    run_id = runs[0]["info"]["run_id"]
    assert runs[0]["info"]["status"] == "FINISHED"
    steps = [p["step"] for p in mlflow_server.reader.metric_history(run_id, "loss")]
    assert sorted(steps) == list(range(3000))
    assert mlflow_server.reader.params(run_id) == {"lr": "0.1"}


def test_sigkilled_training_is_in_the_store_and_sync_marks_it_killed(mlflow_server,
                                                                     experiment_name, tmp_path):
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(Fault.status(503, times=10**9))  # nothing reaches the server before the kill
        process = _run_script(
            """
            import sys, time
            import autolog
            run = autolog.start_run(run_name="crashed")
            for step in range(500):
                run.log_metric("loss", step, step=step)
            time.sleep(2.5)
            print("logged", flush=True)
            time.sleep(60)
            """,
            {"AUTOLOG_DIR": str(tmp_path), "MLFLOW_TRACKING_URI": proxy.uri,
             "MLFLOW_EXPERIMENT_NAME": experiment_name},
        )
        assert process.stdout.readline().strip() == "logged"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

        store = LocalStore(tmp_path)
        [row] = store.runs()
        assert row["status"] == "RUNNING"
        assert len(store.run_data(row["run_id"])["metrics"]["loss"]) == 500

        proxy.clear()
        result = _sync(tmp_path)
        assert "runs closed as KILLED: 1" in result.stdout, result.stdout + result.stderr
    [remote] = _experiment_runs(mlflow_server.reader, experiment_name)
    assert remote["info"]["status"] == "KILLED" and remote["info"]["end_time"]
    history = mlflow_server.reader.metric_history(remote["info"]["run_id"], "loss")
    assert sorted(p["step"] for p in history) == list(range(500))


def _child_logs(run_id_holder) -> None:  # runs in a forked child
    run = autolog.active_run()
    run.log_metric("from_child", 1.0, step=1)
    assert autolog.flush(30)
    run_id_holder.put(run.run_id)


def test_a_forked_child_neither_deadlocks_nor_resends_the_parents_queue(mlflow_server,
                                                                        experiment_name,
                                                                        monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "5")  # keep the parent's records queued
    try:
        with autolog.start_run(run_name="forking", tracking_uri=mlflow_server.uri,
                               experiment=experiment_name) as run:
            for step in range(100):
                run.log_metric("from_parent", step, step=step)
            context = multiprocessing.get_context("fork")
            holder = context.Queue()
            child = context.Process(target=_child_logs, args=(holder,))
            child.start()
            child.join(60)
            assert child.exitcode == 0
            assert holder.get(timeout=5) == run.run_id
        assert autolog.flush(60)
        remote_id = run.remote_id()
    finally:
        shutdown(10)
    assert len(mlflow_server.reader.metric_history(remote_id, "from_parent")) == 100
    assert len(mlflow_server.reader.metric_history(remote_id, "from_child")) == 1
    assert len(_experiment_runs(mlflow_server.reader, experiment_name)) == 1


def test_a_later_process_delivers_what_an_earlier_one_left(mlflow_server, experiment_name,
                                                           tmp_path):
    env = {"AUTOLOG_DIR": str(tmp_path), "MLFLOW_EXPERIMENT_NAME": experiment_name,
           "AUTOLOG_EXIT_TIMEOUT": "1"}
    with FaultProxy(mlflow_server.uri) as proxy:
        proxy.add(Fault.status(503, times=10**9))
        first = _run_script(
            """
            import autolog
            with autolog.start_run(run_name="left-behind") as run:
                for step in range(200):
                    run.log_metric("loss", step, step=step)
            """,
            {**env, "MLFLOW_TRACKING_URI": proxy.uri},
        )
        assert first.wait(120) == 0
        proxy.clear()
        second = _run_script(
            """
            import autolog
            with autolog.start_run(run_name="next-day") as run:
                run.log_metric("loss", 1.0)
            assert autolog.flush(60)
            """,
            {**env, "MLFLOW_TRACKING_URI": proxy.uri},
        )
        _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
    runs = {r["info"]["run_name"]: r for r in _experiment_runs(mlflow_server.reader,
                                                               experiment_name)}
    assert set(runs) == {"left-behind", "next-day"}
    history = mlflow_server.reader.metric_history(runs["left-behind"]["info"]["run_id"], "loss")
    assert sorted(p["step"] for p in history) == list(range(200))
    assert runs["left-behind"]["info"]["status"] == "FINISHED"


def _sockets_to(port: int) -> set[str]:
    """``socket:[inode]`` of this machine's TCP connections to ``port`` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                found.add(f"socket:[{fields[9]}]")
    return found


def _held_for(folder: Path, port: int) -> set[str]:
    """What this process holds open in ``folder`` or connected to ``port``: other tests'
    leftovers elsewhere in the process cannot make this flaky."""
    sockets = _sockets_to(port)
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            what = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
        if what.startswith(str(folder)) or what in sockets:
            held.add(what)
    return held


def test_shutting_down_lets_go_of_connections_and_the_store(mlflow_server, experiment_name,
                                                           tmp_path, monkeypatch):
    """A long process (a notebook, a test session) that starts and shuts autolog down again and
    again must not keep each round's sockets and store files open: they add up until the
    process runs out of descriptors (and past 1024, select()-based code breaks)."""
    port = int(mlflow_server.uri.rsplit(":", 1)[1].split("/")[0])
    before = _held_for(tmp_path, port)
    for round_ in range(3):
        monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / f"store-{round_}"))
        with autolog.start_run(f"round-{round_}", tracking_uri=mlflow_server.uri,
                               experiment=experiment_name) as run:
            run.log_metric("loss", 1.0)
        assert autolog.flush(60)
        assert _held_for(tmp_path, port) - before, "the round held nothing: nothing to check"
        shutdown(10)
    assert _held_for(tmp_path, port) - before == set()
    assert len(_experiment_runs(mlflow_server.reader, experiment_name)) == 3

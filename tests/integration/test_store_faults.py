"""The local store under real faults, in real processes: SIGKILL right after logging, a disk
that fills up, a read-only store directory. Training finishes, and every point logged is in
exactly one store afterwards.

Full and read-only file systems are real ones: a small tmpfs mounted over the store directory
in a private mount namespace (``unshare -m``; ``-r`` as well when not root), gone with it.
Where no mount namespace can be made, a full disk is a file size limit (``RLIMIT_FSIZE``, the
kernel refuses writes past it), and a read-only directory is one without write permission
(not for root, which ignores it). ``AUTOLOG_TEST_NO_NAMESPACES=1`` takes those ways here too.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from autolog.backends.local_store import LocalStore

ROOT = Path(__file__).resolve().parents[2]

#: Reads every store the training could have written (the mounted one, any fallback under
#: TMPDIR) while the private mount still exists; prints {store: {run name: [status, steps]}}.
_INSPECT = """
import json, os, sys
from pathlib import Path
from autolog.backends.local_store import LocalStore
stores = [Path(sys.argv[1])] + sorted(Path(os.environ["TMPDIR"]).glob("autolog-*/*"))
report = {}
for directory in stores:
    if not (directory / "autolog.db").exists():
        continue
    store = LocalStore(directory)
    report[str(directory)] = {
        row["name"]: [row["status"], [s for s, _, _ in
                      store.run_data(row["run_id"])["metrics"].get("loss", [])]]
        for row in store.runs()}
print(json.dumps(report))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("AUTOLOG_TESTING", None)
    return env


@functools.lru_cache(maxsize=1)
def _unshare() -> list[str] | None:
    """The command prefix that makes a private mount namespace, or None where none can be."""
    unshare = shutil.which("unshare")
    if unshare is None or os.environ.get("AUTOLOG_TEST_NO_NAMESPACES") == "1":
        return None
    command = [unshare, "-m", "--propagation", "private"] + ([] if os.geteuid() == 0 else ["-r"])
    probe = subprocess.run([*command, "sh", "-c", 'mount -t tmpfs tmpfs "$(mktemp -d)"'],
                           capture_output=True, text=True)
    return command if probe.returncode == 0 else None


def _inspect(store: Path, env: dict[str, str]) -> dict:
    inspected = subprocess.run([sys.executable, "-c", _INSPECT, str(store)], env=_env(**env),
                               capture_output=True, text=True, timeout=120)
    assert inspected.returncode == 0, inspected.stderr
    return json.loads(inspected.stdout)


def _with_file_size_limit(limit: int, train: str, env: dict[str, str]
                          ) -> subprocess.CompletedProcess:
    def limited() -> None:  # in the child, before exec: writes past ``limit`` fail (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-c", textwrap.dedent(train)], env=_env(**env),
                          preexec_fn=limited, capture_output=True, text=True, timeout=300)


def _in_private_mount(store: Path, setup: str, train: str, env: dict[str, str]
                      ) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``train`` (Python) with ``setup`` (shell, may use $STORE) done first in a mount
    namespace of its own; returns the training's result and what the stores hold."""
    flags = _unshare()
    assert flags is not None
    train_file = store.parent / "train.py"
    inspect_file = store.parent / "inspect_stores.py"
    train_file.write_text(textwrap.dedent(train))
    inspect_file.write_text(_INSPECT)
    shell = (f'{setup} && "$PY" "$TRAIN" > "$OUT" 2> "$ERR"; echo $? > "$RC"; '
             f'"$PY" "$INSPECT" "$STORE"')
    paths = {"OUT": store.parent / "out.txt", "ERR": store.parent / "err.txt",
             "RC": store.parent / "rc.txt"}
    full_env = _env(**env, PY=sys.executable, TRAIN=str(train_file), INSPECT=str(inspect_file),
                    STORE=str(store), **{name: str(path) for name, path in paths.items()})
    inspected = subprocess.run([*flags, "sh", "-c", shell], env=full_env,
                               capture_output=True, text=True, timeout=300)
    assert inspected.returncode == 0, inspected.stderr
    training = subprocess.CompletedProcess(
        "train", int(paths["RC"].read_text()), paths["OUT"].read_text(),
        paths["ERR"].read_text())
    return training, json.loads(inspected.stdout)


def test_sigkill_right_after_logging_loses_nothing_logged_before_it(tmp_path):
    # The report: SIGKILL right after 1,000 log_metrics calls left nothing in the store (the
    # writer wrote once a second). Now records are on disk within ~50 ms; 0.5 s is plenty.
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import time
            import autolog
            run = autolog.start_run(run_name="killed")
            for step in range(1000):
                run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
            print("logged", flush=True)
            time.sleep(60)
            """)],
        env=_env(AUTOLOG_DIR=str(tmp_path)), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "logged"
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
        process.stdout.close()
    store = LocalStore(tmp_path)
    [row] = store.runs()
    assert row["name"] == "killed" and row["status"] == "RUNNING"
    assert [s for s, _, _ in store.run_data(row["run_id"])["metrics"]["loss"]] == list(range(1000))


def test_a_disk_that_fills_up_moves_the_store_and_loses_no_point(tmp_path):
    store = tmp_path / "autolog-runs"
    store.mkdir()
    (tmp_path / "tmp").mkdir()
    # The store fills up after ~13,000 points (3 MB tmpfs) or ~17,000 (2 MB files, whose
    # limit the fallback store has too: records kept while failing are fewer there).
    points = 150_000 if _unshare() else 25_000
    train = f"""
        import autolog
        with autolog.start_run(run_name="filling") as run:
            for step in range({points}):
                run.log_metrics({{"loss": 1.0 / (step + 1)}}, step=step)
        print("trained", autolog.flush(60))
        """
    env = {"AUTOLOG_DIR": str(store), "TMPDIR": str(tmp_path / "tmp"),
           "AUTOLOG_QUEUE_WAKE": "2000", "AUTOLOG_QUEUE_MAX": "20000" if _unshare() else "5000"}
    if _unshare():
        training, stores = _in_private_mount(
            store, 'mount -t tmpfs -o size=3m,mode=0700 tmpfs "$STORE"', train, env)
        full_disk_says = "disk is full"
    else:
        training = _with_file_size_limit(2_000_000, train, env)
        stores = _inspect(store, env)
        full_disk_says = "disk I/O error"  # SQLite's words for EFBIG
    assert training.returncode == 0, training.stderr
    assert training.stdout.split() == ["trained", "True"], training.stderr
    assert full_disk_says in training.stderr and "cannot be written" in training.stderr
    full, fallback = stores[str(store)], [v for k, v in stores.items() if k != str(store)]
    [moved_to] = fallback
    assert moved_to["filling"][0] == "FINISHED"
    steps = full["filling"][1] + moved_to["filling"][1]
    assert full["filling"][1] and moved_to["filling"][1]  # the disk did fill up midway
    assert sorted(steps) == list(range(points))  # each point once, in one store or the other


def test_a_read_only_store_directory_falls_back_and_leaves_the_old_store_intact(tmp_path):
    store = tmp_path / "autolog-runs"
    store.mkdir()
    (tmp_path / "tmp").mkdir()
    earlier = subprocess.run(
        [sys.executable, "-c", "import autolog\n"
         "with autolog.start_run(run_name='earlier') as run:\n"
         "    run.log_metric('loss', 1.0, step=0)\n"],
        env=_env(AUTOLOG_DIR=str(store)), capture_output=True, text=True, timeout=120)
    assert earlier.returncode == 0, earlier.stderr
    train = """
        import autolog
        with autolog.start_run(run_name="later") as run:
            for step in range(500):
                run.log_metrics({"loss": float(step)}, step=step)
        print("trained", autolog.flush(60))
        """
    env = {"AUTOLOG_DIR": str(store), "TMPDIR": str(tmp_path / "tmp")}
    if _unshare():
        training, stores = _in_private_mount(
            store, 'mount --bind "$STORE" "$STORE" && mount -o remount,bind,ro "$STORE"',
            train, env)
    else:
        assert os.geteuid() != 0, "root ignores permissions: a read-only mount is needed"
        store.chmod(0o500)
        try:
            training = subprocess.run([sys.executable, "-c", textwrap.dedent(train)],
                                      env=_env(**env), capture_output=True, text=True,
                                      timeout=120)
            stores = _inspect(store, env)
        finally:
            store.chmod(0o700)
    assert training.returncode == 0, training.stderr
    assert training.stdout.split() == ["trained", "True"]
    assert "cannot be written" in training.stderr
    assert stores[str(store)] == {"earlier": ["FINISHED", [0]]}
    [fallback] = [v for k, v in stores.items() if k != str(store)]
    assert fallback == {"later": ["FINISHED", list(range(500))]}

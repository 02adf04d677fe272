"""A flush that waits says so on stderr: a progress line, and against a server out of reach a
repeated note that Ctrl-C leaves everything safe for ``python -m autolog sync``."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

from autolog.backends.local_store import LocalStore
from autolog.client._progress import FlushProgress
from autolog.client._window import Window

SCRIPT = textwrap.dedent("""
    import sys
    import autolog

    with autolog.start_run("waiting", tracking_uri=sys.argv[1], experiment="e") as run:
        run.log_params({"lr": 0.1})
        run.log_metrics({"loss": 0.5}, step=0)
    print("logged", flush=True)
    autolog.flush()
""")


def _dead_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_flush_against_an_unreachable_server_keeps_saying_it_waits(tmp_path: Path):
    env = {**os.environ, "AUTOLOG_DIR": str(tmp_path / "store"), "AUTOLOG_PROGRESS_AFTER": "0.3",
           "AUTOLOG_PROGRESS_EVERY": "0.8", "AUTOLOG_RETRY_BASE": "0.05",
           "AUTOLOG_RETRY_MAX": "0.2", "AUTOLOG_EXIT_TIMEOUT": "0.5"}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, _dead_url()], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "logged"
        time.sleep(3.0)  # several lines due by now
        assert process.poll() is None, "flush() without a timeout returned"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    lines = [line for line in stderr.splitlines() if line.startswith("autolog: waiting")]
    assert len(lines) >= 2, stderr
    for line in lines:
        assert "1 run(s) pending" in line, line
        assert "still waiting" in line and "Ctrl-C" in line, line
        assert "python -m autolog sync" in line, line
    assert "\r" not in stderr  # not a terminal: plain lines
    # Ctrl-C left it all in the store, for ``python -m autolog sync``.
    pending = LocalStore(tmp_path / "store").pending_counts()
    assert sum(pending.values()) >= 3  # the run's creation, its param and its point


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _sender(tmp_path: Path, **state) -> SimpleNamespace:
    defaults = dict(store=LocalStore(tmp_path), target="http://server", last_error="",
                    pause_until=0.0, stats={"records_delivered": 0}, window=Window(8))
    return SimpleNamespace(**{**defaults, **state})


def test_on_a_terminal_one_line_updates_in_place(tmp_path: Path):
    clock = [0.0]
    sender = _sender(tmp_path)
    screen = _Terminal()
    progress = FlushProgress(sender, stream=screen, clock=lambda: clock[0])
    progress.tick()
    assert screen.getvalue() == ""  # nothing in the first seconds
    for second in (3.5, 3.7, 4.6, 5.8):
        clock[0] = second
        sender.stats["records_delivered"] += 100
        progress.tick()
    progress.finish()
    text = screen.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "records/s" in text and "sending" in text


def test_elsewhere_a_plain_line_every_few_seconds(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AUTOLOG_PROGRESS_EVERY", "10")
    clock = [0.0]
    log = io.StringIO()
    progress = FlushProgress(_sender(tmp_path), stream=log, clock=lambda: clock[0])
    for second in range(0, 30):
        clock[0] = float(second)
        progress.tick()
    progress.finish()
    lines = log.getvalue().splitlines()
    assert [line.split("waiting ")[1].split(" s")[0] for line in lines] == ["3", "13", "23"]

"""A local ``mlflow server`` as a child process: for ``ui``, ``bench`` and tests.

autolog never imports mlflow; this only runs its command line (``mlflow server``) when the
user has it installed. The server gets one worker unless asked for more (``bench`` also runs
MLflow's default of four; they cost more memory and latency on a small machine), a SQLite
file and proxied artifacts under ``root``, and runs in its own process group, so stopping it
stops its workers too. It can be stopped and started
again on the same port and store (tests use that to simulate outages).
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

HEALTH_TIMEOUT = 90.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def mlflow_command() -> list[str]:
    """How to run MLflow's command line in this environment."""
    script = Path(sys.executable).with_name("mlflow")
    if script.exists():
        return [str(script)]
    found = shutil.which("mlflow")
    if found:
        return [found]
    return [sys.executable, "-m", "mlflow"]


class MlflowServer:
    """One ``mlflow server`` on 127.0.0.1 with a SQLite store and proxied artifacts.

    ``root`` holds ``mlflow.db``, ``artifacts/`` and ``server.log``; without one a temporary
    folder is made (and removed by :meth:`cleanup`). ``backend_store_uri`` replaces the
    SQLite file (e.g. a PostgreSQL database); ``command`` runs another installation's
    ``mlflow`` (e.g. an older server version in its own virtual environment).
    """

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
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="autolog-mlflow-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.backend_store_uri = backend_store_uri or f"sqlite:///{self.root / 'mlflow.db'}"
        self.command = list(command) if command else mlflow_command()
        self._other_installation = command is not None
        self.log_path = self.root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = HEALTH_TIMEOUT) -> MlflowServer:
        """Start (or restart, same port and store) and wait until ``/health`` answers 200.

        Raises ``RuntimeError`` with the end of the server's log when it does not come up.
        """
        if self.running:
            return self
        command = [
            *self.command,
            "server",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--backend-store-uri", self.backend_store_uri,
            "--artifacts-destination", str(self.root / "artifacts"),
            "--workers", str(self.workers),
            *self.extra_args,
        ]  # fmt: skip
        env = {
            **os.environ,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
            # The GenAI job runner adds ~8 processes and ~1 GB; tracking does not need it.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        if self._other_installation:
            env.pop("PYTHONPATH", None)  # another installation: none of this one's modules
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
        import urllib.request

        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                with direct.open(f"{self.uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:  # refused, reset, or an HTTP error (URLError is an OSError)
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, grace: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        process, self._process = self._process, None
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
        """Stop, and remove the folder when this object made it."""
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
    """Reap the leader and wait until no process of its group is left.

    The leader is the ``mlflow server`` command, which forwards the signal to the web server
    it runs and then spends seconds exiting; once the web server (the rest of the group) is
    gone the leader serves nothing and is killed rather than waited for."""
    deadline = time.monotonic() + timeout
    while True:
        process.poll()  # a zombie leader would keep the group alive
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if process.returncode is None and _group_members(process.pid) == {process.pid}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGKILL)
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _group_members(group: int) -> set[int] | None:
    """The live processes of a process group (Linux ``/proc``); None where it can't be read."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    members = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == group:  # state, ppid, pgrp
            members.add(int(entry.name))
    return members

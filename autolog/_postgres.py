"""A throwaway local PostgreSQL server: the SQL store production MLflow servers run on.

Used by the test suite (an MLflow server with several workers on PostgreSQL, Optuna's RDB
storage) and the load benchmark; never by the library itself. It runs the distribution's
PostgreSQL binaries (Debian: ``apt-get install postgresql``, found under
``/usr/lib/postgresql/<version>/bin``; ``AUTOLOG_PG_BIN`` names another folder): ``initdb``
into a fresh folder, then ``postgres`` as a child in its own process group, listening on
127.0.0.1 only, trust authentication, no Unix socket.

PostgreSQL refuses to run as root, so under root its processes run as the ``postgres`` user
(made by the distribution's package) and the data folder is given to that user.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from autolog._mlflow_server import free_port

SUPERUSER = "postgres"
_SYSTEM_USERS = ("postgres", "nobody")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

#: Settings for a disposable test cluster: no fsync, so a test suite does not wait on disk.
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_bin_dir() -> Path | None:
    """The folder of PostgreSQL's server binaries (``initdb``, ``postgres``), or None."""
    named = os.environ.get("AUTOLOG_PG_BIN")
    candidates = [Path(named)] if named else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda path: _version_key(path.parent.name), reverse=True)
    candidates.extend(versions)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)) or (0,)


class PostgresServer:
    """One PostgreSQL cluster on ``127.0.0.1:port`` in a folder of its own.

    ``settings`` are passed as ``-c name=value`` (e.g. :data:`FAST` for tests). ``url(db)``
    gives a SQLAlchemy URL for a database made with :meth:`create_database`.
    """

    def __init__(self, *, port: int | None = None, settings: dict[str, str] | None = None,
                 bin_dir: Path | None = None) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise RuntimeError("PostgreSQL's server binaries were not found: install them "
                               "(Debian: apt-get install postgresql) or set AUTOLOG_PG_BIN")
        self.bin_dir = found
        self.port = port or free_port()
        self.settings = dict(settings or {})
        # Not under the caller's temp folders: those may be private to root (pytest's are),
        # and the server may have to run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="autolog-postgres-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self._run_as = _run_as_user()
        if self._run_as is not None:
            shutil.chown(self.root, *self._run_as)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        """``driver`` is the URL scheme, e.g. ``postgresql+psycopg2``."""
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """initdb on first start, then start the server and wait until it accepts queries."""
        if self.running:
            return self
        if not (self.data_dir / "PG_VERSION").exists():
            self._run([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                       "--auth=trust", "--encoding=UTF8", "--no-locale"], timeout=120)
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir),
                   "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                   "-c", "unix_socket_directories=", "-c", "max_connections=300"]
        for name, value in self.settings.items():
            command += ["-c", f"{name}={value}"]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, **self._user_kwargs())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._process.returncode}:\n"
                                   f"{self.log_tail()}")
            ready = subprocess.run([str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1",
                                    "-p", str(self.port)], check=False)
            if ready.returncode == 0:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"postgres not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL (scheme ``postgresql``)."""
        if not _NAME.match(name):
            raise ValueError(f"database name {name!r}: use lowercase letters, digits and _")
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with the distribution's ``psql``; its output, or RuntimeError."""
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
             "-c", sql], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({sql!r}): {done.stderr.strip()}")
        return done.stdout

    def stop(self, grace: float = 15.0) -> None:
        """Fast shutdown (SIGINT: open sessions are ended), then SIGKILL after ``grace``."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait)
                return

    def cleanup(self) -> None:
        """Stop and remove the cluster's folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no postgres log)"

    def _run(self, command: list[str], timeout: float) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, **self._user_kwargs())
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed:\n{done.stdout}{done.stderr}")

    def _user_kwargs(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        uid, gid = self._run_as
        return {"user": uid, "group": gid, "extra_groups": [], "cwd": str(self.root)}

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.cleanup()


def _run_as_user() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in _SYSTEM_USERS:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("PostgreSQL refuses to run as root and no 'postgres' user exists")

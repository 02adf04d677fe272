"""The embedded SQLite store: the default backend and the spool every record passes through.

Every record the caller logs is written here first (by the shipper's writer thread, in one
transaction per drain, within ~50 ms of being logged), so a process that dies loses at most
what it logged in its last moments. For a
remote target each run keeps three watermarks (params / metrics / tags delivered up to row id)
and flags for creation and end, so delivery is resumable by this process, a later one, or
``python -m autolog sync``, and never re-sends what the backend acknowledged.

WAL mode and a busy timeout make several processes (Optuna workers, DDP ranks) safe on one file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from autolog._lifecycle import on_fork
from autolog._records import ARTIFACT, END, METRIC, MODEL, PARAM, RUN, TAG
from autolog._warnings import warn_once
from autolog.backends._store_health import (
    StoreError,
    fallback_directory,
    is_contention,
    is_corrupt,
    is_read_only,
    is_store_level,
    move_aside,
    private_directory,
    private_file,
)
from autolog.backends.base import Limits, Metric, Result, RunSpec

LOCAL_TARGET = "local"
DB_NAME = "autolog.db"

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT,
    status TEXT NOT NULL,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    target TEXT NOT NULL,
    owner_pid INTEGER,
    remote_id TEXT,
    create_attempted INTEGER NOT NULL DEFAULT 0,
    params_sent INTEGER NOT NULL DEFAULT 0,
    metrics_sent INTEGER NOT NULL DEFAULT 0,
    tags_sent INTEGER NOT NULL DEFAULT 0,
    artifacts_sent INTEGER NOT NULL DEFAULT 0,
    end_sent INTEGER NOT NULL DEFAULT 0,
    seq INTEGER,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS params (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL, timestamp INTEGER NOT NULL,
    step INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT, error TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS delivery_errors (
    target TEXT PRIMARY KEY, error TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS run_delivery_errors (
    run_id TEXT PRIMARY KEY, error TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, artifact_path TEXT NOT NULL, spec TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}', done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS models_by_run ON models (run_id, id);
CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id, id);
CREATE INDEX IF NOT EXISTS params_by_run ON params (run_id, id);
CREATE INDEX IF NOT EXISTS tags_by_run ON tags (run_id, id);
CREATE INDEX IF NOT EXISTS artifacts_by_run ON artifacts (run_id, id);
CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent_id);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target);
"""

# Store-side storage of NaN: SQLite turns float('nan') into NULL, so NULL means NaN here.


def default_store_dir() -> Path:
    return Path(os.environ.get("AUTOLOG_DIR") or Path.cwd() / "autolog-runs")


class LocalStore:
    """One SQLite file plus an ``artifacts/<run_id>/`` tree beside it.

    Also a :class:`~autolog.backends.base.Backend`, so a second store can be a delivery target
    (``tracking_uri="file:///some/dir"``) exactly as an MLflow server is.
    """

    limits = Limits(max_request_bytes=50_000_000)

    def __init__(self, directory: str | os.PathLike[str] | None = None, *,
                 recover: bool = False) -> None:
        """``recover``: this process writes here, so a damaged database file is moved aside
        and a new one started, and a directory that cannot be written is replaced by a
        per-user temporary one (each with a warning saying where). Readers (the CLI) leave a
        store as they find it."""
        self._place(Path(directory) if directory is not None else default_store_dir())
        self.recover = recover
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        #: Runs written here and not ended yet: put back into a store that starts over.
        self._open_runs: dict[str, tuple[tuple, str]] = {}
        self._starting_over = False
        self.relocated_from: Path | None = None
        _open_stores.add(self)

    def _place(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        self.artifact_root = directory / "artifacts"
        self._artifact_root_resolved: tuple[Path, str] | None = None
        #: Artifact folders this process made or found: each file would otherwise cost a
        #: walk up its folders (a stat each) on the writer thread.
        self._made_folders: set[str] = set()

    # -- connection ---------------------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                try:
                    conn = self._open()
                except Exception as error:
                    if not self.recover or not self._start_over(error):
                        raise
                    conn = self._open()
                self._conn = conn
                if self._starting_over:
                    self._starting_over = False
                    self._put_back_open_runs(conn)
            return self._conn

    def _open(self) -> sqlite3.Connection:
        private_directory(self.directory)  # readable by the user only
        private_file(self.path)
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer autolog (schema {version}); "
                    "upgrade autolog to read it"
                )
            try:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except sqlite3.OperationalError as error:
                if self.recover or not is_read_only(error):
                    raise  # a reader (the CLI) may look at a store it cannot write
        except BaseException:
            conn.close()
            raise
        return conn

    def _start_over(self, error: BaseException) -> bool:
        """After ``error`` opening or writing the store: move a damaged file aside, or move
        to the fallback directory. False when neither applies (the error stands)."""
        if is_corrupt(error) and self.path.exists():
            moved = move_aside(self.path)
            warn_once(f"store-moved:{moved}",
                      f"autolog: {self.path} is not a readable autolog store ({error}); it was "
                      f"moved to {moved} (nothing was deleted) and a new store was started")
        elif is_contention(error) or self.relocated_from is not None:
            return False
        else:
            try:
                fallback = fallback_directory(self.directory)
            except Exception:
                return False
            original = self.directory
            earlier = (f"; what was written before stays in {original}"
                       if self._open_runs else "")
            self._place(fallback)
            self.relocated_from = original
            warn_once(f"store-relocated:{original}",
                      f"autolog: the store directory {original} cannot be written ({error}); "
                      f"runs are recorded in {fallback} instead (python -m autolog --dir "
                      f"{fallback} runs){earlier}")
        self._starting_over = True
        return True

    def start_over(self, error: BaseException) -> bool:
        """The running process found the store unusable: close it and start over (see
        :meth:`_start_over`). Records already written stay where they are."""
        with self._lock:
            if not self.recover:
                return False
            self.close()
            return self._start_over(error)

    def _put_back_open_runs(self, conn: sqlite3.Connection) -> None:
        """A new database knows none of this process's runs: their later records need them.
        Marked as created-maybe, so a sender looks a run up before creating it again."""
        rows = [(run[0], run[1], run[2], run[3], run[4], target, os.getpid(), run[5])
                for run, target in self._open_runs.values()]
        if rows:
            conn.executemany(
                "INSERT OR IGNORE INTO runs (run_id, experiment, name, parent_id, status, "
                "start_time, target, owner_pid, seq, create_attempted) "
                "VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, 1)", rows)

    def reset_after_fork(self) -> None:
        """A connection must not cross a fork; the child opens its own."""
        self._lock = threading.RLock()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _transaction(self) -> _Tx:
        return _Tx(self)

    def _one_write(self) -> _Tx:
        """For a write of one statement, atomic on its own: no ``BEGIN``/``COMMIT`` around it
        (two statements less, each a GIL round trip on the delivering thread)."""
        return _Tx(self, single=True)

    # -- writing (shipper's writer thread) ----------------------------------------------------
    def write_records(self, records: Sequence[tuple], target: str) -> None:
        """Persist one drain of the in-memory queue in a single transaction."""
        runs, ends, params, metrics, tags, artifacts = [], [], [], [], [], []
        models = []
        for record in records:
            kind = record[0]
            if kind == METRIC:
                metrics.append(record[1:])
            elif kind == PARAM:
                params.append(record[1:])
            elif kind == TAG:
                tags.append(record[1:])
            elif kind == RUN:
                runs.append(record[1:])
            elif kind == END:
                ends.append(record[1:])
            elif kind == ARTIFACT:
                artifacts.append(record[1:])
            elif kind == MODEL:
                models.append(record[1:])
        pid = os.getpid()
        try:
            self.connect()
        except Exception as error:
            raise StoreError(error) from error
        for run_id, path, payload in artifacts:
            self._store_artifact_file(run_id, path, payload)
        with self._transaction() as conn:
            if runs:
                conn.executemany(
                    "INSERT OR IGNORE INTO runs (run_id, experiment, name, parent_id, status, "
                    "start_time, target, owner_pid, seq) VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?)",
                    [(r[0], r[1], r[2], r[3], r[4], target, pid, r[5]) for r in runs],
                )
            if params:
                conn.executemany("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)", params)
            if metrics:
                conn.executemany(
                    "INSERT INTO metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)",
                    metrics,
                )
            if tags:
                conn.executemany("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", tags)
            if artifacts:
                conn.executemany(
                    "INSERT INTO artifacts (run_id, path, size) VALUES (?, ?, ?)",
                    [(run_id, path, _payload_size(payload)) for run_id, path, payload in artifacts],
                )
            if models:
                conn.executemany(
                    "INSERT INTO models (run_id, artifact_path, spec) VALUES (?, ?, ?)", models
                )
            if ends:
                conn.executemany(
                    "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
                    [(status, end_time, run_id) for run_id, status, end_time in ends],
                )
        if self.recover:
            for run in runs:
                self._open_runs[run[0]] = (run, target)
            for run_id, _, _ in ends:
                self._open_runs.pop(run_id, None)

    def _store_artifact_file(self, run_id: str, path: str, payload: bytes | str) -> None:
        """Artifacts are the user's only: folders 0700, files 0600, whatever the umask."""
        destination = self._artifact_file(run_id, path)
        folder = os.path.dirname(destination)
        if folder not in self._made_folders:
            private_directory(Path(folder))
            self._made_folders.add(folder)
        try:
            descriptor = _create_private(destination)
        except FileNotFoundError:  # its folder was removed meanwhile
            private_directory(Path(folder))
            descriptor = _create_private(destination)
        with open(descriptor, "wb", buffering=0, closefd=True) as out:
            if isinstance(payload, bytes):
                view = memoryview(payload)
                while view:  # unbuffered: one write(2) for a file in memory, as a rule
                    view = view[out.write(view):]
            else:
                with open(payload, "rb") as source:
                    shutil.copyfileobj(source, out)

    def artifact_path(self, run_id: str, path: str) -> Path:
        """Where artifact ``path`` of ``run_id`` lives; ValueError for a path that leaves the
        run's folder. Checked on the path's text under the store's resolved folder (only
        autolog writes inside it): resolving each file's path cost two ``realpath`` walks per
        artifact on the writer thread."""
        return Path(self._artifact_file(run_id, path))

    def _artifact_file(self, run_id: str, path: str) -> str:
        root = os.path.normpath(os.path.join(self._resolved_artifact_root(), run_id))
        destination = os.path.normpath(os.path.join(root, path))
        if destination != root and not destination.startswith(root + os.sep):
            raise ValueError(f"artifact path escapes the run's directory: {path!r}")
        return destination

    def _resolved_artifact_root(self) -> str:
        cached = self._artifact_root_resolved
        if cached is None or cached[0] is not self.artifact_root:  # first use, or moved
            cached = self._artifact_root_resolved = (self.artifact_root,
                                                     str(self.artifact_root.resolve()))
        return cached[1]

    def bind_remote_run(self, run_id: str, experiment: str, name: str, start_time: int,
                        target: str, remote_id: str) -> None:
        """A row for a run another machine created as ``remote_id`` on ``target``: what this
        process logs into it is delivered there; it is never created nor ended from here.
        One statement, so a sender never sees the row without its remote id."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO runs (run_id, experiment, name, parent_id, status, "
                "start_time, target, owner_pid, remote_id, create_attempted, end_sent, seq) "
                "VALUES (?, ?, ?, NULL, 'RUNNING', ?, ?, ?, ?, 1, 1, 0)",
                (run_id, experiment, name, start_time, target, os.getpid(), remote_id))

    def mirror_from(self, source: LocalStore, target: str) -> None:
        """Copy ``source``'s local runs, and the new rows of runs already copied, into this
        store bound for ``target``; a run whose status changed is to be ended again there.
        Idempotent: rows keep their ids (``python -m autolog ui``)."""
        conn = self.connect()
        with self._lock:
            conn.execute("ATTACH DATABASE ? AS source", (str(source.path),))
            try:
                with self._transaction():
                    conn.execute(
                        "INSERT OR IGNORE INTO runs (run_id, experiment, name, parent_id, status, "
                        "start_time, end_time, target, owner_pid, seq) SELECT run_id, experiment, "
                        "name, parent_id, status, start_time, end_time, ?, owner_pid, seq "
                        "FROM source.runs WHERE target = ?", (target, LOCAL_TARGET))
                    conn.execute(
                        "UPDATE runs SET status = s.status, end_time = s.end_time, end_sent = 0 "
                        "FROM source.runs AS s WHERE s.run_id = runs.run_id "
                        "AND s.status != runs.status")
                    for table, columns in (("params", "id, run_id, key, value"),
                                           ("tags", "id, run_id, key, value"),
                                           ("metrics", "id, run_id, key, value, timestamp, step"),
                                           ("artifacts", "id, run_id, path, size")):
                        conn.execute(
                            f"INSERT OR IGNORE INTO {table} ({columns}) SELECT {columns} FROM "
                            f"source.{table} WHERE run_id IN (SELECT run_id FROM main.runs)")
            finally:
                conn.execute("DETACH DATABASE source")

    # -- delivery bookkeeping (shipper's sender thread, sync) ---------------------------------
    def undelivered_runs(self, target: str) -> list[sqlite3.Row]:
        """Runs bound for ``target`` with anything left to deliver, parents first."""
        conn = self.connect()
        behind = " OR ".join(
            f"{table}_sent < (SELECT IFNULL(MAX(id), 0) FROM {table} t WHERE t.run_id = runs.run_id)"
            for table in ("params", "metrics", "tags", "artifacts")
        )
        behind += (" OR EXISTS (SELECT 1 FROM models md WHERE md.run_id = runs.run_id"
                   " AND md.done = 0)")
        query = f"SELECT * FROM runs WHERE target = ? AND (remote_id IS NULL OR end_sent = 0 OR {behind})"
        query += " ORDER BY start_time, seq"
        with self._lock:
            cursor = conn.execute(query, (target,))
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    def claim(self, run_id: str, owner: str, lease_seconds: float,
              steal_from: str | None = None) -> sqlite3.Row | None:
        """Take (or renew) the right to deliver ``run_id``; None while another live sender has it.

        Several processes share one store (Optuna workers, DDP ranks, a later process picking up
        what a dead one left); the lease makes exactly one of them deliver each run at a time.
        """
        now = time.time()
        with self._one_write() as conn:
            updated = conn.execute(
                "UPDATE runs SET lease_owner = ?, lease_until = ? WHERE run_id = ? AND "
                "(lease_owner IS NULL OR lease_owner = ? OR lease_until < ? OR lease_owner = ?)",
                (owner, now + lease_seconds, run_id, owner, now, steal_from),
            ).rowcount
        if not updated:
            return None
        conn = self.connect()
        with self._lock:
            cursor = conn.execute(_CLAIMED_ROW, (run_id,))
            cursor.row_factory = sqlite3.Row
            return cursor.fetchone()

    def release(self, owner: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE runs SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?", (owner,)
            )

    def run_row(self, run_id: str) -> sqlite3.Row | None:
        conn = self.connect()
        with self._lock:
            cursor = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
            cursor.row_factory = sqlite3.Row
            return cursor.fetchone()

    def pending(self, table: str, run_id: str, after_id: int, limit: int) -> list[tuple]:
        columns = {
            "params": "id, key, value",
            "tags": "id, key, value",
            "metrics": "id, key, value, timestamp, step",
            "artifacts": "id, path, size",
        }[table]
        conn = self.connect()
        with self._lock:
            return conn.execute(
                f"SELECT {columns} FROM {table} WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?",
                (run_id, after_id, limit),
            ).fetchall()

    def mark(self, run_id: str, **fields: Any) -> None:
        allowed = {
            "remote_id", "create_attempted", "params_sent", "metrics_sent", "tags_sent",
            "artifacts_sent", "end_sent", "status", "end_time",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._one_write() as conn:
            conn.execute(
                f"UPDATE runs SET {assignments} WHERE run_id = ?", (*fields.values(), run_id)
            )

    def pending_models(self, run_id: str) -> list[sqlite3.Row]:
        """Model records of ``run_id`` whose delivery steps are not all done, oldest first."""
        conn = self.connect()
        with self._lock:
            cursor = conn.execute(
                "SELECT id, artifact_path, spec, state FROM models WHERE run_id = ? AND done = 0 "
                "ORDER BY id", (run_id,)
            )
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    def earlier_model_specs(self, model_row_id: int, target: str) -> list[str]:
        """Specs (JSON) of model records logged before ``model_row_id`` for ``target`` whose
        delivery is not done, leaving out runs the target refused for good."""
        conn = self.connect()
        with self._lock:
            return [row[0] for row in conn.execute(
                "SELECT md.spec FROM models md JOIN runs r ON r.run_id = md.run_id "
                "WHERE md.id < ? AND md.done = 0 AND r.target = ? "
                "AND (r.remote_id IS NULL OR r.remote_id != '') ORDER BY md.id",
                (model_row_id, target))]

    def update_model(self, model_row_id: int, state: str, done: bool) -> None:
        """Record a model's delivery progress (``state`` is JSON owned by autolog.models)."""
        with self._transaction() as conn:
            conn.execute("UPDATE models SET state = ?, done = ? WHERE id = ?",
                         (state, int(done), model_row_id))

    def record_rejection(self, run_id: str, kind: str, key: str | None, error: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO rejected (run_id, kind, key, error, at) VALUES (?, ?, ?, ?, ?)",
                (run_id, kind, key, error, int(time.time() * 1000)),
            )

    def record_delivery_error(self, target: str, error: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO delivery_errors (target, error, at) VALUES (?, ?, ?)",
                (target, error, int(time.time() * 1000)),
            )

    def record_run_delivery_error(self, run_id: str, error: str) -> None:
        """The last error that held up delivering ``run_id`` (``status`` shows it)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_delivery_errors (run_id, error, at) VALUES (?, ?, ?)",
                (run_id, error, int(time.time() * 1000)),
            )

    def clear_run_delivery_error(self, run_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM run_delivery_errors WHERE run_id = ?", (run_id,))

    def run_delivery_errors(self) -> dict[str, tuple[str, int]]:
        """Run id → (its last delivery error, when, in ms)."""
        conn = self.connect()
        with self._lock:
            return {run_id: (error, at) for run_id, error, at
                    in conn.execute("SELECT run_id, error, at FROM run_delivery_errors")}

    def pending_counts(self, target: str | None = None) -> dict[str, int]:
        """Records not yet acknowledged by their remote target, per run id."""
        conn = self.connect()
        query = (
            "SELECT run_id, "
            "(SELECT COUNT(*) FROM params p WHERE p.run_id = r.run_id AND p.id > r.params_sent) + "
            "(SELECT COUNT(*) FROM metrics m WHERE m.run_id = r.run_id AND m.id > r.metrics_sent) + "
            "(SELECT COUNT(*) FROM tags t WHERE t.run_id = r.run_id AND t.id > r.tags_sent) + "
            "(SELECT COUNT(*) FROM artifacts a WHERE a.run_id = r.run_id AND a.id > r.artifacts_sent) + "
            "(SELECT COUNT(*) FROM models md WHERE md.run_id = r.run_id AND md.done = 0) + "
            "(CASE WHEN r.remote_id IS NULL THEN 1 ELSE 0 END) + (1 - r.end_sent) "
            "FROM runs r WHERE r.target != ?"
        )
        args: list[Any] = [LOCAL_TARGET]
        if target is not None:
            query += " AND r.target = ?"
            args.append(target)
        with self._lock:
            rows = conn.execute(query, args).fetchall()
        return {run_id: count for run_id, count in rows if count}

    def close_runs_of_dead_processes(self, target: str | None = None) -> int:
        """Mark RUNNING runs of dead processes KILLED, ended at their last recorded point."""
        closed = 0
        for run in self.runs():
            if run["status"] != "RUNNING" or process_alive(run["owner_pid"]):
                continue
            if target is not None and run["target"] != target:
                continue
            conn = self.connect()
            with self._lock:
                (last,) = conn.execute(
                    "SELECT MAX(timestamp) FROM metrics WHERE run_id = ?", (run["run_id"],)
                ).fetchone()
            self.mark(run["run_id"], status="KILLED", end_time=last or run["start_time"])
            closed += 1
        return closed

    # -- reading (CLI, tests) -----------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        conn = self.connect()
        with self._lock:
            cursor = conn.execute("SELECT * FROM runs ORDER BY start_time, seq")
            cursor.row_factory = sqlite3.Row
            return [dict(row) for row in cursor.fetchall()]

    def run_data(self, run_id: str) -> dict[str, Any]:
        """Params, tags (last value wins) and metric histories of one run."""
        conn = self.connect()
        with self._lock:
            params = dict(
                conn.execute("SELECT key, value FROM params WHERE run_id = ? ORDER BY id", (run_id,))
            )
            tags = dict(
                conn.execute("SELECT key, value FROM tags WHERE run_id = ? ORDER BY id", (run_id,))
            )
            metrics: dict[str, list[tuple[int, float, int]]] = {}
            for key, value, timestamp, step in conn.execute(
                "SELECT key, value, timestamp, step FROM metrics WHERE run_id = ? ORDER BY id",
                (run_id,),
            ):
                metrics.setdefault(key, []).append(
                    (step, float("nan") if value is None else value, timestamp)
                )
            artifacts = [
                path
                for (path,) in conn.execute(
                    "SELECT DISTINCT path FROM artifacts WHERE run_id = ? ORDER BY path", (run_id,)
                )
            ]
        return {"params": params, "tags": tags, "metrics": metrics, "artifacts": artifacts}

    def search_runs(self, query: Any) -> Iterator[list[dict[str, Any]]]:
        """Pages of the runs matching a parsed search (``autolog.search``), in its order;
        the SQL lives in :mod:`autolog.backends._store_search`."""
        from autolog.backends._store_search import search_runs

        return search_runs(self, query)

    def last_delivery_errors(self) -> dict[str, tuple[str, int]]:
        conn = self.connect()
        with self._lock:
            return {t: (e, at) for t, e, at in conn.execute("SELECT * FROM delivery_errors")}

    # -- Backend protocol: this store as a delivery target ------------------------------------
    def get_or_create_experiment(self, name: str) -> Result:
        return Result.success(name)

    def find_run(self, experiment_id: str, client_id: str) -> Result:
        row = self.run_row(client_id)
        return Result.success(client_id if row is not None else None)

    def create_run(self, spec: RunSpec) -> Result:
        parent = spec.tags.get("mlflow.parentRunId")
        self.write_records(
            [
                (RUN, spec.client_id, spec.experiment_id, spec.name, parent, spec.start_time, 0),
                *((TAG, spec.client_id, k, v) for k, v in spec.tags.items()),
            ],
            LOCAL_TARGET,
        )
        return Result.success(spec.client_id)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> Result:
        records: list[tuple] = [(PARAM, run_id, k, v) for k, v in params]
        records += [(METRIC, run_id, m.key, m.value, m.timestamp, m.step) for m in metrics]
        records += [(TAG, run_id, k, v) for k, v in tags]
        self.write_records(records, LOCAL_TARGET)
        return Result.success()

    def update_run(self, run_id: str, status: str, end_time: int | None) -> Result:
        self.write_records([(END, run_id, status, end_time)], LOCAL_TARGET)
        return Result.success()

    def log_artifact(self, run_id: str, artifact_path: str, local_file: str) -> Result:
        self.write_records([(ARTIFACT, run_id, artifact_path, local_file)], LOCAL_TARGET)
        return Result.success()


# -- fork safety -------------------------------------------------------------------------------
# Every use of SQLite here happens under a store's lock. Holding all of them across fork()
# means no autolog thread is inside SQLite at that moment: a child forked while another thread
# held one of SQLite's own mutexes would hang on its first query.
_open_stores: weakref.WeakSet[LocalStore] = weakref.WeakSet()
_held_over_fork: list[LocalStore] = []


def _hold_stores_before_fork() -> None:
    for store in sorted(_open_stores, key=id):
        store._lock.acquire()
        _held_over_fork.append(store)


def _release_stores_in_parent() -> None:
    while _held_over_fork:
        _held_over_fork.pop()._lock.release()


def _reset_stores_in_child() -> None:
    _held_over_fork.clear()
    for store in list(_open_stores):
        store.reset_after_fork()


on_fork("stores", "local stores", before=_hold_stores_before_fork,
        after_in_parent=_release_stores_in_parent, after_in_child=_reset_stores_in_child)


def _create_private(path: str) -> int:
    """A descriptor to write ``path`` from its start, mode 0600: a new file gets it from
    ``open``; one that was there before is truncated and narrowed (one more call, rare)."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.fchmod(descriptor, 0o600)
        except OSError:
            os.close(descriptor)
            raise
        return descriptor


def process_alive(pid: int | None) -> bool:
    """Whether a process of this host with this pid exists (False for None)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else
        return True
    return True


def _payload_size(payload: bytes | str) -> int:
    return len(payload) if isinstance(payload, bytes) else os.path.getsize(payload)


#: A run's row as its deliverer claims it, with how far each of its tables goes: a step whose
#: table the run has caught up with skips its read (records stored after the claim wait for
#: the next pass, which the writer wakes the sender for).
_CLAIMED_ROW = (
    "SELECT runs.*, "
    + ", ".join(f"(SELECT IFNULL(MAX(id), 0) FROM {table} t WHERE t.run_id = runs.run_id) "
                f"AS {table}_max" for table in ("params", "metrics", "tags", "artifacts"))
    + ", EXISTS (SELECT 1 FROM models md WHERE md.run_id = runs.run_id AND md.done = 0) "
      "AS models_pending FROM runs WHERE run_id = ?"
)


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` under the store's lock (rollback on error); with
    ``single``, one statement in SQLite's own implicit transaction."""

    def __init__(self, store: LocalStore, *, single: bool = False) -> None:
        self.store = store
        self.single = single

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            conn = self.store.connect()
            if not self.single:
                conn.execute("BEGIN IMMEDIATE")
        except BaseException as error:  # the lock must not outlive a failed start
            self.store._lock.release()
            if is_store_level(error) and not isinstance(error, StoreError):
                raise StoreError(error) from error
            raise
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            conn = self.store.connect()
            if self.single:
                pass  # committed (or rolled back) by SQLite with the statement
            elif exc_type is None:
                try:
                    conn.execute("COMMIT")
                except Exception as error:  # a full disk shows here first
                    _rollback(conn)
                    raise StoreError(error) from error
            else:
                _rollback(conn)
        finally:
            self.store._lock.release()
        if exc is not None and is_store_level(exc) and not isinstance(exc, StoreError):
            raise StoreError(exc) from exc


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:  # SQLite may have rolled back by itself (SQLITE_FULL, IOERR)
            pass


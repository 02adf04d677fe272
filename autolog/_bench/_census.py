"""Counting what a run of a workload recorded, read back from where it was stored.

Read-only, after the timed part. MLflow's SQLite database has the same tables whether MLflow
wrote it as its local store or a tracking server did (from autolog or from MLflow's client),
so one reader counts both; autolog's embedded store is read the same way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0


def mlflow_database(database: Path, experiment: str,
                    artifact_root: Path | None) -> dict[str, Any] | None:
    """Runs, params, metric points, user tags, artifact files and logged models of one
    experiment in an MLflow SQLite database (``artifact_root``: where its artifacts went)."""
    if not database.exists():
        return None
    conn = _connect(database)
    try:
        found = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?",
                             (experiment,)).fetchone()
        if found is None:
            return {"runs": 0, "params": 0, "metric_points": 0, "tags": 0, "files": 0,
                    "models": 0}
        experiment_id = found[0]
        runs = "SELECT run_uuid FROM runs WHERE experiment_id = ?"

        def count(sql: str) -> int:
            return conn.execute(sql.replace("RUNS", runs), (experiment_id,)).fetchone()[0]

        census = {
            "runs": count("SELECT count(*) FROM runs WHERE experiment_id = ?"),
            "params": count("SELECT count(*) FROM params WHERE run_uuid IN (RUNS)"),
            "metric_points": count("SELECT count(*) FROM metrics WHERE run_uuid IN (RUNS)"),
            "tags": count("SELECT count(*) FROM tags WHERE run_uuid IN (RUNS) AND key NOT LIKE "
                          "'mlflow.%' AND key NOT LIKE 'autolog.%'"),
            "models": 0,
        }
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "logged_models" in tables:
            census["models"] = conn.execute(
                "SELECT count(*) FROM logged_models WHERE experiment_id = ?",
                (experiment_id,)).fetchone()[0]
    finally:
        conn.close()
    files = 0
    if artifact_root is not None:  # a server's root holds a folder per experiment id; a
        # local store's experiments here have a folder of their own, named after them
        for folder in (artifact_root / str(experiment_id), artifact_root / experiment):
            files += count_files(folder)
    census["files"] = files
    return census


def autolog_store(store: Path, experiment: str) -> dict[str, Any] | None:
    """What autolog recorded in ``experiment`` of its embedded store (or delivery spool)."""
    path = store / "autolog.db"
    if not path.exists():
        return None
    conn = _connect(path)
    try:
        runs = "SELECT run_id FROM runs WHERE experiment = ?"

        def count(sql: str) -> int:
            return conn.execute(sql.replace("RUNS", runs), (experiment,)).fetchone()[0]

        return {
            "runs": count("SELECT count(*) FROM runs WHERE experiment = ?"),
            "params": count("SELECT count(*) FROM params WHERE run_id IN (RUNS)"),
            "metric_points": count("SELECT count(*) FROM metrics WHERE run_id IN (RUNS)"),
            "tags": count("SELECT count(*) FROM tags WHERE run_id IN (RUNS) AND key NOT LIKE "
                          "'mlflow.%' AND key NOT LIKE 'autolog.%'"),
            "files": count("SELECT count(*) FROM artifacts WHERE run_id IN (RUNS)"),
            "models": count("SELECT count(*) FROM models WHERE run_id IN (RUNS)"),
        }
    finally:
        conn.close()

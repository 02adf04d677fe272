"""Where the benchmark's runs go, for autolog and for MLflow: the same kind of place for both.

- default, ``embedded``: autolog writes its embedded SQLite store; MLflow writes its own
  local SQLite store (``sqlite:///…/mlflow.db``, MLflow's default kind of store). Both are
  local files, nothing travels over a network.
- ``server``: both send to one MLflow tracking server, the one given by ``--tracking-uri`` or
  a local one started by ``--start-mlflow-server`` (one worker, SQLite, temporary folder).

Every workload × variant logs into an experiment of its own, so what a variant recorded can
be counted afterwards (:meth:`Destination.census_autolog`, :meth:`Destination.census_mlflow`).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autolog._mlflow_server import MlflowServer


@dataclass
class Destination:
    kind: str  # "embedded" or "server"
    #: None: the embedded store in AUTOLOG_DIR (the benchmark's own folder while it runs)
    autolog_uri: str | None
    mlflow_uri: str | None  # None: mlflow not installed
    workdir: Path  # temporary files of this benchmark (removed by close())
    server: MlflowServer | None = None
    _tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    @property
    def store_dir(self) -> Path:
        """autolog's own store (and delivery spool): AUTOLOG_DIR while the benchmark runs."""
        return self.workdir / "autolog-store"

    def describe(self) -> str:
        if self.kind == "embedded":
            return ("embedded: autolog -> its embedded SQLite store; MLflow -> its own local "
                    "SQLite store (sqlite:///.../mlflow.db). Both local files, no server.")
        started = " (started by --start-mlflow-server: 1 worker, SQLite)" if self.server else ""
        return f"server: autolog and MLflow -> the same MLflow server {self.autolog_uri}{started}"

    def experiment(self, workload: str, variant: str) -> str:
        return f"autolog-bench-{workload}-{variant}-{self._tag}"

    # -- MLflow -----------------------------------------------------------------------------
    def use_mlflow_experiment(self, name: str) -> None:
        """Point MLflow's fluent API at ``name`` here (created with a local artifact root when
        the store is a local file, so nothing lands in ./mlruns)."""
        import mlflow

        mlflow.set_tracking_uri(self.mlflow_uri)
        client = mlflow.MlflowClient(self.mlflow_uri)
        if client.get_experiment_by_name(name) is None:
            location = None
            if self.kind == "embedded":
                location = (self.workdir / "mlflow-artifacts" / name).as_uri()
            client.create_experiment(name, artifact_location=location)
        mlflow.set_experiment(name)

    def census_mlflow(self, experiment: str) -> dict[str, int]:
        """What an MLflow variant left in ``experiment``: runs, params, metric values, …"""
        import mlflow

        client = mlflow.MlflowClient(self.mlflow_uri)
        found = client.get_experiment_by_name(experiment)
        counts = dict.fromkeys(("runs", "params", "metric_values", "tags", "artifacts",
                                "models"), 0)
        if found is None:
            return counts
        for run in client.search_runs([found.experiment_id], max_results=5000):
            counts["runs"] += 1
            counts["params"] += len(run.data.params)
            counts["tags"] += sum(1 for key in run.data.tags if not _system_tag(key))
            for key in run.data.metrics:
                counts["metric_values"] += len(client.get_metric_history(run.info.run_id, key))
            counts["artifacts"] += _count_artifacts(client, run.info.run_id, None)
        search = getattr(client, "search_logged_models", None)
        if search is not None:
            counts["models"] = len(search(experiment_ids=[found.experiment_id]))
        return counts

    # -- autolog ------------------------------------------------------------------------------
    def census_autolog(self, experiment: str) -> dict[str, int]:
        """What autolog recorded in ``experiment``, read from its store (for a server this is
        the spool it delivered from; the benchmark flushes before counting)."""
        path = self.store_dir / "autolog.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            runs = "SELECT run_id FROM runs WHERE experiment = ?"

            def count(sql: str) -> int:
                return conn.execute(sql.replace("RUNS", runs), (experiment,)).fetchone()[0]

            return {
                "runs": count("SELECT count(*) FROM runs WHERE experiment = ?"),
                "params": count("SELECT count(*) FROM params WHERE run_id IN (RUNS)"),
                "metric_values": count("SELECT count(*) FROM metrics WHERE run_id IN (RUNS)"),
                "tags": count("SELECT count(*) FROM tags WHERE run_id IN (RUNS) AND key NOT LIKE "
                              "'mlflow.%' AND key NOT LIKE 'autolog.%'"),
                "artifacts": count("SELECT count(*) FROM artifacts WHERE run_id IN (RUNS)"),
                "models": count("SELECT count(*) FROM models WHERE run_id IN (RUNS)"),
            }
        finally:
            conn.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _system_tag(key: str) -> bool:
    return key.startswith(("mlflow.", "autolog."))


def _count_artifacts(client: Any, run_id: str, path: str | None) -> int:
    total = 0
    for item in client.list_artifacts(run_id, path):
        total += _count_artifacts(client, run_id, item.path) if item.is_dir else 1
    return total


def open_destination(tracking_uri: str | None, start_server: bool,
                     with_mlflow: bool) -> Destination:
    """Make the temporary folder and, when asked, start the server."""
    workdir = Path(tempfile.mkdtemp(prefix="autolog-bench-"))
    if start_server:
        server = MlflowServer(workdir / "mlflow-server", workers=1)
        try:
            server.start()
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return Destination("server", server.uri, server.uri if with_mlflow else None, workdir,
                           server)
    if tracking_uri and tracking_uri.split(":", 1)[0].lower() in ("http", "https"):
        return Destination("server", tracking_uri, tracking_uri if with_mlflow else None,
                           workdir)
    if tracking_uri:
        raise ValueError(f"--tracking-uri must be an http(s) MLflow server, not {tracking_uri!r} "
                         "(without it, both tools write local stores)")
    destination = Destination("embedded", None, None, workdir)
    if with_mlflow:
        destination.mlflow_uri = f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}"
        (workdir / "mlflow").mkdir()
    return destination

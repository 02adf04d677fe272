"""Many writers at once: P processes x R runs x M metrics into one MLflow tracking server.

What an HPO sweep on a cluster does to a server: tens of processes, each opening runs and
logging a few params and metrics, all at once. Each process here is one "machine" (its own
``AUTOLOG_DIR``); the server shape is one of :data:`SERVERS`; the client is autolog or MLflow's
own fluent client doing the same (``start_run``, ``log_params``, ``log_metrics``, end).

:func:`run_load` runs one configuration and returns a dict: runs and points per second from
the start signal until every process has everything delivered, the HTTP requests sent and
those that failed and were retried (429, 5xx, connection errors; counted under both clients'
retry logic, at urllib3's level), and the proof that nothing was lost or duplicated: every
run, param and point is read back from the server's own database and compared with what was
logged. ``python -m autolog._bench._load`` (or ``benchmarks/bench_load.py``) runs the matrix
and prints a table. A benchmark, not a test: it is slow (minutes) and its numbers depend on
the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autolog._mlflow_server import MlflowServer

#: Server shapes: (store, uvicorn workers).
SERVERS = {"sqlite-1": ("sqlite", 1), "sqlite-4": ("sqlite", 4), "postgres-4": ("postgres", 4)}
CLIENTS = ("autolog", "mlflow")
PARAMS_PER_RUN = 3
_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LoadConfig:
    server: str = "sqlite-1"
    client: str = "autolog"
    processes: int = 8
    runs: int = 200  # per process
    metrics: int = 50  # per run: one point of each of this many keys
    timeout: float = 900.0  # per process, until everything is delivered

    def validate(self) -> None:
        if self.server not in SERVERS:
            raise ValueError(f"server must be one of {', '.join(SERVERS)}, not {self.server!r}")
        if self.client not in CLIENTS:
            raise ValueError(f"client must be one of {', '.join(CLIENTS)}, not {self.client!r}")
        for name in ("processes", "runs", "metrics"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def metric_value(process: int, run: int, key: int) -> float:
    """The value each point gets: unique per point, exact in a double, so a read-back can
    tell a right point from a wrong one."""
    return process * 1_000_000 + run * 1_000 + key + 0.5


# -- one configuration ------------------------------------------------------------------------
def run_load(config: LoadConfig, server: MlflowServer | None = None) -> dict[str, Any]:
    """Run one configuration; ``server``: an already running server to use (its database is
    read back), else one of ``config.server``'s shape is started and stopped here."""
    config.validate()
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="autolog-load-"))
        stack.callback(shutil.rmtree, workdir, True)
        if server is None:
            server = stack.enter_context(_started_server(config.server, workdir))
        experiment = f"load-{config.client}-{uuid.uuid4().hex[:8]}"
        _create_experiment(server.uri, experiment)  # not raced by P processes at once
        timing = _drive_workers(config, server.uri, experiment, workdir)
        proof = read_back(server.backend_store_uri, experiment, config)
    runs, points = config.processes * config.runs, config.processes * config.runs * config.metrics
    wall = timing["wall_s"]
    return {
        **asdict(config),
        "server_uri": server.uri,
        "experiment": experiment,
        "runs_total": runs,
        "points_total": points,
        "wall_s": round(wall, 2),
        "runs_per_s": round(runs / wall, 1),
        "points_per_s": round(points / wall),
        "logging_s_median": timing["logging_s_median"],
        "requests": timing["requests"],
        "requests_retried": timing["requests_failed"],
        "all_delivered_in_time": timing["all_delivered"],
        **proof,
        "nothing_lost_or_duplicated": all(proof[key] == 0 for key in proof),
    }


@contextlib.contextmanager
def _started_server(shape: str, workdir: Path) -> Iterator[MlflowServer]:
    store, workers = SERVERS[shape]
    if store == "sqlite":
        with MlflowServer(workdir / "mlflow", workers=workers) as server:
            yield server
        return
    from autolog._postgres import PostgresServer

    with PostgresServer() as postgres:  # durable defaults, as a production database runs
        postgres.create_database("mlflow")
        uri = postgres.url("mlflow", "postgresql+psycopg2")
        with MlflowServer(workdir / "mlflow", workers=workers, backend_store_uri=uri) as server:
            yield server


def _create_experiment(uri: str, name: str) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/experiments/create", data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60):  # raises for an HTTP error
        pass


def _drive_workers(config: LoadConfig, uri: str, experiment: str,
                   workdir: Path) -> dict[str, Any]:
    """Start the processes, let them all go at once, wait for their reports."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "OPENBLAS_NUM_THREADS": "1"}
    for name in ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_TESTING"):
        env.pop(name, None)
    workers = []
    for index in range(config.processes):
        spec = json.dumps({"index": index, "uri": uri, "experiment": experiment,
                           "client": config.client, "runs": config.runs,
                           "metrics": config.metrics, "timeout": config.timeout})
        worker_env = {**env, "AUTOLOG_DIR": str(workdir / f"machine-{index}")}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "autolog._bench._load", "--worker", spec], env=worker_env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        for worker in workers:  # each says "ready" once its imports are done
            line = worker.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"a load worker failed to start: {line}{worker.stderr.read()}")
        start = time.time()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=config.timeout + 120)
            if worker.returncode != 0:
                raise RuntimeError(f"a load worker failed ({worker.returncode}):\n{err[-3000:]}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return {
        "wall_s": max(report["done_at"] for report in reports) - start,
        "logging_s_median": round(statistics.median(r["logging_s"] for r in reports), 3),
        "requests": sum(report["requests"] for report in reports),
        "requests_failed": sum(report["requests_failed"] for report in reports),
        "all_delivered": all(report["delivered"] for report in reports),
    }


# -- the proof --------------------------------------------------------------------------------
def read_back(store_uri: str, experiment: str, config: LoadConfig) -> dict[str, int]:
    """Compare the server's database with what the processes logged; every count is 0 when
    everything arrived exactly once."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(store_uri)
    of_experiment = ("JOIN runs r ON t.run_uuid = r.run_uuid JOIN experiments e "
                     "ON r.experiment_id = e.experiment_id WHERE e.name = :name")
    try:
        with engine.connect() as conn:
            def rows(sql: str) -> list[Any]:
                return list(conn.execute(sqlalchemy.text(sql), {"name": experiment}))

            runs = rows("SELECT t.name, t.status FROM runs t " + of_experiment)
            points = rows("SELECT r.name, t.key, t.step, t.value, t.is_nan FROM metrics t "
                          + of_experiment)
            params = rows("SELECT r.name, t.key FROM params t " + of_experiment)
    finally:
        engine.dispose()
    expected_runs = {f"w{p}-r{r}" for p in range(config.processes) for r in range(config.runs)}
    names = Counter(name for name, _ in runs)
    expected_points = {(f"w{p}-r{r}", f"m{k}"): metric_value(p, r, k)
                       for p in range(config.processes) for r in range(config.runs)
                       for k in range(config.metrics)}
    stored = Counter((name, key) for name, key, _, _, _ in points)
    expected_params = {(name, key) for name in expected_runs for key in _param_names()}
    return {
        "runs_missing": len(expected_runs - set(names)),
        "runs_duplicated": sum(count - 1 for count in names.values()),
        "runs_unexpected": len(set(names) - expected_runs),
        "runs_not_finished": sum(1 for _, status in runs if status != "FINISHED"),
        "points_missing": sum(1 for point in expected_points if point not in stored),
        "points_duplicated": sum(count - 1 for count in stored.values()),
        "points_wrong": sum(1 for name, key, step, value, is_nan in points
                            if is_nan or step != 0 or expected_points.get((name, key)) != value),
        "params_missing": len(expected_params - {tuple(row) for row in params}),
    }


def _param_names() -> tuple[str, ...]:
    return ("worker", "run", "lr")


# -- one process ------------------------------------------------------------------------------
def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    counts = _count_http_attempts()
    index, runs, metrics = spec["index"], spec["runs"], spec["metrics"]
    log_run = _autolog_client(spec) if spec["client"] == "autolog" else _mlflow_client(spec)
    print("ready", flush=True)
    sys.stdin.readline()
    begin = time.perf_counter()
    for run in range(runs):
        values = {f"m{key}": metric_value(index, run, key) for key in range(metrics)}
        log_run(f"w{index}-r{run}", dict(zip(_param_names(), (index, run, 0.01), strict=True)),
                values)
    logging_s = time.perf_counter() - begin
    delivered = True
    if spec["client"] == "autolog":
        import autolog

        delivered = autolog.flush(spec["timeout"])
    return {"done_at": time.time(), "logging_s": logging_s, "delivered": delivered, **counts}


def _autolog_client(spec: dict[str, Any]) -> Any:
    import autolog

    def log_run(name: str, params: dict[str, Any], values: dict[str, float]) -> None:
        with autolog.start_run(run_name=name, tracking_uri=spec["uri"],
                               experiment=spec["experiment"]) as run:
            run.log_params(params)
            run.log_metrics(values, step=0)

    return log_run


def _mlflow_client(spec: dict[str, Any]) -> Any:
    import mlflow

    mlflow.set_tracking_uri(spec["uri"])
    mlflow.set_experiment(spec["experiment"])

    def log_run(name: str, params: dict[str, Any], values: dict[str, float]) -> None:
        with mlflow.start_run(run_name=name):
            mlflow.log_params(params)
            mlflow.log_metrics(values, step=0)

    return log_run


def _count_http_attempts() -> dict[str, int]:
    """Count every HTTP attempt and the failed ones (what retry logic then retries), where
    each client sends them: urllib3's connection pools (MLflow's client, whose retries run
    inside urllib3, and autolog over TLS or a proxy) and autolog's plain-http client."""
    from urllib3.connectionpool import HTTPConnectionPool

    from autolog.backends._plain_http import PlainPool

    counts = {"requests": 0, "requests_failed": 0}

    def counting(original: Callable[..., Any], status_of: Callable[[Any], int]
                 ) -> Callable[..., Any]:
        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            counts["requests"] += 1
            try:
                response = original(self, *args, **kwargs)
            except Exception:
                counts["requests_failed"] += 1
                raise
            status = status_of(response)
            if status == 429 or status >= 500:
                counts["requests_failed"] += 1
            return response

        return counted

    HTTPConnectionPool._make_request = counting(HTTPConnectionPool._make_request,
                                                lambda response: response.status)
    PlainPool.request = counting(PlainPool.request, lambda answer: answer[0])
    return counts


# -- command line -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autolog._bench._load",
        description="P processes x R runs x M metrics into MLflow servers of several shapes, "
                    "autolog and MLflow's own client; every point read back.")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma list of {', '.join(SERVERS)}")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--runs", type=int, default=200, help="runs per process")
    parser.add_argument("--metrics", type=int, default=50, help="metrics per run")
    parser.add_argument("--json", help="write every configuration's result here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))), flush=True)
        return 0
    results = []
    for shape in args.servers.split(","):
        for client in args.clients.split(","):
            config = LoadConfig(shape.strip(), client.strip(), args.processes, args.runs,
                                args.metrics)
            results.append(run_load(config))
            print(_row(results[-1]), flush=True)
    print("\n" + markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(result["nothing_lost_or_duplicated"] for result in results) else 1


def _row(result: dict[str, Any]) -> str:
    return (f"{result['server']:<11} {result['client']:<8} {result['wall_s']:>8.1f} s "
            f"{result['runs_per_s']:>7.1f} runs/s {result['points_per_s']:>8} points/s "
            f"retried {result['requests_retried']:>5} of {result['requests']:>6} requests; "
            f"lost/duplicated: {'none' if result['nothing_lost_or_duplicated'] else 'SOME'}")


def markdown(results: list[dict[str, Any]]) -> str:
    """The README's table."""
    lines = ["| Server | Client | Until delivered | Runs/s | Points/s | Requests (retried) "
             "| Lost / duplicated |", "|---|---|---|---|---|---|---|"]
    for r in results:
        store, workers = SERVERS[r["server"]]
        proof = ("0 / 0" if r["nothing_lost_or_duplicated"] else
                 f"{r['points_missing']} / {r['points_duplicated']} (runs: {r['runs_missing']}"
                 f" / {r['runs_duplicated']})")
        lines.append(f"| {'SQLite' if store == 'sqlite' else 'PostgreSQL'}, {workers} worker"
                     f"{'s' if workers > 1 else ''} | {r['client']} | {r['wall_s']:.1f} s | "
                     f"{r['runs_per_s']:.1f} | {r['points_per_s']:,} | {r['requests']:,} "
                     f"({r['requests_retried']:,}) | {proof} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""100,000 metric points over 10 runs into a real MLflow server: autolog vs MLflow's clients.

    python benchmarks/bench_throughput.py [--points 100000] [--tracking-uri URI] [--json out.json]

Without --tracking-uri a local ``mlflow server`` (one worker, SQLite, temp dir) is started.
Reported per variant: caller-thread cost per point (µs), seconds until every point is durable on
the server, and points/s end to end. MLflow's synchronous ``log_metric`` (one HTTP call per point)
and its async logging are slow enough that they are measured on a slice of the points
(``--sync-points``, ``--async-points``) and their rates extrapolated, as the output says.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def bench_autolog(uri: str, points: int, runs: int) -> dict:
    import autolog

    per_run = points // runs
    experiment = f"bench-autolog-{uuid.uuid4().hex[:6]}"
    caller = 0.0
    start = time.perf_counter()
    for index in range(runs):
        with autolog.start_run(run_name=f"autolog-{index}", tracking_uri=uri,
                               experiment=experiment) as run:
            begin = time.perf_counter()
            for step in range(per_run):
                run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
            caller += time.perf_counter() - begin
    assert autolog.flush(600), "autolog did not deliver everything"
    total = time.perf_counter() - start
    return {"caller_us_per_point": caller / points * 1e6, "seconds_to_durable": total,
            "points_per_s": points / total, "points": points}


def bench_mlflow_sync(uri: str, points: int) -> dict:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"bench-mlflow-sync-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    with mlflow.start_run():
        for step in range(points):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    total = time.perf_counter() - start
    return {"caller_us_per_point": total / points * 1e6, "seconds_to_durable": total,
            "points_per_s": points / total, "points": points}


def bench_mlflow_async(uri: str, points: int, runs: int) -> dict:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"bench-mlflow-async-{uuid.uuid4().hex[:6]}")
    per_run = points // runs
    caller = 0.0
    start = time.perf_counter()
    for _ in range(runs):
        with mlflow.start_run():
            begin = time.perf_counter()
            for step in range(per_run):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
            caller += time.perf_counter() - begin
    mlflow.flush_async_logging()
    total = time.perf_counter() - start
    return {"caller_us_per_point": caller / points * 1e6, "seconds_to_durable": total,
            "points_per_s": points / total, "points": points}


def bench_mlflow_batch(uri: str, points: int, runs: int) -> dict:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(uri)
    experiment_id = client.create_experiment(f"bench-mlflow-batch-{uuid.uuid4().hex[:6]}")
    per_run = points // runs
    start = time.perf_counter()
    for _ in range(runs):
        run_id = client.create_run(experiment_id).info.run_id
        now = int(time.time() * 1000)
        batch = []
        for step in range(per_run):
            batch.append(Metric("loss", 1.0 / (step + 1), now, step))
            if len(batch) == 1000:
                client.log_batch(run_id, metrics=batch)
                batch = []
        if batch:
            client.log_batch(run_id, metrics=batch)
        client.set_terminated(run_id)
    total = time.perf_counter() - start
    return {"caller_us_per_point": total / points * 1e6, "seconds_to_durable": total,
            "points_per_s": points / total, "points": points}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sync-points", type=int, default=1_000,
                        help="points for MLflow's synchronous log_metric (extrapolated)")
    parser.add_argument("--async-points", type=int, default=10_000,
                        help="points for MLflow's async logging (extrapolated)")
    parser.add_argument("--tracking-uri")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    server = None
    uri = args.tracking_uri
    if uri is None:
        from tests.mlflow_server import MlflowServer

        server = MlflowServer(Path(tempfile.mkdtemp(prefix="autolog-bench-")), workers=args.workers)
        server.start()
        uri = server.uri
    os.environ["AUTOLOG_DIR"] = tempfile.mkdtemp(prefix="autolog-bench-store-")
    results = {}
    try:
        results["autolog"] = bench_autolog(uri, args.points, args.runs)
        try:
            import mlflow  # noqa: F401
        except ImportError:
            print("mlflow is not installed: only autolog was measured")
        else:
            results["mlflow log_batch(1000)"] = bench_mlflow_batch(uri, args.points, args.runs)
            results["mlflow async log_metric"] = bench_mlflow_async(uri, args.async_points, args.runs)
            results["mlflow log_metric (sync)"] = bench_mlflow_sync(uri, args.sync_points)
    finally:
        if server is not None:
            server.stop()

    print(f"{args.points:,} points over {args.runs} runs into {uri} "
          f"(server workers: {args.workers if server else 'external'})")
    print(f"{'variant':<28}{'caller µs/pt':>14}{'s to durable':>14}{'points/s':>12}")
    for name, row in results.items():
        note = f"  (measured on {row['points']:,} points)" if row["points"] != args.points else ""
        durable = row["seconds_to_durable"] * args.points / row["points"]
        print(f"{name:<28}{row['caller_us_per_point']:>14.2f}{durable:>14.2f}"
              f"{row['points_per_s']:>12,.0f}{note}")
    ours = results["autolog"]["points_per_s"]
    for name, row in results.items():
        if name != "autolog":
            print(f"autolog end-to-end vs {name}: {ours / row['points_per_s']:.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

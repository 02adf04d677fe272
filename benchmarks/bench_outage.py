"""Training with the tracking server down vs up, and memory with the server down.

    python benchmarks/bench_outage.py [--steps 20000] [--points 1000000]

1. A training loop (a small numpy step, 5 metrics per step) against a real local MLflow server,
   up vs unreachable (a port nothing listens on): loop time, medians of interleaved repetitions.
2. 1,000,000 points logged as fast as possible with the server unreachable, in a fresh process:
   peak RSS growth (the in-memory queue is capped by AUTOLOG_QUEUE_MAX and spills to the store).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _dead_uri() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def training_loop(uri: str | None, steps: int) -> float:
    import numpy as np

    import autolog

    weights = np.random.default_rng(0).normal(size=(64, 64))
    start = time.perf_counter()
    run = autolog.start_run(run_name="loop", tracking_uri=uri) if uri else None
    for step in range(steps):
        weights = np.tanh(weights @ weights.T * 0.01)
        if run is not None:
            loss = float(weights[0, 0])
            run.log_metrics({"loss": loss, "acc": 1 - loss, "lr": 0.01, "grad": loss * 2,
                             "epoch": step // 100}, step=step)
    elapsed = time.perf_counter() - start
    if run is not None:
        run.end()
    return elapsed


MEMORY_SCRIPT = """
import os, resource, sys, time
import autolog
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss_mb()
peak_queue = 0
run = autolog.start_run(run_name="memory")
start = time.perf_counter()
for step in range({points}):
    run.log_metric("loss", step * 0.5, step=step)
    if step % 10000 == 0:
        peak_queue = max(peak_queue, len(run.pipeline.queue))
elapsed = time.perf_counter() - start
after = rss_mb()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{before:.1f}} {{after:.1f}} {{peak:.1f}} {{peak_queue}} {{elapsed:.2f}}", flush=True)
os._exit(0)
"""


def memory_growth(points: int) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": _dead_uri(), "PYTHONPATH": str(ROOT),
           "AUTOLOG_DIR": tempfile.mkdtemp(prefix="autolog-bench-mem-")}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(MEMORY_SCRIPT.format(points=points))],
                         env=env, capture_output=True, text=True, timeout=1200)
    before, after, peak, peak_queue, elapsed = out.stdout.split()
    return {"points": points, "rss_before_mb": float(before), "rss_after_mb": float(after),
            "peak_rss_mb": float(peak), "growth_mb": float(peak) - float(before),
            "peak_queue_records": int(peak_queue), "seconds": float(elapsed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    from tests.mlflow_server import MlflowServer

    os.environ["AUTOLOG_DIR"] = tempfile.mkdtemp(prefix="autolog-bench-outage-")
    server = MlflowServer(Path(tempfile.mkdtemp(prefix="autolog-bench-srv-")), workers=1).start()
    dead = _dead_uri()
    times: dict[str, list[float]] = {"bare": [], "server up": [], "server down": []}
    try:
        training_loop(None, 500)  # warm-up
        for _ in range(args.repeats):
            times["bare"].append(training_loop(None, args.steps))
            times["server up"].append(training_loop(server.uri, args.steps))
            times["server down"].append(training_loop(dead, args.steps))
    finally:
        server.stop()
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"training loop, {args.steps:,} steps x 5 metrics, median of {args.repeats}:")
    for name, value in medians.items():
        over = (value / medians["bare"] - 1) * 100
        print(f"  {name:<12} {value:8.3f} s   {over:+6.1f}% vs bare")
    down_vs_up = (medians["server down"] / medians["server up"] - 1) * 100
    print(f"  server down vs up: {down_vs_up:+.1f}%")
    memory = memory_growth(args.points)
    print(f"{memory['points']:,} points with the server down: peak RSS growth "
          f"{memory['growth_mb']:.1f} MB, peak queue {memory['peak_queue_records']:,} records, "
          f"{memory['seconds']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"loop_seconds": medians, "down_vs_up_pct": down_vs_up,
                                               "memory": memory}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""scikit-learn fits: bare, under autolog, under ``mlflow.sklearn.autolog(log_models=False)``.

    python benchmarks/bench_sklearn.py [--fits 30] [--searches 3] [--mlflow-fits 10]
                                       [--mlflow-searches 2] [--rounds 3] [--workers 1]
                                       [--tracking-uri URI] [--no-mlflow] [--json out.json]

Workloads (issue 4): ``LogisticRegression.fit`` on 500×20, and a 3×3 ``GridSearchCV`` with
cv=3 (28 fits) on the same data. Both tools log to the same MLflow server: without
--tracking-uri a local ``mlflow server`` is started through ``tests/mlflow_server.py`` (SQLite,
temp dir, ``--workers`` uvicorn workers; MLflow's default is 4, which adds ~40 ms per reused
connection). autolog runs with its defaults (params, tags, dataset
fingerprint, training metrics, plots rendered off the caller's thread, the model; for searches
the parent, 5 children and the cv_results CSV), and lean with ``log_models=False,
log_plots=False`` (params + training metrics, the issue's measure); MLflow with
``log_models=False`` and its other defaults.

The variants run in the same process, interleaved: every round runs a block of each variant
(the order rotates), each tool enabled only for its own block, ``gc.collect()`` before every
timed call. autolog runs twice: back to back (each call overlaps the delivery of the previous
ones: on a small, busy machine the shipper, the plot rendering and the MLflow server itself
then compete with training for CPU and the GIL), and "settled" (``autolog.flush()``, untimed,
after every call: what the call itself costs the caller). Reported per variant, as medians:

- ``call ms``: wall time of the call the user makes (what they wait for);
- ``thread cpu ms``: CPU time of the calling thread during the call, much less disturbed by
  other load on the machine than wall time;
- ``flush ms / call``: for autolog, the time ``autolog.flush()`` then needs to deliver the
  block (off the training path; the background work is done by then).

Overheads are against the bare median. Targets: ≤ 2 ms per LogisticRegression fit, and a
search ≤ 1.2× the bare search time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

FIT_TARGET_MS = 2.0
SEARCH_TARGET_RATIO = 1.2
GRID = {"C": [0.01, 0.1, 1.0], "class_weight": [None, "balanced", {0: 1, 1: 3}]}


def make_data() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(500, 20, n_informative=5, random_state=0)


def workloads(X: Any, y: Any) -> dict[str, Callable[[], Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    return {
        "fit": lambda: LogisticRegression().fit(X, y),
        "search": lambda: GridSearchCV(LogisticRegression(), GRID, cv=3).fit(X, y),
    }


class Variant:
    """One way of running the workloads: switched on only for its own blocks."""

    name = "bare"
    settle = False  # drain (untimed) after every call, so calls never overlap delivery

    def on(self) -> None:
        pass

    def off(self) -> None:
        pass

    def drain(self) -> float:
        return 0.0


class Autolog(Variant):
    name = "autolog"

    def __init__(self, uri: str, *, settle: bool = False, **sklearn_options: Any) -> None:
        import autolog
        from autolog import _registry

        self.autolog = autolog
        self.others = {name: False for name in _registry.discover() if name != "sklearn"}
        self.uri = uri
        self.sklearn_options = sklearn_options
        self.experiment = f"bench-sklearn-autolog-{uuid.uuid4().hex[:6]}"
        self.settle = settle
        self.name = ", ".join(["autolog", *(f"{k}={v}" for k, v in sklearn_options.items()),
                               *(["settled"] if settle else [])])

    def on(self) -> None:
        self.autolog.autolog(tracking_uri=self.uri, experiment=self.experiment, **self.others,
                             sklearn=self.sklearn_options or True)

    def off(self) -> None:
        self.autolog.autolog(disable=True)

    def drain(self) -> float:
        start = time.perf_counter()
        assert self.autolog.flush(timeout=600), "autolog did not deliver everything"
        return time.perf_counter() - start


class Mlflow(Variant):
    name = "mlflow"

    def __init__(self, uri: str) -> None:
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(f"bench-sklearn-mlflow-{uuid.uuid4().hex[:6]}")

    def on(self) -> None:
        self.mlflow.sklearn.autolog(log_models=False, silent=True)

    def off(self) -> None:
        self.mlflow.sklearn.autolog(disable=True)


def timed(call: Callable[[], Any]) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - wall, time.thread_time() - cpu


def run(variants: list[Variant], work: dict[str, Callable[[], Any]], counts: dict[str, int],
        mlflow_counts: dict[str, int], rounds: int
        ) -> dict[str, dict[str, dict[str, list[float]]]]:
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        workload: {v.name: {"wall": [], "cpu": [], "drain": []} for v in variants}
        for workload in work}
    for workload, call in work.items():
        for variant in variants:  # warm-up: imports, first-run caches, the server's tables
            variant.on()
            call()
            variant.drain()
            variant.off()
        for round_index in range(rounds):
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                variant.on()
                try:
                    count = counts[workload] if variant.name != "mlflow" else mlflow_counts[
                        workload]
                    drained = 0.0
                    for _ in range(count):
                        wall, cpu = timed(call)
                        samples[workload][variant.name]["wall"].append(wall)
                        samples[workload][variant.name]["cpu"].append(cpu)
                        if variant.settle:
                            drained += variant.drain()
                    drained += variant.drain()
                    samples[workload][variant.name]["drain"].append(drained / count)
                finally:
                    variant.off()
            print(f"  {workload}: round {round_index + 1}/{rounds} done", file=sys.stderr)
    return samples


def summarize(samples: dict[str, dict[str, dict[str, list[float]]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for workload, by_variant in samples.items():
        bare_wall = statistics.median(by_variant["bare"]["wall"]) * 1e3
        bare_cpu = statistics.median(by_variant["bare"]["cpu"]) * 1e3
        rows = {}
        for variant, values in by_variant.items():
            wall = statistics.median(values["wall"]) * 1e3
            cpu = statistics.median(values["cpu"]) * 1e3
            rows[variant] = {
                "calls": len(values["wall"]),
                "call_ms": round(wall, 3),
                "call_overhead_ms": round(wall - bare_wall, 3),
                "call_ratio": round(wall / bare_wall, 3),
                "thread_cpu_ms": round(cpu, 3),
                "thread_cpu_overhead_ms": round(cpu - bare_cpu, 3),
                "flush_ms_per_call": round(statistics.median(values["drain"]) * 1e3, 3),
            }
        summary[workload] = rows
    return summary


def enable_cost() -> dict[str, float]:
    """``autolog.autolog()`` before and after importing scikit-learn, in fresh processes."""
    script = """
import time, sys
order = sys.argv[1]
if order == "after":
    import sklearn.linear_model, sklearn.model_selection, sklearn.ensemble
import autolog
from autolog import _registry
others = {n: False for n in _registry.discover() if n != "sklearn"}
start = time.perf_counter()
autolog.autolog(**others)
print((time.perf_counter() - start) * 1e3)
"""
    costs = {}
    for order in ("before", "after"):
        runs = []
        for _ in range(3):
            done = subprocess.run([sys.executable, "-c", script, order], cwd=ROOT, text=True,
                                  capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                  check=True)
            runs.append(float(done.stdout.strip().splitlines()[-1]))
        costs[f"enable_ms_{order}_sklearn_import"] = round(statistics.median(runs), 2)
    return costs


def print_table(summary: dict[str, Any]) -> None:
    for workload, rows in summary.items():
        print(f"\n{workload}")
        print(f"  {'variant':<34} {'calls':>5} {'call ms':>10} {'overhead':>10} {'ratio':>7} "
              f"{'thread cpu ms':>14} {'cpu overhead':>13} {'flush ms/call':>14}")
        for variant, row in rows.items():
            print(f"  {variant:<34} {row['calls']:>5} {row['call_ms']:>10.2f} "
                  f"{row['call_overhead_ms']:>10.2f} {row['call_ratio']:>7.2f} "
                  f"{row['thread_cpu_ms']:>14.2f} {row['thread_cpu_overhead_ms']:>13.2f} "
                  f"{row['flush_ms_per_call']:>14.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=30, help="LogisticRegression fits per block")
    parser.add_argument("--searches", type=int, default=3, help="GridSearchCV fits per block")
    parser.add_argument("--mlflow-fits", type=int, default=10,
                        help="fits per block under MLflow (each takes about a second)")
    parser.add_argument("--mlflow-searches", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tracking-uri")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # steadier timings on a shared machine
    os.environ["AUTOLOG_DIR"] = tempfile.mkdtemp(prefix="autolog-bench-sklearn-")
    server = None
    uri = args.tracking_uri
    if uri is None:
        from tests.mlflow_server import MlflowServer

        server = MlflowServer(Path(tempfile.mkdtemp(prefix="autolog-bench-")),
                              workers=args.workers).start()
        uri = server.uri
    try:
        X, y = make_data()
        variants: list[Variant] = [Variant()]
        for settle in (False, True):
            variants += [Autolog(uri, settle=settle),
                         Autolog(uri, settle=settle, log_models=False, log_plots=False)]
        if not args.no_mlflow:
            variants.append(Mlflow(uri))
        counts = {"fit": args.fits, "search": args.searches}
        mlflow_counts = {"fit": args.mlflow_fits, "search": args.mlflow_searches}
        samples = run(variants, workloads(X, y), counts, mlflow_counts, args.rounds)
    finally:
        if server is not None:
            server.cleanup()
    summary = summarize(samples)
    results = {
        "server": {"uri": "local mlflow server" if server else uri, "workers": args.workers},
        "workloads": summary,
        "targets": {
            "fit_overhead_ms": FIT_TARGET_MS,
            "search_ratio": SEARCH_TARGET_RATIO,
            **{f"{variant} ok": (summary["fit"][variant]["call_overhead_ms"] <= FIT_TARGET_MS,
                                 summary["search"][variant]["call_ratio"] <= SEARCH_TARGET_RATIO)
               for variant in summary["fit"] if variant.startswith("autolog")},
        },
        **enable_cost(),
    }
    print_table(summary)
    print(json.dumps({key: value for key, value in results.items() if key != "workloads"},
                     indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

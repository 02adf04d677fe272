"""Logging a small scikit-learn model: what the caller waits for, autolog against MLflow.

    python benchmarks/bench_models.py [--calls 10] [--rounds 3] [--workers 1]
                                      [--tracking-uri URI] [--no-mlflow] [--json out.json]

The model is a ``LogisticRegression`` fitted on 500×20 (the issue-4 workload). Both tools log
it to the same MLflow server (without --tracking-uri a local ``mlflow server`` is started
through ``tests/mlflow_server.py``), each into a run of its own that stays open for the whole
benchmark, with the first 5 training rows as input example (so both infer a signature) and
cloudpickle serialization:

- ``autolog``: ``autolog.models.log_model(run, model, flavor="sklearn", input_example=X)``;
- ``mlflow``: ``mlflow.sklearn.log_model(model, name=..., input_example=X[:5],
  serialization_format="cloudpickle")``.

The variants run in the same process, interleaved: every round runs a block of each (the
order rotates), ``gc.collect()`` before every timed call. Reported per variant, as medians
over all calls: ``call ms`` (wall time of the call), ``thread cpu ms`` (CPU time of the calling
thread during it), and for autolog ``flush ms / call``: the time ``autolog.flush()`` then needs
to deliver the block (files, logged model, finalization; off the training path).

Target (issue 9): autolog's call ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
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

CALL_TARGET_MS = 5.0


def make_model() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(500, 20, n_informative=5, random_state=0)
    return LogisticRegression().fit(X, y), X


class AutologVariant:
    name = "autolog"

    def __init__(self, uri: str, model: Any, X: Any) -> None:
        import autolog
        from autolog.models import log_model

        self.autolog, self.log_model, self.model, self.X = autolog, log_model, model, X
        self.run = autolog.start_run("bench-models", tracking_uri=uri, nested=False,
                                     experiment=f"bench-models-autolog-{uuid.uuid4().hex[:6]}")
        self.count = 0

    def call(self) -> None:
        self.count += 1
        info = self.log_model(self.run, self.model, flavor="sklearn", input_example=self.X,
                              artifact_path=f"model-{self.count}")
        assert info is not None

    def drain(self) -> float:
        start = time.perf_counter()
        assert self.autolog.flush(timeout=600), "autolog did not deliver everything"
        return time.perf_counter() - start

    def close(self) -> None:
        self.run.end()
        self.autolog.flush(timeout=600)


class MlflowVariant:
    name = "mlflow"

    def __init__(self, uri: str, model: Any, X: Any) -> None:
        import logging

        import mlflow

        logging.getLogger("mlflow").setLevel(logging.ERROR)  # its per-call pickle warning
        self.mlflow, self.model, self.example = mlflow, model, X[:5]
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.set_experiment(f"bench-models-mlflow-{uuid.uuid4().hex[:6]}")
        self.client = mlflow.MlflowClient(uri)
        self.run_id = self.client.create_run(experiment.experiment_id).info.run_id
        self.count = 0

    def call(self) -> None:
        self.count += 1
        with self.mlflow.start_run(run_id=self.run_id):
            self.mlflow.sklearn.log_model(self.model, name=f"model-{self.count}",
                                          input_example=self.example,
                                          serialization_format="cloudpickle")

    def drain(self) -> float:
        return 0.0

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def timed(call: Callable[[], Any]) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - wall, time.thread_time() - cpu


def run(variants: list[Any], calls: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    samples = {v.name: {"wall": [], "cpu": [], "drain": []} for v in variants}
    for variant in variants:  # warm-up: imports, caches (package metadata), the server's tables
        variant.call()
        variant.drain()
    for round_index in range(rounds):
        shift = round_index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            for _ in range(calls):
                wall, cpu = timed(variant.call)
                samples[variant.name]["wall"].append(wall)
                samples[variant.name]["cpu"].append(cpu)
            samples[variant.name]["drain"].append(variant.drain() / calls)
        print(f"  round {round_index + 1}/{rounds} done", file=sys.stderr)
    return samples


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    return {
        name: {
            "calls": len(values["wall"]),
            "call_ms": round(statistics.median(values["wall"]) * 1e3, 3),
            "call_ms_p90": round(sorted(values["wall"])[int(0.9 * (len(values["wall"]) - 1))]
                                 * 1e3, 3),
            "thread_cpu_ms": round(statistics.median(values["cpu"]) * 1e3, 3),
            "flush_ms_per_call": round(statistics.median(values["drain"]) * 1e3, 3),
        }
        for name, values in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10, help="log_model calls per block")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tracking-uri")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["AUTOLOG_DIR"] = tempfile.mkdtemp(prefix="autolog-bench-models-")
    server = None
    uri = args.tracking_uri
    if uri is None:
        from tests.mlflow_server import MlflowServer

        server = MlflowServer(Path(tempfile.mkdtemp(prefix="autolog-bench-")),
                              workers=args.workers).start()
        uri = server.uri
    variants: list[Any] = []
    try:
        model, X = make_model()
        variants.append(AutologVariant(uri, model, X))
        if not args.no_mlflow:
            variants.append(MlflowVariant(uri, model, X))
        samples = run(variants, args.calls, args.rounds)
        for variant in variants:
            variant.close()
    finally:
        if server is not None:
            server.cleanup()
    summary = summarize(samples)
    results = {
        "server": {"uri": "local mlflow server" if server else uri, "workers": args.workers},
        "variants": summary,
        "target_call_ms": CALL_TARGET_MS,
        "target_ok": summary["autolog"]["call_ms"] <= CALL_TARGET_MS,
    }
    print(f"\n  {'variant':<8} {'calls':>5} {'call ms':>10} {'p90 ms':>10} "
          f"{'thread cpu ms':>14} {'flush ms/call':>14}")
    for name, row in summary.items():
        print(f"  {name:<8} {row['calls']:>5} {row['call_ms']:>10.2f} {row['call_ms_p90']:>10.2f} "
              f"{row['thread_cpu_ms']:>14.2f} {row['flush_ms_per_call']:>14.2f}")
    print(json.dumps({key: value for key, value in results.items() if key != "variants"},
                     indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

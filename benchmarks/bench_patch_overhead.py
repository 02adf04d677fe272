"""What autolog costs when it has nothing to do, and what ``autolog.autolog()`` costs.

1. A patched call when autolog has nothing to do — the integration disabled at call time, or
   a call nested inside another patched call — against the bare call, in ns per call
   (target: at most 2 µs of overhead). The active path (a hook that records nothing) is shown
   for reference.
2. ``import autolog; autolog.autolog()`` in a fresh process with the frameworks installed but
   not imported (target: at most 50 ms), split into the import and the call; with bytecode
   compiled, as after ``pip install``.

    python benchmarks/bench_patch_overhead.py [--json results.json] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("sklearn", "xgboost", "lightning", "optuna")


def _per_call_ns(call: Callable[[], Any], loops: int, repeats: int) -> float:
    """Best of ``repeats`` timings of ``loops`` calls (the least disturbed), ns per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(loops):
            call()
        best = min(best, (time.perf_counter_ns() - start) / loops)
    return best


def bench_calls(loops: int, repeats: int) -> dict[str, float]:
    from autolog._integration import Integration
    from autolog._patching import PatchedCall, safe_patch

    class BenchIntegration(Integration):
        name = "bench"
        modules = ("bench",)

        def idle_hook(self, call: PatchedCall):
            yield

    class Bare:
        def fit(self, x: int) -> int:
            return x

    class Patched(Bare):
        def fit(self, x: int) -> int:
            return x

    class Outer:
        def fit(self, body: Callable[[], float]) -> float:
            return body()

    integration = BenchIntegration()
    integration.enabled = True
    safe_patch(integration, Patched, "fit", integration.idle_hook)
    safe_patch(integration, Outer, "fit", integration.idle_hook)
    bare, patched = Bare(), Patched()
    bare_fit, patched_fit = bare.fit, patched.fit

    results: dict[str, float] = {}
    results["bare_call_ns"] = _per_call_ns(lambda: bare_fit(1), loops, repeats)
    results["active_idle_hook_ns"] = _per_call_ns(lambda: patched_fit(1), loops, repeats)
    results["nested_ns"] = Outer().fit(
        lambda: _per_call_ns(lambda: patched_fit(1), loops, repeats))
    integration.enabled = False
    results["disabled_ns"] = _per_call_ns(lambda: patched_fit(1), loops, repeats)
    results["bare_call_again_ns"] = _per_call_ns(lambda: bare_fit(1), loops, repeats)
    bare_ns = min(results["bare_call_ns"], results["bare_call_again_ns"])
    for key in ("disabled", "nested", "active_idle_hook"):
        results[f"{key}_overhead_ns"] = results[f"{key}_ns"] - bare_ns
    return results


IMPORT_SCRIPT = """
import json, sys, time
start = time.perf_counter()
import autolog
imported = time.perf_counter()
enable = getattr(autolog, "autolog", None)
if enable is None:
    from autolog._autolog import autolog as enable
enable()
done = time.perf_counter()
heavy = [m for m in ("sklearn", "xgboost", "lightning", "torch", "optuna") if m in sys.modules]
print(json.dumps({"import_ms": (imported - start) * 1e3, "autolog_call_ms": (done - imported) * 1e3,
                  "total_ms": (done - start) * 1e3, "frameworks_imported": heavy}))
"""


def bench_import(runs: int) -> dict[str, Any]:
    samples = []
    with tempfile.TemporaryDirectory() as store:
        env = dict(os.environ, AUTOLOG_DIR=store, PYTHONWARNINGS="ignore")
        env.pop("AUTOLOG_TESTING", None)
        # As installed: pip compiles the bytecode at install time. Without it every import
        # compiles the sources again (~20 ms more here), which no user pays twice.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for run in range(runs + 1):
            done = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=120, check=True)
            if run:  # the first run writes the bytecode
                samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result: dict[str, Any] = {"runs": runs}
    for key in ("import_ms", "autolog_call_ms", "total_ms"):
        values = [sample[key] for sample in samples]
        result[key] = {"median": statistics.median(values), "min": min(values)}
    result["frameworks_imported"] = sorted({m for s in samples for m in s["frameworks_imported"]})
    result["frameworks_installed"] = [m for m in FRAMEWORKS if importlib.util.find_spec(m)]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--quick", action="store_true", help="fewer loops (a smoke test)")
    args = parser.parse_args()
    loops, repeats, runs = (20_000, 3, 3) if args.quick else (200_000, 7, 15)
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "patched_call": bench_calls(loops, repeats),
        "import_and_enable": bench_import(runs),
        "targets": {"idle_overhead_ns": 2000, "import_and_enable_ms": 50},
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m autolog bench`` on smoke-test sizes: every installed framework's every variant
runs, records something, and the JSON, Markdown and plot are written. Times are never checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: --frameworks name → the module it needs, and the workloads it measures.
WORKLOADS = {
    "sklearn": ("sklearn", ["sklearn.fit", "sklearn.search"]),
    "xgboost": ("xgboost", ["xgboost.train"]),
    "lightning": ("lightning", ["lightning.fit"]),
    "optuna": ("optuna", ["optuna.trivial", "optuna.sklearn"]),
    "throughput": (None, ["throughput"]),
}
VARIANT_KEYS = {"logged", "units", "samples", "scaled", "median_ms", "min_ms", "max_ms", "until_stored_ms",
                "calls_ms", "ratio_to_bare", "overhead_pct", "census"}


def _installed(module: str | None) -> bool:
    return module is None or importlib.util.find_spec(module) is not None


def test_bench_tiny_runs_every_variant_of_every_installed_framework(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOLOG_DIR": str(tmp_path / "user-store")}
    for name in ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_DISABLE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "autolog", "bench", "--tiny", "--json", str(out),
         "--plot", str(tmp_path / "bench.png"), "--markdown", str(tmp_path / "bench.md")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())

    assert results["destination"]["kind"] == "embedded"
    assert (results["repeats"], results["sizes"], results["warm_up"]) == (1, "tiny", False)
    assert results["machine"]["nproc"] >= 1
    with_callback = _installed("optuna_integration")  # MLflow's Optuna counterpart
    missing = [f"{name}: not installed" for name, (module, _) in WORKLOADS.items()
               if not _installed(module)]  # Lightning, on the Pythons without torch
    expected_skips = len(missing) + (0 if with_callback else 1)
    assert len(results["skipped"]) == expected_skips, results["skipped"]
    assert all(any(line.startswith(prefix) for line in results["skipped"]) for prefix in missing)
    expected = [key for module, keys in WORKLOADS.values() if _installed(module) for key in keys]
    assert [workload["key"] for workload in results["workloads"]] == expected
    for workload in results["workloads"]:
        variants = workload["variants"]
        wanted = ["autolog", "mlflow", "mlflow-batch"] if workload["key"] == "throughput" else [
            "bare", "autolog", "mlflow"]
        if workload["framework"] == "optuna" and not with_callback:
            wanted.remove("mlflow")
        assert list(variants) == wanted, workload["key"]
        for name, row in variants.items():
            assert set(row) == VARIANT_KEYS, (workload["key"], name)
            assert len(row["calls_ms"]) == row["samples"] == 1
            assert row["min_ms"] <= row["median_ms"] <= row["max_ms"]
            assert row["logged"]
            if name == "bare":
                assert row["census"] is None and row["ratio_to_bare"] == 1.0
            else:  # it really logged: at least one run, with metric values
                assert row["census"]["runs"] >= 1, (workload["key"], name, row["census"])
                assert row["census"]["metric_values"] >= 1, (workload["key"], name)
        if "mlflow" in variants:
            assert set(workload["mlflow_over_autolog"]) == {"call", "until_stored"}
    # what the two tools recorded is comparable: e.g. XGBoost's per-round curve on both sides
    xgb = next((w for w in results["workloads"] if w["key"] == "xgboost.train"), None)
    if xgb is not None:
        assert xgb["variants"]["autolog"]["census"]["metric_values"] == xgb["variants"][
            "mlflow"]["census"]["metric_values"]

    assert "sklearn.fit" in done.stdout and "MLflow takes" in done.stdout  # the readable table
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")
    rows = (tmp_path / "bench.md").read_text().splitlines()[2:]  # one per MLflow variant
    assert len(rows) == sum(max(1, len(set(w["variants"]) - {"bare", "autolog"}))
                            for w in results["workloads"])
    assert all(any(w["title"] in row for row in rows) for w in results["workloads"])
    assert not (tmp_path / "user-store").exists()  # the benchmark kept to its own folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench.md", "bench.png"]

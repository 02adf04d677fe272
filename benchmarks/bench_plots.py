"""What plots cost: each chart's drawing time, and a loop of fits with plots against without.

    python benchmarks/bench_plots.py [--repeats 7] [--fits 30] [--no-png] [--loop-only]
                                     [--json out.json]

1. **Per plot**: the best of several timed batches of each SVG chart at typical sizes (a
   10-class confusion matrix, ROC and precision-recall curves of a 500-row training set, 100
   features in two importance types, 100 Optuna trials), its size in bytes, and matplotlib's
   PNG of the same data for comparison. Target: under 1 ms each.
2. **Where drawing runs**: what one LogisticRegression fit's three plots (the confusion matrix
   and curves computed from the captured arrays, then drawn) would add to the training
   thread if drawn inline, against the queue appends the deferred records cost there.
3. **A loop of fits**: ``--fits`` LogisticRegression fits (500×20) back to back on the
   embedded store, in a fresh process per variant, until ``autolog.flush()`` returns:
   plots off, SVG deferred to autolog's writer (the default), SVG drawn inline on the
   training thread (``Run.log_artifact_later`` replaced by an immediate build, for this
   comparison only), and PNG. Medians over ``--repeats`` rounds, variants interleaved; also
   the median fit call, the process' CPU time, and how many runs (the loop's and one warm-up
   fit's) got all three plots.
   Target: with plots <= 1.5x without, none skipped.

``OPENBLAS_NUM_THREADS=1`` is set for every process (on a small shared machine a second BLAS
thread stalls behind any busy neighbour). Wall times on a shared machine are noisy; the CPU
column is steadier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = ("off", "svg", "svg-inline", "png")
PER_PLOT_TARGET_MS = 1.0
LOOP_TARGET_RATIO = 1.5


# -- 1. per plot ----------------------------------------------------------------------------
def chart_inputs() -> dict[str, Any]:
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from integrations._metrics import ClassifierArrays, binary_curves

    X, y = make_classification(500, 20, random_state=0)
    scores = LogisticRegression().fit(X, y).decision_function(X)
    curves = binary_curves(ClassifierArrays(np.array([0, 1]), y, (scores > 0).astype(int),
                                            scores=scores, pos_index=1))
    rng = np.random.default_rng(0)
    importance = {kind: sorted(((f"feature_{index}", float(value))
                                for index, value in enumerate(rng.random(100) * 50)),
                               key=lambda item: -item[1]) for kind in ("weight", "gain")}
    trials = [(number, (float((number - 50) ** 2 / 100 + rng.normal(0, 5)),))
              for number in range(100)]
    return {"matrix": rng.integers(0, 60, (10, 10)),
            "labels": [f"class {index}" for index in range(10)],
            "curves": curves, "importance": importance, "trials": trials}


def per_plot(png: bool) -> list[dict[str, Any]]:
    from integrations import _svg
    from integrations.optuna._plot import PlotJob
    from integrations.optuna._plot import render as history_png
    from integrations.sklearn import _plots
    from integrations.xgboost._importance import render_plot as importance_png

    data = chart_inputs()
    curves = data["curves"]
    job = PlotJob(None, "study", ("minimize",), ("value",),  # type: ignore[arg-type]
                  [(number, "COMPLETE", values) for number, values in data["trials"]])
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("confusion matrix, 10 classes",
         lambda: _svg.confusion_matrix_svg(data["matrix"], data["labels"], "t"),
         lambda: _plots.confusion_matrix_png(data["matrix"], data["labels"], "t")),
        (f"ROC curve, {len(curves.fpr)} points (500 rows)",
         lambda: _svg.roc_curve_svg(curves.fpr, curves.tpr, curves.auc, "1", "t"),
         lambda: _plots.roc_curve_png(curves, "t")),
        (f"precision-recall curve, {len(curves.recall)} points",
         lambda: _svg.precision_recall_svg(curves.recall, curves.precision,
                                           curves.average_precision, curves.prevalence,
                                           "1", "t"),
         lambda: _plots.precision_recall_png(curves, "t")),
        ("feature importance, 2 types x 100 features (top 20 drawn)",
         lambda: _svg.importance_svg(data["importance"]),
         lambda: importance_png({kind: dict(pairs) for kind, pairs in
                                 data["importance"].items()})),
        ("optimization history, 100 trials",
         lambda: _svg.optimization_history_svg(data["trials"], ["minimize"], ["value"], "t"),
         lambda: history_png(job)),
    ]
    rows = []
    for name, svg, png_render in cases:
        svg()  # warm
        best = min(timeit.repeat(svg, number=50, repeat=7)) / 50
        row = {"plot": name, "svg_ms": best * 1e3, "svg_bytes": len(svg())}
        if png:
            png_render()
            row["png_ms"] = min(timeit.repeat(png_render, number=3, repeat=3)) / 3 * 1e3
            row["png_bytes"] = len(png_render())
        rows.append(row)
    return rows


# -- 2. inline or deferred ------------------------------------------------------------------
def training_thread_cost() -> dict[str, float]:
    """One fit's plot work if drawn on the training thread, against the deferred appends."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from integrations._fit_capture import capture
    from integrations.sklearn._training_plots import queue_plots

    X, y = make_classification(500, 20, random_state=0)
    model = LogisticRegression().fit(X, y)
    arrays = capture(model, X, y, None).classifier

    class Collecting:
        name = "LogisticRegression"

        def __init__(self) -> None:
            self.builds: list[Callable[[], Any]] = []

        def log_artifact_later(self, path: str, build: Callable[[], Any], **_: Any) -> None:
            self.builds.append(build)

    def inline() -> None:
        run = Collecting()
        queue_plots(run, arrays, "svg")  # type: ignore[arg-type]
        for build in run.builds:
            build()

    def deferred() -> None:
        queue_plots(Collecting(), arrays, "svg")  # type: ignore[arg-type]

    inline()
    return {"inline_ms_per_fit": min(timeit.repeat(inline, number=50, repeat=7)) / 50 * 1e3,
            "deferred_ms_per_fit": min(timeit.repeat(deferred, number=200, repeat=7))
            / 200 * 1e3}


# -- 3. a loop of fits ----------------------------------------------------------------------
LOOP = r"""
import json, os, sys, time
variant, fits = sys.argv[1], int(sys.argv[2])
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
import autolog
from autolog.backends.local_store import LocalStore
if variant == "svg-inline":  # this comparison only: build the artifact on the caller's thread
    from autolog._runs import Run
    def log_now(self, artifact_file, build, *, what="artifact"):
        data = build()
        if data is not None:
            self.log_bytes(data, artifact_file)
    Run.log_artifact_later = log_now
X, y = make_classification(500, 20, random_state=0)
plots = variant != "off"
autolog.autolog(log_models=False, sklearn={"log_plots": plots},
                plot_format="png" if variant == "png" else "svg")
LogisticRegression().fit(X, y)  # imports and first-use work, outside the measurement
assert autolog.flush(120)
calls = []
cpu, started = time.process_time(), time.perf_counter()
for _ in range(fits):
    begin = time.perf_counter()
    LogisticRegression().fit(X, y)
    calls.append(time.perf_counter() - begin)
assert autolog.flush(300)
stored, cpu = time.perf_counter() - started, time.process_time() - cpu
store = LocalStore(os.environ["AUTOLOG_DIR"])
runs = store.runs()  # the loop's fits and the warm-up one
plotted = sum(len(store.run_data(run["run_id"])["artifacts"]) == 3 for run in runs)
assert len(runs) == fits + 1
print(json.dumps({"stored_ms": stored * 1e3, "cpu_ms": cpu * 1e3,
                  "median_call_ms": float(np.median(calls)) * 1e3, "plotted": plotted}))
"""


def loop(fits: int, repeats: int, variants: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    samples: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
    for round_index in range(repeats):
        order = variants[round_index % len(variants):] + variants[:round_index % len(variants)]
        for variant in order:
            with tempfile.TemporaryDirectory() as directory:
                env = {**os.environ, "AUTOLOG_DIR": directory, "OPENBLAS_NUM_THREADS": "1"}
                env.pop("AUTOLOG_TRACKING_URI", None)
                env.pop("MLFLOW_TRACKING_URI", None)
                result = subprocess.run([sys.executable, "-c", LOOP, variant, str(fits)],
                                        cwd=ROOT, env=env, capture_output=True, text=True,
                                        timeout=600, check=True)
                samples[variant].append(json.loads(result.stdout.strip().splitlines()[-1]))
    summary = {}
    for variant, rows in samples.items():
        summary[variant] = {key: statistics.median(row[key] for row in rows)
                            for key in ("stored_ms", "cpu_ms", "median_call_ms")}
        summary[variant]["plotted"] = min(row["plotted"] for row in rows)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--fits", type=int, default=30)
    parser.add_argument("--no-png", action="store_true", help="skip matplotlib's PNGs")
    parser.add_argument("--loop-only", action="store_true", help="only the loop of fits")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    png = not args.no_png

    started = time.perf_counter()
    plots: list[dict[str, Any]] = []
    thread: dict[str, float] = {}
    if not args.loop_only:
        plots = per_plot(png)
        print("Per plot (best of 7 batches)")
        for row in plots:
            line = f"  {row['plot']:58s} SVG {row['svg_ms']:6.3f} ms {row['svg_bytes']:7d} B"
            if png:
                line += f"   PNG {row['png_ms']:7.1f} ms {row['png_bytes']:7d} B"
            print(line + ("" if row["svg_ms"] <= PER_PLOT_TARGET_MS else "   over 1 ms"))
        thread = training_thread_cost()
        print(f"\nOne fit's 3 plots on the training thread: inline "
              f"{thread['inline_ms_per_fit']:.3f} ms, deferred (queue appends) "
              f"{thread['deferred_ms_per_fit']:.3f} ms")

    variants = VARIANTS if png else tuple(v for v in VARIANTS if v != "png")
    loops = loop(args.fits, args.repeats, variants)
    base = loops["off"]["stored_ms"]
    print(f"\n{args.fits} LogisticRegression fits back to back, embedded store, until flush() "
          f"returns (medians of {args.repeats})")
    print(f"  {'variant':12s} {'stored ms':>10s} {'x off':>6s} {'cpu ms':>8s} "
          f"{'call ms':>8s} {'runs with 3 plots':>18s}")
    for variant, row in loops.items():
        print(f"  {variant:12s} {row['stored_ms']:10.0f} {row['stored_ms'] / base:6.2f} "
              f"{row['cpu_ms']:8.0f} {row['median_call_ms']:8.2f} "
              f"{row['plotted']:>11d} / {args.fits + 1 if variant != 'off' else 0}")
    print(f"\n({time.perf_counter() - started:.0f} s; targets: <= {PER_PLOT_TARGET_MS} ms a "
          f"plot, <= {LOOP_TARGET_RATIO}x with SVG plots, every run plotted)")
    if args.json:
        Path(args.json).write_text(json.dumps({"per_plot": plots, "training_thread": thread,
                                               "loop": loops, "fits": args.fits,
                                               "repeats": args.repeats}, indent=2))


if __name__ == "__main__":
    main()

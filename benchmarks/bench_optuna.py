"""``study.optimize``: bare, under autolog, under optuna-integration's ``MLflowCallback``.

    python benchmarks/bench_optuna.py [--reps 7] [--trivial-trials 200] [--fit-trials 20]
                                      [--callback-trials 20] [--pause 0.5] [--tracking-uri URI]
                                      [--json out]

On a shared machine, pin BLAS to one thread (``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1``):
scikit-learn's timings otherwise swing several-fold with other processes' load.

Two workloads, each run bare, with ``autolog.autolog()`` and (when optuna-integration is
installed) with ``MLflowCallback``, all in this process, interleaved (the order rotates every
repetition), a ``gc.collect()`` before each timed call, all logging to the same MLflow server
(without ``--tracking-uri`` a local one is started: one worker, SQLite, temp dir):

- ``trivial``: trials that suggest one float and return a number (RandomSampler, so the
  sampler's own cost stays flat). MLflowCallback makes several synchronous HTTP calls per
  trial, so it runs ``--callback-trials`` trials; overheads are reported per trial.
- ``sklearn``: every trial fits a small ``LogisticRegression`` (500 x 20) and scores it on a
  holdout. ``autolog_optuna``: the Optuna integration alone (study and trial runs);
  ``autolog``: ``autolog.autolog()`` defaults, so each fit is also a model run under its trial
  (training metrics, plots, model file); ``autolog_lean``: model runs with their params only
  (no training metrics, plots or model files). MLflowCallback is paired with
  ``mlflow.sklearn.autolog(log_models=False)``, as its users would.

Reported as medians: ``call ms`` is the wall time of ``optimize`` (what the user waits for);
``cpu ms`` is this process's CPU time from the call until everything it caused is done
(autolog: the history plot drawn and every record delivered), so work moved off the trial
threads is still counted. ``best ms`` is the fastest call, steadier on a busy machine.
Targets (issue 7): ≤ 1 ms overhead per trivial trial; the sklearn workload ≤ 1.2x bare.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


class Variant:
    """One way of running ``optimize``: switched on before the call, settled after it."""

    def __init__(self, name: str, switch_on: Callable[[], None],
                 settle: Callable[[], None] = lambda: None,
                 callbacks: Callable[[], list[Any]] = list) -> None:
        self.name = name
        self.switch_on = switch_on
        self.settle = settle
        self.callbacks = callbacks


def variants(uri: str, with_callback: bool) -> dict[str, Variant]:
    import autolog
    from autolog._autolog import autolog as enable_autolog
    from integrations.optuna import wait_for_background

    tag = uuid.uuid4().hex[:6]
    mlflow_sklearn = None
    if with_callback:
        import mlflow
        import mlflow.sklearn as mlflow_sklearn

        mlflow.set_tracking_uri(uri)

    def everything_off() -> None:
        enable_autolog(disable=True)
        if mlflow_sklearn is not None:
            mlflow_sklearn.autolog(disable=True, silent=True)

    def autolog_on(name: str, sklearn: bool | dict[str, Any]) -> Callable[[], None]:
        def switch_on() -> None:
            everything_off()
            enable_autolog(optuna=True, sklearn=sklearn, xgboost=False, lightning=False,
                           tracking_uri=uri, experiment=f"bench-optuna-{tag}-{name}")
        return switch_on

    def autolog_settle() -> None:
        wait_for_background(120)
        autolog.flush(120)

    found = {
        "bare": Variant("bare", everything_off),
        # what ``autolog.autolog()`` does: Optuna and scikit-learn with their defaults
        "autolog": Variant("autolog", autolog_on("autolog", True), autolog_settle),
        # the Optuna integration alone (trial runs, no model runs)
        "autolog_optuna": Variant("autolog_optuna", autolog_on("optuna", False), autolog_settle),
        # model runs with params only: no training metrics, plots or model files
        "autolog_lean": Variant("autolog_lean", autolog_on(
            "lean", {"log_plots": False, "log_models": False, "log_training_metrics": False}),
            autolog_settle),
    }
    if with_callback:
        from optuna_integration.mlflow import MLflowCallback

        def callback_on() -> None:
            everything_off()
            mlflow_sklearn.autolog(log_models=False, silent=True)

        found["mlflow_callback"] = Variant("mlflow_callback", callback_on, callbacks=lambda: [
            MLflowCallback(tracking_uri=uri, metric_name="value")])
    return found


def trivial_objective(trial: Any) -> float:
    x = trial.suggest_float("x", -10.0, 10.0)
    return (x - 2.0) ** 2


def sklearn_objective() -> Callable[[Any], float]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=500, n_features=20, random_state=0)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)

    def objective(trial: Any) -> float:
        c = trial.suggest_float("C", 1e-3, 1e2, log=True)
        model = LogisticRegression(C=c, max_iter=300).fit(X_train, y_train)
        return model.score(X_valid, y_valid)

    return objective


def measure(workload: str, objective: Callable[[Any], float], trials: dict[str, int],
            reps: int, found: list[Variant], pause: float = 0.0) -> dict[str, Any]:
    import optuna

    def one_call(variant: Variant) -> None:
        study = optuna.create_study(direction="maximize" if workload == "sklearn" else "minimize",
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=trials[variant.name], callbacks=variant.callbacks())

    calls: dict[str, list[float]] = {variant.name: [] for variant in found}
    cpus: dict[str, list[float]] = {variant.name: [] for variant in found}
    for variant in found:  # warm-up: imports, first connections, the first plot
        variant.switch_on()
        one_call(variant)
        variant.settle()
    for rep in range(reps):
        shift = rep % len(found)
        for variant in found[shift:] + found[:shift]:
            variant.switch_on()
            gc.collect()
            cpu_start = time.process_time()
            start = time.perf_counter()
            one_call(variant)
            calls[variant.name].append(time.perf_counter() - start)
            variant.settle()
            cpus[variant.name].append(time.process_time() - cpu_start)
            time.sleep(pause)  # the local server stores what it just received: let it finish
    found[0].switch_on()
    bare_per_trial = statistics.median(calls["bare"]) / trials["bare"]
    bare_best = min(calls["bare"]) / trials["bare"]
    result: dict[str, Any] = {"workload": workload, "reps": reps}
    for name, times in calls.items():
        per_trial = statistics.median(times) / trials[name]
        result[name] = {
            "trials": trials[name],
            "call_ms": statistics.median(times) * 1000,
            "best_call_ms": min(times) * 1000,
            "best_ratio": min(times) / trials[name] / bare_best,
            "cpu_ms": statistics.median(cpus[name]) * 1000,
            "per_trial_ms": per_trial * 1000,
            "overhead_per_trial_ms": (per_trial - bare_per_trial) * 1000,
            "ratio": per_trial / bare_per_trial,
            "calls_ms": [round(value * 1000, 2) for value in times],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--trivial-trials", type=int, default=200)
    parser.add_argument("--fit-trials", type=int, default=20)
    parser.add_argument("--callback-trials", type=int, default=20,
                        help="trials per MLflowCallback call (it costs ~0.3 s per trial)")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="seconds between calls, so the server (on this machine when no "
                        "--tracking-uri is given) is idle when the next call starts")
    parser.add_argument("--tracking-uri")
    parser.add_argument("--no-callback", action="store_true", help="skip MLflowCallback")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    import logging
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")  # experimental/deprecation notices of the tools compared
    os.environ["AUTOLOG_DIR"] = tempfile.mkdtemp(prefix="autolog-bench-store-")
    server = None
    uri = args.tracking_uri
    if uri is None:
        from tests.mlflow_server import MlflowServer

        server = MlflowServer(Path(tempfile.mkdtemp(prefix="autolog-bench-")), workers=1)
        server.start()
        uri = server.uri
    with_callback = not args.no_callback
    if with_callback:
        try:
            import mlflow  # noqa: F401
            import optuna_integration.mlflow  # noqa: F401
        except ImportError:
            print("mlflow or optuna-integration is not installed: only bare and autolog")
            with_callback = False
    results = []
    workloads = (
        ("trivial", trivial_objective, args.trivial_trials, ("bare", "autolog_optuna")),
        ("sklearn", sklearn_objective(), args.fit_trials,
         ("bare", "autolog_optuna", "autolog_lean", "autolog")),
    )
    try:
        everything = variants(uri, with_callback)
        for workload, objective, count, names in workloads:
            found = [everything[name] for name in (*names, "mlflow_callback")
                     if name in everything]
            trials = {variant.name: count for variant in found}
            if "mlflow_callback" in trials:
                trials["mlflow_callback"] = min(count, args.callback_trials)
            results.append(measure(workload, objective, trials, args.reps, found, args.pause))
    finally:
        if server is not None:
            server.stop()

    print(f"study.optimize, RandomSampler, medians of {args.reps} interleaved reps, "
          f"logging to {uri}")
    print(f"{'workload':>9}{'variant':>17}{'trials':>8}{'call ms':>10}{'cpu ms':>10}"
          f"{'ms/trial':>10}{'+ms/trial':>11}{'x bare':>8}{'best ms':>10}{'x bare':>8}")
    for row in results:
        for name in (key for key in row if isinstance(row[key], dict)):
            data = row[name]
            print(f"{row['workload']:>9}{name:>17}{data['trials']:>8}{data['call_ms']:>10.1f}"
                  f"{data['cpu_ms']:>10.1f}{data['per_trial_ms']:>10.2f}"
                  f"{data['overhead_per_trial_ms']:>+11.2f}{data['ratio']:>8.2f}"
                  f"{data['best_call_ms']:>10.1f}{data['best_ratio']:>8.2f}")
    trivial, fits = results
    overhead = trivial["autolog_optuna"]["overhead_per_trial_ms"]
    print(f"trivial: autolog {overhead:+.2f} ms per trial (target <= 1 ms: "
          f"{'met' if overhead <= 1.0 else 'NOT met'})")
    for name in ("autolog_optuna", "autolog_lean", "autolog"):
        ratio = fits[name]["ratio"]
        print(f"sklearn: {name} {ratio:.2f}x bare (target <= 1.2x: "
              f"{'met' if ratio <= 1.2 else 'NOT met'})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

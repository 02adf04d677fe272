"""``python -m autolog bench`` and ``benchmarks/run.py``: options, set-up, the run, output."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import importlib.util
import json
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from autolog._bench import _report
from autolog._bench._destination import Destination, open_destination
from autolog._bench._harness import measure
from autolog._bench._sizes import SIZES

#: --frameworks name → (module that must be importable, autolog integration, workload module)
FRAMEWORKS: dict[str, tuple[str | None, str | None, str]] = {
    "sklearn": ("sklearn", "sklearn", "autolog._bench._sklearn"),
    "xgboost": ("xgboost", "xgboost", "autolog._bench._xgboost"),
    "lightning": ("lightning", "lightning", "autolog._bench._lightning"),
    "optuna": ("optuna", "optuna", "autolog._bench._optuna"),
    "throughput": (None, None, "autolog._bench._throughput"),
}
INSTALL = {"sklearn": "scikit-learn", "xgboost": "xgboost-cpu", "lightning": "lightning",
           "optuna": "optuna"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help=f"comma list of {', '.join(FRAMEWORKS)} (default: all installed)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller workloads and 3 repetitions: about 45 s on 2 cores")
    parser.add_argument("--tiny", action="store_true",
                        help="smoke-test sizes: every workload and variant runs once, the "
                             "numbers mean nothing")
    parser.add_argument("--repeats", type=int, help="timed repetitions per variant "
                        "(default 5, --quick 3)")
    parser.add_argument("--tracking-uri", help="an MLflow server both tools log to (default: "
                        "autolog's embedded store and MLflow's own local SQLite store)")
    parser.add_argument("--start-mlflow-server", action="store_true",
                        help="start a local mlflow server (1 worker, SQLite, temporary) and "
                             "send both tools there")
    parser.add_argument("--no-mlflow", action="store_true",
                        help="skip MLflow's variants even when mlflow is installed")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--plot", metavar="PNG", help="bar chart of overhead ratios (needs "
                        "matplotlib)")
    parser.add_argument("--markdown", metavar="FILE", help="one-row-per-workload Markdown table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autolog bench",
                                     description="Overhead of autolog and of MLflow's own "
                                     "autologging on this machine.")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the selected workloads and write what was asked for; 0 when every variant ran."""
    wanted = [name.strip() for name in args.frameworks.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(FRAMEWORKS))
    if unknown:
        print(f"unknown framework(s) {', '.join(unknown)}; choose from {', '.join(FRAMEWORKS)}",
              file=sys.stderr)
        return 2
    if args.tracking_uri and args.start_mlflow_server:
        print("give --tracking-uri or --start-mlflow-server, not both", file=sys.stderr)
        return 2
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        print("--plot needs matplotlib: pip install matplotlib", file=sys.stderr)
        return 2
    for output in (args.json, args.plot, args.markdown):
        if output and not Path(output).absolute().parent.is_dir():
            print(f"no folder for {output}", file=sys.stderr)
            return 2
    load_at_start = _load_average()
    sizes = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    repeats = args.repeats or sizes.repeats
    skipped: list[str] = []
    with_mlflow = not args.no_mlflow and importlib.util.find_spec("mlflow") is not None
    if not with_mlflow and not args.no_mlflow:
        skipped.append("MLflow's variants: mlflow is not installed (pip install mlflow)")
    if with_mlflow and "optuna" in wanted and importlib.util.find_spec("optuna_integration") is None:
        skipped.append("MLflowCallback: optuna-integration is not installed "
                       "(pip install optuna-integration)")
    selected = [name for name in wanted if _available(name, skipped)]
    if args.start_mlflow_server and importlib.util.find_spec("mlflow") is None:
        print("--start-mlflow-server needs mlflow: pip install mlflow", file=sys.stderr)
        return 2
    _quiet_frameworks()
    destination = open_destination(args.tracking_uri, args.start_mlflow_server, with_mlflow)
    workloads: list[dict[str, Any]] = []
    try:
        with _environment(destination):
            for name in selected:
                module = importlib.import_module(FRAMEWORKS[name][2])
                for workload in module.workloads(destination, sizes, with_mlflow):
                    _progress(f"{workload.key}: {len(workload.variants)} variants")
                    workloads.append(measure(workload, repeats, warm_up=sizes.warm_up,
                                             progress=_progress))
    finally:
        destination.close()
    results = {
        "schema": 1,
        "command": " ".join(["python -m autolog bench", *_argv(args)]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {**_machine(), "load_average_at_start": load_at_start},
        "versions": _versions(),
        "destination": {"kind": destination.kind, "description": destination.describe()},
        "repeats": repeats,
        "warm_up": sizes.warm_up,
        "sizes": "tiny" if args.tiny else "quick" if args.quick else "full",
        "skipped": skipped,
        "workloads": workloads,
    }
    _report.print_table(results, sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(_report.markdown(results))
    if args.plot:
        _report.plot(results, args.plot)
    empty = list(_report.failed_variants(results))
    if empty:
        print(f"these variants recorded no run (check the warnings above): {', '.join(empty)}",
              file=sys.stderr)
        return 1
    return 0


def _available(name: str, skipped: list[str]) -> bool:
    module, integration, _ = FRAMEWORKS[name]
    if module is not None and importlib.util.find_spec(module) is None:
        skipped.append(f"{name}: not installed (pip install {INSTALL[name]})")
        return False
    if integration is not None:
        from autolog import _registry

        plugin = _registry.discover().get(integration)
        if plugin is None or plugin.integration is None:
            why = plugin.error if plugin is not None else "no such integration is registered"
            skipped.append(f"{name}: autolog's integration cannot be loaded ({why})")
            return False
    if name == "optuna" and importlib.util.find_spec("sklearn") is None:
        skipped.append("optuna: its second workload fits scikit-learn models (pip install "
                       "scikit-learn)")
        return False
    return True


@contextlib.contextmanager
def _environment(destination: Destination) -> Iterator[None]:
    """autolog's store in the benchmark's folder, and the benchmark's folder as the working
    directory (so nothing any tool writes relative to it lands in the user's)."""
    saved_dir, saved_cwd = os.environ.get("AUTOLOG_DIR"), os.getcwd()
    os.environ["AUTOLOG_DIR"] = str(destination.store_dir)
    os.chdir(destination.workdir)
    try:
        yield
    finally:
        import autolog
        from autolog._runs import shutdown

        autolog.autolog(disable=True)
        autolog.flush(timeout=60)
        shutdown(10)  # the benchmark's pipelines write into a folder about to be removed
        os.chdir(saved_cwd)
        if saved_dir is None:
            os.environ.pop("AUTOLOG_DIR", None)
        else:
            os.environ["AUTOLOG_DIR"] = saved_dir


def _quiet_frameworks() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    for name in ("mlflow", "alembic", "optuna"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("mlflow", "lightning", "pytorch_lightning", "optuna_integration", "optuna"):
        warnings.filterwarnings("ignore", module=module)
    # What MLflow's own code makes other libraries say, and its callback's deprecation notice.
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
    warnings.filterwarnings("ignore", message="MLflowCallback has been deprecated")


_STARTED = time.perf_counter()


def _progress(message: str) -> None:
    print(f"  [{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def _argv(args: argparse.Namespace) -> list[str]:
    parts = []
    for key in ("quick", "tiny", "start_mlflow_server", "no_mlflow"):
        if getattr(args, key):
            parts.append("--" + key.replace("_", "-"))
    if args.frameworks != ",".join(FRAMEWORKS):
        parts.append(f"--frameworks {args.frameworks}")
    if args.repeats:
        parts.append(f"--repeats {args.repeats}")
    if args.tracking_uri:
        parts.append(f"--tracking-uri {args.tracking_uri}")
    return parts


def _machine() -> dict[str, Any]:
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return {"system": f"{platform.system()} {platform.machine()}", "nproc": nproc,
            "cpu_count": os.cpu_count(), "load_average": _load_average(),
            "python": platform.python_version()}


def _load_average() -> str:
    """1, 5 and 15 minute load averages: how busy the machine was besides the benchmark."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def _versions() -> dict[str, str | None]:
    from autolog import _metadata

    names = ("autolog", "mlflow", "scikit-learn", "xgboost", "xgboost-cpu", "lightning", "torch",
             "optuna", "optuna-integration")
    return {name: _metadata.version(name) for name in names}

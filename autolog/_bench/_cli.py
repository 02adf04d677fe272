"""``python -m autolog bench`` (and ``benchmarks/run.py``): options, the run, output."""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autolog._bench import _report, _runner
from autolog._bench._sizes import SIZES
from autolog._bench._workload import GROUPS
from autolog._bench.tools import TOOLS, Tool, load
from autolog._bench.workloads import WORKLOADS

DEFAULT_WORKLOADS = "headline,peers"
SERVER_NAMES = {"4": "server", "1": "server-1"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tools", help=f"comma list of {', '.join(TOOLS)} (default: every "
                        "installed one; bare always runs)")
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                        help=f"comma list of workloads, groups ({', '.join(GROUPS)}) or "
                        f"frameworks (sklearn, optuna...); default {DEFAULT_WORKLOADS}; "
                        f"workloads: {', '.join(WORKLOADS)}")
    parser.add_argument("--servers", help="MLflow server shapes for the headline workloads: "
                        "comma list of worker counts, 4 (MLflow's default) and 1, or 'none' "
                        "(default: 4,1 when mlflow is installed)")
    parser.add_argument("--tracking-uri", help="also send autolog's and MLflow's rows to this "
                        "MLflow server (what arrived there is not counted)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller workloads, one run per row")
    size.add_argument("--tiny", action="store_true", help="smoke-test sizes, one process per "
                      "tool: every row runs, the numbers mean nothing")
    parser.add_argument("--repeats", type=int, help="fresh processes per row (default 3, "
                        "--quick and --tiny 1)")
    parser.add_argument("--jobs", type=int, default=1, help="measured processes at once "
                        "(default 1; more only to check that every row runs: they slow each "
                        "other down)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds one measured process may take (default 1800)")
    parser.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="the README's tables")
    parser.add_argument("--plot", metavar="PNG", help="bar chart (needs matplotlib)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (each "
                        "process's files and output) and say where it is")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autolog bench",
                                     description="Logging overhead of autolog, MLflow and other "
                                     "trackers on this machine, at the cadence users train at.")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def select_workloads(spec: str) -> list[str]:
    """Workload keys for a comma list of keys, groups and frameworks; ValueError names an
    unknown one."""
    chosen: list[str] = []
    for name in (part.strip() for part in spec.split(",") if part.strip()):
        if name in WORKLOADS:
            found = [name]
        elif name in GROUPS:
            found = [key for key, w in WORKLOADS.items() if name in w.groups]
        else:
            found = [key for key in WORKLOADS if key.split(".")[0] == name]
        if not found:
            raise ValueError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}, "
                             f"the groups {', '.join(GROUPS)}, or a framework")
        chosen += [key for key in found if key not in chosen]
    return chosen


def run(args: argparse.Namespace) -> int:
    """Run the selected rows and write what was asked for; 0 when every row ran and
    recorded something."""
    try:
        keys = select_workloads(args.workloads)
    except ValueError as error:
        return _fail(str(error))
    names = list(TOOLS) if args.tools is None else [
        name.strip() for name in args.tools.split(",") if name.strip()]
    unknown = [name for name in names if name not in TOOLS]
    if unknown:
        return _fail(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        return _fail("--plot needs matplotlib: pip install matplotlib")
    if args.repeats is not None and args.repeats < 1:
        return _fail("--repeats must be at least 1")
    if args.jobs < 1:
        return _fail("--jobs must be at least 1")
    for output in (args.json, args.plot, args.markdown):
        if output and not Path(output).absolute().parent.is_dir():
            return _fail(f"no folder for {output}")
    if args.tracking_uri and not args.tracking_uri.lower().startswith(("http://", "https://")):
        return _fail(f"--tracking-uri must be an http(s) MLflow server, not {args.tracking_uri!r}")
    with_mlflow = importlib.util.find_spec("mlflow") is not None
    try:
        destinations = _destinations(args.servers, with_mlflow, args.tracking_uri)
    except ValueError as error:
        return _fail(str(error))

    skipped: list[str] = []
    tools: list[Tool] = [load("bare")]
    for name in names:
        if name == "bare":
            continue
        tool = load(name)
        why = tool.available()
        if why is None:
            tools.append(tool)
        elif args.tools is not None:  # asked for by name: say so
            skipped.append(f"{name}: {why}")
    if any(d != "embedded" for d in destinations) and not with_mlflow:
        return _fail("the server destinations need mlflow: pip install mlflow (or --servers none)")
    workloads = []
    for key in keys:
        workload = WORKLOADS[key]
        missing = [m for m in workload.needs if importlib.util.find_spec(m) is None]
        if missing:
            skipped.append(f"{key}: needs {', '.join(missing)}")
        else:
            workloads.append(workload)

    sizes = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    repeats = args.repeats or sizes.repeats
    plan = _runner.plan(workloads, tools, destinations, smoke=args.tiny)
    load_at_start = _load_average()
    started = time.monotonic()
    folder = _runner.make_folder()
    servers: dict[str, _runner.Server] = {}
    previous = signal.signal(signal.SIGTERM, _terminated)  # so the finally below runs
    try:
        needed = [d for d in [*destinations, "down"] if any(c.destination == d for c in plan.cells)]
        _runner.byte_compile_project()
        servers = _runner.start_servers(needed, folder, args.tracking_uri, _progress)
        measured = _runner.run_cells(plan.cells, sizes, servers, folder, repeats,
                                     shared_process=args.tiny, timeout=args.timeout,
                                     progress=_progress, jobs=args.jobs)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sys.exc_info()[0] is not None:
            _runner.stop_running()
        for server in servers.values():
            server.close()
        if args.keep:
            print(f"working folder kept: {folder}", file=sys.stderr)
        else:
            _runner.remove_folder(folder)
    results = {
        "schema": 2,
        "command": " ".join(["python -m autolog bench", *(argv_of(args))]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - started, 1),
        "machine": {**_machine(), "load_at_start": load_at_start, "load_at_end": _load_average()},
        "versions": {tool.name: tool.version() for tool in tools if tool.distribution}
        | _framework_versions(),
        "sizes": sizes.as_dict(),
        "repeats": repeats,
        "destinations": [d for d in [*destinations, "down"]
                         if any(c.destination == d for c in plan.cells)],
        "skipped": skipped,
        "workloads": [
            {"key": w.key, "groups": list(w.groups), "title": w.title(sizes), "note": w.note,
             "absent": [[tool, why] for key, tool, why in plan.absent if key == w.key]}
            for w in workloads],
        "rows": [_runner.summarize(cell, measured[cell.key], sizes) for cell in plan.cells],
    }
    _report.print_table(results, sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(_report.markdown(results))
    if args.plot:
        _report.plot(results, args.plot)
    bad = list(_report.failures(results))
    print(f"\n{len(results['rows'])} rows in {results['wall_s']:.0f} s", file=sys.stderr)
    if bad:
        print("these rows failed or recorded nothing:\n  " + "\n  ".join(bad), file=sys.stderr)
        for row in results["rows"]:
            if row.get("errors"):
                print(f"--- {row['workload']} | {_report.row_name(row)} | {row['destination']}"
                      f"\n{row.get('output', '')[-1500:]}", file=sys.stderr)
        return 1
    return 0


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _destinations(spec: str | None, with_mlflow: bool, external: str | None) -> list[str]:
    destinations = ["embedded"]
    if spec is None:
        spec = "4,1" if with_mlflow else "none"
    if spec.strip().lower() != "none":
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            if part not in SERVER_NAMES:
                raise ValueError(f"--servers takes 4, 1 or none, not {part!r}")
            destinations.append(SERVER_NAMES[part])
    if external:
        destinations.append("external")
    return destinations


_STARTED = time.perf_counter()


def _progress(message: str) -> None:
    print(f"  [{time.perf_counter() - _STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def argv_of(args: argparse.Namespace) -> list[str]:
    parts = []
    for key in ("quick", "tiny"):
        if getattr(args, key):
            parts.append(f"--{key}")
    for key in ("tools", "servers", "repeats", "tracking_uri"):
        if getattr(args, key) is not None:
            parts.append(f"--{key.replace('_', '-')} {getattr(args, key)}")
    if args.workloads != DEFAULT_WORKLOADS:
        parts.append(f"--workloads {args.workloads}")
    return parts


def _machine() -> dict[str, Any]:
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return {"system": f"{platform.system()} {platform.machine()}", "nproc": nproc,
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "cpu_model": _cpu_model()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def _framework_versions() -> dict[str, str | None]:
    from autolog import _metadata

    names = ("scikit-learn", "xgboost", "xgboost-cpu", "lightning", "torch", "optuna",
             "optuna-integration")
    return {name: _metadata.version(name) for name in names}

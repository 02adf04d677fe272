"""The parent process: which cells to run, the servers they need, one fresh process per run.

A **cell** is a workload measured with one tool (one row: its integration, or its manual
calls) at one destination: ``embedded`` (each tool's local store or offline mode), ``server``
(an ``mlflow server`` with MLflow's default 4 workers) or ``server-1`` (``--workers 1``), or
``external`` (``--tracking-uri``). Only tools that talk to MLflow servers run at the server
destinations, and only on the headline and detail workloads; the peer comparison is local.

Every run of a cell is a fresh process (``_cell``) with its own ``HOME`` and working folder,
one BLAS/OpenMP thread, and the tool's offline and no-telemetry switches; repetitions rotate
the order of the cells so drift on the machine spreads evenly. At the tiny (smoke-test) sizes
one process runs all of a tool's rows, to keep CI fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Workload
from autolog._bench.tools import ONE_THREAD, Tool

ROOT = Path(__file__).resolve().parents[2]
SERVER_WORKERS = {"server": 4, "server-1": 1}
#: Variables no measured process inherits: where the user's own runs go, switches that would
#: change what a tool does, and credentials (everything runs offline). AUTOLOG_TESTING is
#: inherited: under the test suite autolog's own failures then fail the row.
HIDDEN_VARIABLES = ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_DIR",
                    "AUTOLOG_DISABLE", "AUTOLOG_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME",
                    "WANDB_API_KEY", "COMET_API_KEY", "CLEARML_API_ACCESS_KEY",
                    "CLEARML_API_SECRET_KEY", "MLFLOW_TRACKING_TOKEN")


@dataclass(frozen=True)
class Cell:
    workload: Workload
    tool: Tool
    mode: str  # "integration" or "manual"
    destination: str
    switch: str = ""  # one of the tool's switches, "" for its defaults

    @property
    def row(self) -> str:
        return row_label(self.tool.name, self.mode, self.switch)

    @property
    def key(self) -> str:
        return f"{self.workload.key} | {self.row} | {self.destination}"


def row_label(tool: str, mode: str, switch: str) -> str:
    return tool + (" (manual)" if mode == "manual" else "") + (f" [{switch}]" if switch else "")


@dataclass
class Plan:
    cells: list[Cell] = field(default_factory=list)
    #: (workload key, tool name, why there is no row)
    absent: list[tuple[str, str, str]] = field(default_factory=list)


def plan(workloads: Iterable[Workload], tools: list[Tool], destinations: list[str],
         smoke: bool = False) -> Plan:
    found = Plan()
    for workload in workloads:
        for tool in tools:
            if workload.tools is not None and tool.name not in workload.tools:
                continue
            if smoke and tool.name in workload.smoke_skip:
                found.absent.append((workload.key, tool.name,
                                     f"not at --tiny: {workload.smoke_skip[tool.name]}"))
                continue
            modes = tool.modes(workload.frameworks)
            if not modes:
                found.absent.append((workload.key, tool.name,
                                     tool.why_missing(workload.frameworks[0])))
                continue
            switches = ["", *tool.switches]
            if smoke:
                switches = switches[-1:]
            for mode in modes:
                for destination in destinations:
                    remote = destination != "embedded"
                    if remote and (not tool.servers or workload.local_only
                                   or workload.groups == ("peers",)):
                        continue
                    for switch in switches:
                        found.cells.append(Cell(workload, tool, mode, destination, switch))
                if workload.outage and tool.outage:
                    found.cells.append(Cell(workload, tool, mode, "down"))
    return found


@dataclass
class Server:
    uri: str
    root: str | None
    handle: Any = None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.cleanup()


def start_servers(destinations: list[str], folder: Path, external: str | None,
                  progress: Callable[[str], None]) -> dict[str, Server]:
    from autolog._mlflow_server import MlflowServer

    servers: dict[str, Server] = {}
    try:
        for name in destinations:
            if name == "external":
                servers[name] = Server(external or "", None)
            elif name == "down":
                from autolog._mlflow_server import free_port

                servers[name] = Server(f"http://127.0.0.1:{free_port()}", None)
            elif name in SERVER_WORKERS:
                workers = SERVER_WORKERS[name]
                progress(f"starting mlflow server ({workers} worker{'s' * (workers > 1)})")
                handle = MlflowServer(folder / name, workers=workers).start(timeout=180)
                servers[name] = Server(handle.uri, str(handle.root), handle)
    except BaseException:
        for server in servers.values():
            server.close()
        raise
    return servers


def byte_compile_project() -> None:
    """Compile autolog's modules once, as ``pip install`` does for an installed package: a
    checkout installed in editable mode, run with ``PYTHONDONTWRITEBYTECODE`` set, would
    otherwise compile them again in every measured process (~60 ms of its first fit), a cost
    no installed user pays and the other tools, installed from wheels, never show."""
    import compileall

    for package in ("autolog", "integrations"):
        folder = ROOT / package
        if folder.is_dir():
            compileall.compile_dir(folder, quiet=2)


def environment(tool: Tool, home: Path, workdir: Path, switch: str = "") -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in HIDDEN_VARIABLES}
    env.update(ONE_THREAD)
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(tool.environment(home, workdir))
    env.update({name: value.format(home=home, workdir=workdir)
                for name, value in tool.switches.get(switch, {}).items()})
    return env


def run_cells(cells: list[Cell], sizes: Sizes, servers: dict[str, Server], folder: Path,
              repeats: int, shared_process: bool, timeout: float,
              progress: Callable[[str], None], jobs: int = 1) -> dict[str, list[dict[str, Any]]]:
    """Every cell ``repeats`` times; the measurements of each run, by cell key. ``jobs`` > 1
    runs that many processes at once (for the smoke test: they then slow each other)."""
    measured: dict[str, list[dict[str, Any]]] = {cell.key: [] for cell in cells}
    groups = _process_groups(cells, shared_process)
    order = []
    for repetition in range(repeats):
        shift = repetition % max(1, len(groups))
        order += groups[shift:] + groups[:shift]

    def one(number: int, group: list[Cell]) -> list[dict[str, Any]]:
        first = group[0]
        label = first.key if len(group) == 1 else f"{first.row}: {len(group)} rows"
        progress(f"run {number}/{len(order)}: {label}")
        results = _run_process(group, sizes, servers, folder, number, timeout)
        for cell, result in zip(group, results, strict=True):
            if "error" in result:
                progress(f"  FAILED {cell.key}: {result['error']}")
        return results

    if jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(jobs)
        try:
            outcomes = list(pool.map(one, range(1, len(order) + 1), order))
        except BaseException:  # interrupted: start nothing more, stop what runs
            pool.shutdown(wait=False, cancel_futures=True)
            stop_running()
            raise
        pool.shutdown()
    else:
        outcomes = [one(number, group) for number, group in enumerate(order, 1)]
    for group, results in zip(order, outcomes, strict=True):
        for cell, result in zip(group, results, strict=True):
            measured[cell.key].append(result)
    return measured


def _process_groups(cells: list[Cell], shared_process: bool) -> list[list[Cell]]:
    if not shared_process:
        return [[cell] for cell in cells]
    groups: dict[tuple[str, str], list[Cell]] = {}  # the process's environment is the same
    for cell in cells:
        groups.setdefault((cell.tool.name, cell.switch), []).append(cell)
    # a server that is down keeps its records waiting: flushes after it would wait for them
    return [sorted(group, key=lambda cell: cell.destination == "down")
            for group in groups.values()]


def _run_process(group: list[Cell], sizes: Sizes, servers: dict[str, Server], folder: Path,
                 number: int, timeout: float) -> list[dict[str, Any]]:
    tool, switch = group[0].tool, group[0].switch
    cell_dir = folder / f"run-{number:04d}-{tool.name}"
    home, workdir = cell_dir / "home", cell_dir / "work"
    home.mkdir(parents=True)
    workdir.mkdir()
    results_path = cell_dir / "results.json"
    jobs = []
    for cell in group:
        server = servers.get(cell.destination)
        jobs.append({"workload": cell.workload.key, "mode": cell.mode,
                     "destination": cell.destination,
                     "uri": server.uri if server else None,
                     "server_root": server.root if server else None,
                     "experiment": f"bench-{cell.workload.key}-{tool.name}-{cell.mode}-"
                                   f"{cell.destination}-{number}",
                     "switch": switch})
    spec = {"tool": tool.name, "sizes": sizes.as_dict(), "jobs": jobs,
            "results": str(results_path)}
    spec_path = cell_dir / "spec.json"
    spec_path.write_text(json.dumps(spec))
    log_path = cell_dir / "output.log"
    with open(log_path, "wb") as log:
        if _stopping.is_set():
            return [{"error": "the benchmark was interrupted", "output": ""} for _ in group]
        process = subprocess.Popen([sys.executable, "-m", "autolog._bench._cell", str(spec_path)],
                                   cwd=workdir, env=environment(tool, home, workdir, switch),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        _running.add(process)
        try:
            returncode: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            returncode = None
        finally:
            _running.discard(process)
    ended = time.monotonic()
    output = log_path.read_text(errors="replace")[-3000:]
    if not results_path.exists():
        why = "timed out" if returncode is None else f"exited with {returncode}"
        return [{"error": f"the measured process {why}", "output": output} for _ in group]
    found = json.loads(results_path.read_text())
    exit_s = ended - found["finished_monotonic"]
    results = []
    for result in found["results"]:
        result.update(network=found["network"], peak_rss_mb=found["peak_rss_mb"],
                      exit_s=exit_s if len(group) == 1 else None)
        if "error" in result:
            result["output"] = output
        results.append(result)
    return results


_running: set[subprocess.Popen[bytes]] = set()
_stopping = threading.Event()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The measured process and whatever it started (its own session: sidecars included)."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_running() -> None:
    """Stop the measured processes still running (the benchmark itself was interrupted)."""
    _stopping.set()
    for process in list(_running):
        _stop(process)


def make_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="autolog-bench-"))


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


# -- summary -------------------------------------------------------------------------------------
def _median(values: list[float]) -> float | None:
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def summarize(cell: Cell, runs: list[dict[str, Any]], sizes: Sizes) -> dict[str, Any]:
    """Medians over the cell's runs (seconds), what its first run recorded, and any error."""
    good = [run for run in runs if "error" not in run]
    row: dict[str, Any] = {
        "workload": cell.workload.key, "tool": cell.tool.name, "mode": cell.mode,
        "switch": cell.switch, "row": cell.row, "destination": cell.destination,
        "runs": len(good),
        "records": cell.tool.describe(cell.workload.frameworks, cell.mode)
        if cell.tool.name != "bare" else "nothing",
    }
    errors = [run["error"] for run in runs if "error" in run]
    if errors:
        row["errors"] = errors
        row["output"] = next(run.get("output", "") for run in runs if "error" in run)
    if not good:
        return row
    row["call_s"] = _median([run["call_s"] for run in good])
    row["until_finished_s"] = _median([run["until_finished_s"] for run in good])
    row["setup_s"] = _median([run["setup_s"] for run in good])
    row["exit_s"] = _median([run["exit_s"] for run in good])
    row["calls_s"] = [round(run["call_s"], 4) for run in good]
    for name in sorted({key for run in good for key in run["extra_s"]}):
        row[f"{name}_s"] = _median([run["extra_s"].get(name) for run in good])
    for name in sorted({key for run in good for key in run["marks_s"]}):
        row[f"until_{name}_s"] = _median([run["marks_s"].get(name) for run in good])
    cpu = {}
    for key in ("process_s", "training_thread_s", "other_threads_s", "autolog_threads_s",
                "sidecar_total_s"):
        cpu[key] = _median([run["cpu"][key] for run in good])
    cpu["threads_s"] = good[0]["cpu"]["threads_s"]
    cpu["sidecars_s"] = good[0]["cpu"]["sidecars_s"]
    row["cpu"] = cpu
    row["peak_rss_mb"] = _median([run["peak_rss_mb"] for run in good])
    row["census"] = good[0]["census"]
    row["sizes"] = good[0].get("sizes") or {}
    row["network"] = sorted({attempt for run in good for attempt in run["network"]})
    return row

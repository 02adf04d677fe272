"""Command line: ``python -m autolog`` (or ``autolog``).

    runs [--experiment NAME]      the embedded store's runs as a tree
    runs show RUN_ID              params, tags and a per-metric summary of one run
    status                        records waiting for delivery, per run, and the last error
    sync [--run RUN_ID]           deliver what waits in the local store to its server
    integrations                  discovered integrations and whether they can be enabled
    ui [--port PORT]              the embedded store's runs in the MLflow UI (needs mlflow)
    bench [--quick] [...]         logging overhead on this machine: autolog, MLflow, other trackers
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autolog import _config
from autolog.backends.local_store import LocalStore


def _store(args: argparse.Namespace) -> LocalStore:
    return LocalStore(args.dir or _config.store_dir())


def _cmd_runs(args: argparse.Namespace) -> int:
    from autolog._cli_runs import print_run, print_tree

    store = _store(args)
    if not store.path.exists():
        print(f"No autolog store at {store.directory} (set AUTOLOG_DIR or --dir).")
        return 0 if args.action is None else 1
    if args.action == "show":
        if not args.run_id:
            print("usage: python -m autolog runs show RUN_ID", file=sys.stderr)
            return 2
        return print_run(store, args.run_id, sys.stdout)
    return print_tree(store, sys.stdout, experiment=args.experiment)


def _cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    if not store.path.exists():
        print(f"No autolog store at {store.directory}.")
        return 0
    runs = {run["run_id"]: run for run in store.runs()}
    counts = store.pending_counts()
    if not counts:
        print(f"Nothing waiting for delivery in {store.path}.")
    else:
        print(f"{sum(counts.values())} record(s) waiting for delivery in {store.path}:")
        for run_id, count in counts.items():
            run = runs[run_id]
            print(f"  {run['name']}  {run_id[:12]}  {run['status']}  → {run['target']}: "
                  f"{count} record(s)")
        print("Deliver them with: python -m autolog sync")
    for target, (error, _at) in store.last_delivery_errors().items():
        print(f"last delivery error for {target}: {error}")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from autolog._sync import sync

    store = _store(args)
    if not store.path.exists():
        print(f"No autolog store at {store.directory}.")
        return 0

    def progress(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} records",
              end="", file=sys.stderr, flush=True)

    report = sync(store, run_id=args.run, timeout=args.timeout, progress=progress)
    print(file=sys.stderr)
    print(f"runs created: {report.runs_created}, records delivered: {report.records_delivered}, "
          f"refused by the server: {report.records_rejected}, runs closed as KILLED: "
          f"{report.runs_closed_as_killed}, still pending: {report.pending_after}")
    if report.pending_after:
        print(f"Delivery incomplete ({report.error or 'timed out'}); run sync again later.")
        return 1
    return 0


def _cmd_integrations(args: argparse.Namespace) -> int:
    from autolog._autolog import integrations_table

    rows = integrations_table()
    header = ("integration", "framework", "installed", "version", "supported", "in range",
              "enabled")
    table = [header] + [tuple("" if v is None else str(v) for v in row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    from autolog._ui import serve

    return serve(_store(args), port=args.port, out=sys.stdout, interval=args.sync_interval)


def _cmd_bench(args: argparse.Namespace) -> int:
    from autolog._bench import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autolog", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", help="store directory (default: $AUTOLOG_DIR or ./autolog-runs)")
    commands = parser.add_subparsers(dest="command", required=True)

    runs = commands.add_parser("runs", help="list runs as a tree, or show one")
    runs.add_argument("action", nargs="?", choices=["show"])
    runs.add_argument("run_id", nargs="?")
    runs.add_argument("--experiment")
    runs.set_defaults(handler=_cmd_runs)

    status = commands.add_parser("status", help="records waiting for delivery")
    status.set_defaults(handler=_cmd_status)

    sync = commands.add_parser("sync", help="deliver pending records to their server")
    sync.add_argument("--run", help="only this run (id or prefix)")
    sync.add_argument("--timeout", type=float, default=300.0)
    sync.set_defaults(handler=_cmd_sync)

    ui = commands.add_parser("ui", help="the embedded store's runs in the MLflow UI (needs mlflow)")
    ui.add_argument("--port", type=int, help="port of the UI server (default: a free one)")
    ui.add_argument("--sync-interval", type=float, default=3.0,
                    help="seconds between deliveries of new records while the UI runs")
    ui.set_defaults(handler=_cmd_ui)

    integrations = commands.add_parser("integrations", help="list discovered integrations")
    integrations.set_defaults(handler=_cmd_integrations)

    from autolog._bench._cli import add_arguments as add_bench_arguments

    bench = commands.add_parser("bench", help="logging overhead on this machine: bare, autolog, "
                                "MLflow's autologging and other trackers, a process per run")
    add_bench_arguments(bench)
    bench.set_defaults(handler=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

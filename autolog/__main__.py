"""Command line: ``python -m autolog`` (or ``autolog``).

    runs [--filter F] [--sort KEY] [--desc] [--limit N] [--format tree|table|csv|json]
                                  find, sort and export runs (a tree by default)
    runs show RUN_ID              params, tags and a per-metric summary of one run
    runs best [--study NAME] [--metric KEY]
                                  a study's best trial, its runner-up and how to reload its model
    runs compare ID ID ...        runs side by side: params that differ, metrics' last/best
    status                        records waiting for delivery, per run, and the last error
    sync [--run RUN_ID]           deliver what waits in the local store to its server
    integrations                  discovered integrations and whether they can be enabled
    ui [--port PORT]              the embedded store's runs in the MLflow UI (needs mlflow)
    bench [--quick] [...]         logging overhead on this machine: autolog, MLflow, other trackers

The runs commands read the embedded store, or a tracking server with --tracking-uri (or
AUTOLOG_TRACKING_URI / MLFLOW_TRACKING_URI when --dir is not given).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from autolog import _config
from autolog.backends.local_store import LocalStore


def _store(args: argparse.Namespace) -> LocalStore:
    return LocalStore(args.dir or _config.store_dir())


def _cmd_runs(args: argparse.Namespace) -> int:
    from autolog.search._readers import LocalReader, open_reader

    try:
        reader = open_reader(args.tracking_uri, store_dir=args.dir)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        if isinstance(reader, LocalReader) and not reader.store.path.exists():
            print(f"No autolog store at {reader.store.directory} (set AUTOLOG_DIR or --dir).")
            return 0 if args.action is None else 1
        return _runs_action(reader, args)
    except ValueError as error:  # a filter or sort key that cannot be read
        print(error, file=sys.stderr)
        return 2
    except BrokenPipeError:  # not a server's failure: the reader of our output went away
        raise
    except (ConnectionError, LookupError) as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        reader.close()


def _runs_action(reader: object, args: argparse.Namespace) -> int:
    from autolog import _cli_runs, _cli_study
    from autolog.search._api import build_query

    experiments = args.experiment or None
    if args.action == "show":
        return _cli_runs.print_run(reader, args.run_id, sys.stdout)
    if args.action == "compare":
        return _cli_study.print_comparison(reader, args.run_ids, sys.stdout)
    if args.action == "best":
        return _cli_study.print_best(reader, sys.stdout, study=args.study, metric=args.metric,
                                     mode=args.mode, experiments=experiments)
    order = _cli_runs.order_by(args.sort, args.desc)
    query = build_query(experiments, args.filter, order, args.limit, every_experiment=True)
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    if columns:
        _cli_runs.check_columns(columns)
    fmt = args.format or ("table" if args.sort or columns else "tree")
    return _cli_runs.list_runs(reader, query, fmt, sys.stdout, columns=columns,
                               sorted_by_user=bool(order))


def _cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    if not store.path.exists():
        print(f"No autolog store at {store.directory}.")
        return 0
    runs = {run["run_id"]: run for run in store.runs()}
    counts = store.pending_counts()
    target_errors = store.last_delivery_errors()
    if not counts:
        print(f"Nothing waiting for delivery in {store.path}.")
    else:
        run_errors = store.run_delivery_errors()
        print(f"{sum(counts.values())} record(s) waiting for delivery in {store.path}:")
        for run_id, count in counts.items():
            run = runs[run_id]
            print(f"  {run['name']}  {run_id[:12]}  {run['status']}  → {run['target']}: "
                  f"{count} record(s)")
            error, at = run_errors.get(run_id) or target_errors.get(run["target"]) or ("", 0)
            if error:
                print(f"      last error ({_when(at)}): {error}")
        print("Deliver them with: python -m autolog sync")
    for target, (error, at) in target_errors.items():
        print(f"last delivery error for {target} ({_when(at)}): {error}")
    return 0


def _when(at_ms: int) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at_ms / 1000))


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


def _add_runs_parser(commands: argparse._SubParsersAction) -> None:
    def source(parser: argparse.ArgumentParser, *, nested: bool) -> None:
        # Options repeated on each action: there SUPPRESS keeps a value given before the
        # action (`runs --tracking-uri U show ID`) from being reset to the default.
        default = argparse.SUPPRESS if nested else None
        parser.add_argument("--tracking-uri", default=default,
                            help="an MLflow tracking server (default: AUTOLOG_TRACKING_URI, "
                            "MLFLOW_TRACKING_URI, else the embedded store)")
        parser.add_argument("--experiment", action="append", default=default,
                            help="only this experiment (repeatable; default: every experiment)")

    runs = commands.add_parser(
        "runs", help="find, sort, export and compare runs",
        description="Runs of the embedded store or a tracking server. Keys use MLflow's names: "
        "metrics.accuracy, params.C, tags.team, status, start_time.")
    source(runs, nested=False)
    runs.add_argument("--filter", help="MLflow's search syntax, e.g. \"metrics.accuracy > 0.9 "
                      "and params.model = 'rf'\"")
    runs.add_argument("--sort", action="append", metavar="KEY",
                      help="sort by this key, e.g. metrics.accuracy (repeatable; ASC/DESC may "
                      "follow the key)")
    runs.add_argument("--desc", action="store_true", help="sort keys descending")
    runs.add_argument("--limit", type=int, help="at most N runs")
    runs.add_argument("--format", choices=["tree", "table", "csv", "json"],
                      help="default: a table when sorting, else a tree")
    runs.add_argument("--columns", help="table/csv columns, comma-separated, e.g. "
                      "metrics.accuracy,params.C")
    runs.set_defaults(handler=_cmd_runs, action=None)
    actions = runs.add_subparsers(dest="action", metavar="{show,best,compare}")
    show = actions.add_parser("show", help="params, tags and a per-metric summary of one run")
    show.add_argument("run_id", help="a run id or a unique prefix of one")
    best = actions.add_parser("best", help="a study's best trial, the runner-up, and the "
                              "command that reloads its model")
    best.add_argument("--study", help="the Optuna study's name (default: the newest study)")
    best.add_argument("--metric", help="rank by this metric (default: the study's objective)")
    best.add_argument("--mode", choices=["min", "max"],
                      help="lower or higher is better (default: the study's direction, or "
                      "min for names like loss/error)")
    compare = actions.add_parser("compare", help="runs side by side")
    compare.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    for action in (show, best, compare):
        source(action, nested=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autolog", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", help="store directory (default: $AUTOLOG_DIR or ./autolog-runs)")
    commands = parser.add_subparsers(dest="command", required=True)

    _add_runs_parser(commands)

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
    try:
        code = args.handler(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Whoever read our output stopped (`| head`): end quietly, as other tools do. Later
        # writes, and the flush at exit, go to /dev/null instead of raising again.
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())

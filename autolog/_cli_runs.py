"""``python -m autolog runs``: list, filter, sort and export runs, or show one in detail.

The same output for the embedded store and a tracking server: both are read through
:mod:`autolog.search`. Tables and JSON are written page by page as the search returns them (a
table's widths are planned from its first page); a tree, and CSV (to know every column), read
every run first.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from autolog._cli_output import Column, Style, Table, cut, duration, local_time, number, width_limit
from autolog.search._records import RunRecord

_FEW_PARAMS = 6  # up to this many params (a study's trials) come before the metrics in a table
_INFO_COLUMNS = ("run_id", "run_name", "parent_run_id", "experiment", "status", "start_time",
                 "end_time", "duration_s")


def order_by(sort: list[str] | None, descending: bool) -> list[str]:
    """``--sort`` keys, each descending with ``--desc`` unless it names its own direction."""
    keys = []
    for key in sort or []:
        words = key.split()
        explicit = len(words) > 1 and words[-1].lower() in ("asc", "desc")
        keys.append(key if explicit or not descending else f"{key} DESC")
    return keys


def list_runs(reader: Any, query: Any, fmt: str, out: TextIO, *, columns: list[str] | None = None,
              sorted_by_user: bool = False) -> int:
    pages = reader.search(query)
    if fmt == "json":
        return _write_json(pages, out)
    if fmt == "csv":
        return _write_csv([r for page in pages for r in page], out, columns)
    if fmt == "table":
        return _write_table(reader, query, pages, out, columns)
    runs = [record for page in pages for record in page]
    if not runs:
        return _nothing_found(reader, query, out)
    if not sorted_by_user:
        runs.reverse()  # searches list newest first; a tree reads best oldest first
    delivery = reader.delivery() if hasattr(reader, "delivery") else {}
    print_tree(runs, out, where=reader.where, delivery=delivery)
    return 0


def _nothing_found(reader: Any, query: Any, out: TextIO) -> int:
    scope = reader.where
    if query.experiments:
        scope = f"experiment {', '.join(map(repr, query.experiments))} of {reader.where}"
    out.write(f"No runs{' match' if query.clauses else ''} in {scope}\n")
    if query.experiments and not query.clauses:
        known = reader.experiment_names()
        out.write(f"Experiments there: {', '.join(known) if known else '(none)'}\n")
    return 0


# -- tree -------------------------------------------------------------------------------------
def print_tree(runs: list[RunRecord], out: TextIO, *, where: str,
               delivery: dict[str, tuple[str, str | None]]) -> None:
    style = Style(out)
    limit = width_limit(out)
    by_id = {run.run_id: run for run in runs}
    children: dict[str | None, list[RunRecord]] = {}
    for run in runs:
        parent = run.parent_id if run.parent_id in by_id else None
        children.setdefault(parent, []).append(run)
    roots = children.get(None, [])
    experiments = list(dict.fromkeys(run.experiment for run in roots))
    out.write(cut(f"{len(runs)} run(s) in {where}", limit) + "\n")

    def walk(run: RunRecord, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        target = delivery.get(run.run_id)
        head = f"{prefix}{branch}{run.name}  ["
        tail = (f", {duration(run.duration)}]  {run.run_id[:12]}  {_last_values(run)}"
                + (f"  → {target[0]}" if target else ""))
        line = cut(head + run.status + tail, limit)
        if line.startswith(head + run.status):  # colour the status when it survived the cut
            line = head + style.status(run.status, run.status) + line[len(head + run.status):]
        out.write(line + "\n")
        kids = children.get(run.run_id, [])
        extension = "" if top else ("   " if last else "│  ")
        for index, kid in enumerate(kids):
            walk(kid, prefix + extension, index == len(kids) - 1, False)

    for experiment in experiments:
        out.write("\n" + cut(f"experiment: {experiment}", limit) + "\n")
        for root in roots:
            if root.experiment == experiment:
                walk(root, "", True, True)


def _last_values(run: RunRecord, limit: int = 4) -> str:
    shown = [f"{key}={number(value, 4)}" for key, value in list(run.metrics.items())[:limit]]
    if len(run.metrics) > limit:
        shown.append(f"(+{len(run.metrics) - limit} more)")
    return " ".join(shown)


# -- table --------------------------------------------------------------------------------------
def _write_table(reader: Any, query: Any, pages: Iterator[list[RunRecord]], out: TextIO,
                 wanted: list[str] | None) -> int:
    first = next(pages, [])
    if not first:
        return _nothing_found(reader, query, out)
    style = Style(out)
    table = Table(_table_columns(first, query, wanted), out, style, width_limit(out))
    table.plan(first)
    table.write_header()
    count = 0
    for page in itertools.chain([first], pages):
        for record in page:
            table.write_row(record)
        count += len(page)
    out.flush()
    note = f"{count} run(s) in {reader.where}"
    if table.hidden:
        note += (f"; {table.hidden} more column(s) did not fit (--columns picks them, "
                 "--format csv has all)")
    print(note, file=sys.stderr)
    return 0


def _table_columns(sample: list[RunRecord], query: Any, wanted: list[str] | None) -> list[Column]:
    """The run, its id and status; then what the search sorted and filtered by (so it stays in
    view when the width runs out), the params when they are few (a study's trials), the
    metrics, start and duration, and the params when they are many (an estimator's)."""
    columns = [
        Column("run", lambda r: r.name, required=True),
        Column("run_id", lambda r: r.run_id[:12], required=True),
        Column("status", lambda r: r.status, required=True, status=True),
    ]
    if wanted is not None:
        names = wanted
    else:
        first = [f"{key.kind}.{key.key}" for key in query.order_by if key.kind != "attributes"]
        first += [f"{c.kind}.{c.key}" for c in query.clauses if c.kind in ("metrics", "params")]
        metrics = sorted({f"metrics.{key}" for run in sample for key in run.metrics})
        params = sorted({f"params.{key}" for run in sample for key in run.params})
        few = params if len(params) <= _FEW_PARAMS else []
        names = list(dict.fromkeys([*first, *few, *metrics]))
        later = [name for name in params if name not in names]
    named = [_named_column(name) for name in names]
    times = [Column("started", lambda r: local_time(r.start_time)),
             Column("duration", lambda r: duration(r.duration), numeric=True)]
    if wanted is not None:
        return [*columns, *times, *named]
    return [*columns, *named, *times, *(_named_column(name) for name in later)]


def _named_column(name: str) -> Column:
    return Column(name, _cell_reader(name),
                  numeric=name.startswith("metrics.") or name == "duration_s")


def check_columns(names: list[str]) -> None:
    """``--columns``: MLflow's column names, or autolog's own information columns."""
    for name in names:
        group, _, key = name.partition(".")
        if not (key and group in ("metrics", "params", "tags")) and name not in _INFO_COLUMNS:
            raise ValueError(f"unknown column {name!r}: use metrics.<key>, params.<key>, "
                             f"tags.<key> or one of {', '.join(_INFO_COLUMNS)}")


def _cell_reader(name: str) -> Any:
    def cell(record: RunRecord) -> str:
        if name in ("start_time", "end_time"):
            return local_time(getattr(record, name))
        value = record.duration if name == "duration_s" else record.get(name)
        if isinstance(value, float):
            return number(value)
        return "" if value is None else str(value)
    return cell


# -- csv and json ---------------------------------------------------------------------------------
def _write_csv(runs: list[RunRecord], out: TextIO, wanted: list[str] | None) -> int:
    if wanted is not None:
        names = list(wanted)
    else:
        names = list(_INFO_COLUMNS)
        for group in ("metrics", "params", "tags"):
            names += sorted({f"{group}.{key}" for run in runs for key in getattr(run, group)})
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for run in runs:
        writer.writerow([_csv_value(run, name) for name in names])
    return 0


def _csv_value(run: RunRecord, name: str) -> Any:
    if name in ("start_time", "end_time"):
        value = getattr(run, name)
        return "" if value is None else _iso(value)
    if name == "duration_s":
        return "" if run.duration is None else run.duration
    value = run.get(name)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return number(value)
    return "" if value is None else value


def _iso(milliseconds: int) -> str:
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_json(pages: Iterable[list[RunRecord]], out: TextIO) -> int:
    """A JSON array, written as pages arrive (so it streams, and stays one valid document)."""
    out.write("[")
    separator = "\n"
    for page in pages:
        for record in page:
            out.write(separator + json.dumps(record.to_dict(), allow_nan=False))
            separator = ",\n"
    out.write("\n]\n" if separator != "\n" else "]\n")
    return 0


# -- one run ------------------------------------------------------------------------------------
def print_run(reader: Any, run_id: str, out: TextIO) -> int:
    try:
        run = reader.run(run_id)
    except LookupError as error:
        out.write(f"{error}\n")
        return 1
    style = Style(out)
    out.write(f"run {run.name}  id={run.run_id}\n  experiment: {run.experiment}\n  status: "
              f"{style.status(run.status, run.status)}  duration: {duration(run.duration)}\n")
    if run.parent_id:
        out.write(f"  parent: {run.parent_id}\n")
    target = reader.delivery().get(run.run_id) if hasattr(reader, "delivery") else None
    if target:
        out.write(f"  target: {target[0]}  remote id: {target[1] or '(not yet)'}\n")
    _section(out, "params", sorted(run.params.items()))
    _section(out, "tags", sorted(run.tags.items()))
    histories = reader.metric_histories(run)
    out.write("metrics:\n")
    if not histories:
        out.write("  (none)\n")
    else:
        width = max(len(key) for key in histories)
        out.write(f"  {'key':<{width}}  {'count':>6}  {'first':>10}  {'last':>10}  "
                  f"{'min':>10}  {'max':>10}\n")
        for key, history in sorted(histories.items()):
            values = [value for _, value, _ in history]
            finite = [v for v in values if not math.isnan(v)] or [math.nan]
            out.write(f"  {key:<{width}}  {len(values):>6}  {number(values[0], 4):>10}  "
                      f"{number(values[-1], 4):>10}  {number(min(finite), 4):>10}  "
                      f"{number(max(finite), 4):>10}\n")
    artifacts = reader.artifacts(run.run_id)
    if artifacts:
        _section(out, "artifacts", [(path, "") for path in artifacts])
    return 0


def _section(out: TextIO, title: str, items: list[tuple[str, str]]) -> None:
    out.write(f"{title}:\n")
    if not items:
        out.write("  (none)\n")
    for key, value in items:
        out.write(f"  {key}: {value}\n" if value else f"  {key}\n")

"""``python -m autolog runs``: the embedded store's runs as a tree, and one run in detail."""

from __future__ import annotations

import math
from typing import Any, TextIO

from autolog.backends.local_store import LocalStore


def _duration(run: dict[str, Any]) -> str:
    if not run["end_time"]:
        return "-"
    seconds = (run["end_time"] - run["start_time"]) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return f"{value:.4g}"


def _last_values(store: LocalStore, run_id: str, limit: int = 4) -> str:
    metrics = store.run_data(run_id)["metrics"]
    shown = [f"{key}={_number(history[-1][1])}" for key, history in list(metrics.items())[:limit]]
    if len(metrics) > limit:
        shown.append(f"(+{len(metrics) - limit} more)")
    return " ".join(shown)


def print_tree(store: LocalStore, out: TextIO, *, experiment: str | None = None) -> int:
    runs = [r for r in store.runs() if experiment is None or r["experiment"] == experiment]
    if not runs:
        out.write(f"No runs in {store.directory}\n")
        return 0
    by_id = {run["run_id"]: run for run in runs}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for run in runs:
        parent = run["parent_id"] if run["parent_id"] in by_id else None
        children.setdefault(parent, []).append(run)
    out.write(f"{len(runs)} run(s) in {store.directory}\n")
    current_experiment = None

    def walk(run: dict[str, Any], prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        where = "" if run["target"] == "local" else f"  → {run['target']}"
        out.write(
            f"{prefix}{branch}{run['name']}  [{run['status']}, {_duration(run)}]  "
            f"{run['run_id'][:12]}  {_last_values(store, run['run_id'])}{where}\n"
        )
        kids = children.get(run["run_id"], [])
        extension = "" if top else ("   " if last else "│  ")
        for index, kid in enumerate(kids):
            walk(kid, prefix + extension, index == len(kids) - 1, False)

    for root in children.get(None, []):
        if root["experiment"] != current_experiment:
            current_experiment = root["experiment"]
            out.write(f"\nexperiment: {current_experiment}\n")
        walk(root, "", True, True)
    return 0


def resolve_run(store: LocalStore, run_id: str) -> dict[str, Any] | None:
    matches = [run for run in store.runs() if run["run_id"].startswith(run_id)]
    return matches[0] if len(matches) == 1 else None


def print_run(store: LocalStore, run_id: str, out: TextIO) -> int:
    run = resolve_run(store, run_id)
    if run is None:
        out.write(f"No single run matches {run_id!r} in {store.directory}\n")
        return 1
    data = store.run_data(run["run_id"])
    out.write(
        f"run {run['name']}  id={run['run_id']}\n"
        f"  experiment: {run['experiment']}\n  status: {run['status']}  "
        f"duration: {_duration(run)}\n"
    )
    if run["parent_id"]:
        out.write(f"  parent: {run['parent_id']}\n")
    if run["target"] != "local":
        out.write(f"  target: {run['target']}  remote id: {run['remote_id'] or '(not yet)'}\n")
    _section(out, "params", sorted(data["params"].items()))
    _section(out, "tags", sorted(data["tags"].items()))
    out.write("metrics:\n")
    if not data["metrics"]:
        out.write("  (none)\n")
    else:
        width = max(len(key) for key in data["metrics"])
        out.write(f"  {'key':<{width}}  {'count':>6}  {'first':>10}  {'last':>10}  "
                  f"{'min':>10}  {'max':>10}\n")
        for key, history in sorted(data["metrics"].items()):
            values = [value for _, value, _ in history]
            finite = [v for v in values if not math.isnan(v)] or [float("nan")]
            out.write(
                f"  {key:<{width}}  {len(values):>6}  {_number(values[0]):>10}  "
                f"{_number(values[-1]):>10}  {_number(min(finite)):>10}  "
                f"{_number(max(finite)):>10}\n"
            )
    if data["artifacts"]:
        _section(out, "artifacts", [(path, "") for path in data["artifacts"]])
    return 0


def _section(out: TextIO, title: str, items: list[tuple[str, str]]) -> None:
    out.write(f"{title}:\n")
    if not items:
        out.write("  (none)\n")
    for key, value in items:
        out.write(f"  {key}: {value}\n" if value else f"  {key}\n")

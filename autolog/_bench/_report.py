"""The benchmark's output: a table for people, Markdown tables for the README, a plot, JSON."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

WIDTH = 110
SERVER_TOOLS = ("autolog", "mlflow")
DESTINATIONS = {"embedded": "local", "server": "server, 4 workers",
                "server-1": "server, 1 worker", "external": "your server",
                "down": "server down"}


def seconds(value: float | None) -> str:
    """A duration for a table: ms below 10 s, else s."""
    if value is None:
        return "–"
    if value == 0:
        return "0"
    ms = value * 1e3
    if ms < 0.01:
        return f"{value * 1e9:.0f} ns"
    if ms < 1:
        return f"{value * 1e6:.1f} µs"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:,.0f} ms"
    return f"{value:,.1f} s"


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "–"
    times = value / base
    return f"{times:,.0f}×" if times >= 100 else f"{times:.2f}×" if times < 10 else f"{times:.1f}×"


def recorded(census: dict[str, Any] | None) -> str:
    if not census:
        return "–"
    parts = [f"{census.get('runs', 0):,} runs", f"{census.get('params', 0):,} params",
             f"{census.get('metric_points', 0):,} points", f"{census.get('files', 0):,} files"]
    if census.get("models"):
        parts.append(f"{census['models']:,} models")
    if census.get("note"):
        parts.append(census["note"])
    return ", ".join(parts)


def row_name(row: dict[str, Any]) -> str:
    return row["row"]


def _rows(results: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [row for row in results["rows"] if row["workload"] == key]


def _bare(results: dict[str, Any], key: str) -> float | None:
    return next((row.get("call_s") for row in _rows(results, key) if row["tool"] == "bare"),
                None)


def _cpu_off(row: dict[str, Any]) -> float | None:
    cpu = row.get("cpu")
    if not cpu:
        return None
    return (cpu["other_threads_s"] or 0.0) + (cpu["sidecar_total_s"] or 0.0)


def print_table(results: dict[str, Any], out: TextIO) -> None:
    machine = results["machine"]
    out.write(f"autolog bench, {results['date']}: {machine['system']}, {machine['nproc']} "
              f"CPU(s), Python {machine['python']}; load average {machine['load_at_start']} at "
              f"the start, {machine['load_at_end']} at the end; {results['sizes']['name']} "
              f"sizes, median of {results['repeats']} fresh process(es) per row\n")
    out.write("call: the workload's own calls; finished: until the tool's flush/close returned "
              "(stored locally, or delivered to the server); exit: the process's exit after "
              "that; CPU off: CPU off the training thread (the tool's threads) + its sidecar "
              "processes\n")
    for line in results["skipped"]:
        out.write(textwrap.fill(f"skipped: {line}", WIDTH, subsequent_indent="  ") + "\n")
    for workload in results["workloads"]:
        key = workload["key"]
        bare = _bare(results, key)
        out.write(f"\n{key}: {workload['title']}\n")
        out.write(f"  {'tool':<27}{'where':<19}{'call':>11}{'× bare':>8}{'finished':>11}"
                  f"{'exit':>10}{'CPU off':>10}  recorded\n")
        for row in _rows(results, key):
            where = DESTINATIONS.get(row["destination"], row["destination"])
            if "call_s" not in row:
                out.write(f"  {row_name(row):<27}{where:<19}FAILED: {row['errors'][0]}\n")
                continue
            line = (f"  {row_name(row):<27}{where:<19}{seconds(row['call_s']):>11}"
                    f"{ratio(row['call_s'], bare) if row['tool'] != 'bare' else '':>8}"
                    f"{seconds(row['until_finished_s']):>11}{seconds(row.get('exit_s')):>10}"
                    f"{seconds(_cpu_off(row)):>10}  {recorded(row.get('census'))}")
            out.write(line + "\n")
            extras = [f"{name[:-2].replace('_', ' ')} {seconds(row[name])}" for name in row
                      if name.endswith("_s") and name not in _STANDARD and row[name] is not None]
            extras += [f"ran at {name}={value:,}" for name, value in row.get("sizes", {}).items()]
            if extras:
                out.write(f"  {'':<46}{', '.join(extras)}\n")
            if row.get("network"):
                out.write(textwrap.fill(f"network: {', '.join(row['network'])}", WIDTH,
                                        initial_indent=" " * 48,
                                        subsequent_indent=" " * 50) + "\n")
        for tool, why in workload["absent"]:
            out.write(f"  {tool:<27}{'':<19}{why}\n")
        if workload.get("note"):
            out.write(f"  note: {workload['note']}\n")


_STANDARD = {"call_s", "until_finished_s", "setup_s", "exit_s", "calls_s"}


def markdown(results: dict[str, Any]) -> str:
    """Two tables for the README: the headline workloads (bare / autolog / MLflow, locally
    and at each server), and the peer comparison (every tool, local or offline)."""
    machine, versions = results["machine"], results["versions"]
    parts = [f"Measured with `{results['command']}` on {results['date'][:10]}: "
             f"{machine['system']}, {machine['nproc']} CPUs ({machine['cpu_model']}), Python "
             f"{machine['python']}, load average {machine['load_at_start']} at the start; "
             + ", ".join(f"{name} {version}" for name, version in versions.items() if version)
             + f". {results['sizes']['name'].capitalize()} sizes, median of {results['repeats']} "
             f"fresh process(es) per row; the whole run took {results['wall_s'] / 60:.0f} min.\n"]
    headline = [w for w in results["workloads"] if "headline" in w["groups"]]
    if headline:
        parts.append("**bare, autolog and MLflow**, locally and against both server shapes "
                     "(each tool as a new user runs it):\n")
        parts.append(_headline_table(results, headline))
    peers = [w for w in results["workloads"] if "peers" in w["groups"]]
    if peers:
        parts.append("**Every tracker**, local or offline, models and checkpoints off where it "
                     "has an option:\n")
        parts.append(_peer_table(results, peers))
    detail = [w for w in results["workloads"] if w["groups"] == ["detail"]]
    if detail:
        parts.append("**Details**: the logging APIs themselves, a server that is down, idle "
                     "patches:\n")
        parts.append(_headline_table(results, detail))
    return "\n".join(parts)


def _headline_table(results: dict[str, Any], workloads: list[dict[str, Any]]) -> str:
    """bare / autolog / MLflow per workload: the call, until stored locally and until
    delivered to each server shape (the tools that talk to MLflow servers only)."""
    keys = {w["key"] for w in workloads}
    servers = [d for d in results["destinations"] if d != "embedded" and any(
        row["destination"] == d and row["workload"] in keys for row in results["rows"])]
    header = ["workload", "tool", "call", "until stored locally",
              *[f"until delivered ({DESTINATIONS[d]})" for d in servers],
              "CPU off the training thread", "parts of the call", "recorded"]
    lines = ["| " + " | ".join(header) + " |",
             "|---|---|" + "---:|" * (len(header) - 3) + "---|"]
    for workload in workloads:
        key = workload["key"]
        bare = _bare(results, key)
        by_tool: dict[str, dict[str, dict[str, Any]]] = {}
        for row in _rows(results, key):
            if row["tool"] in ("bare", *SERVER_TOOLS):
                by_tool.setdefault(row_name(row), {})[row["destination"]] = row
        bare_row = next((row for row in _rows(results, key) if row["tool"] == "bare"), {})
        for name, rows in by_tool.items():
            local = rows.get("embedded")
            first = local or next(iter(rows.values()))
            if "call_s" not in first:
                lines.append(f"| {workload['title']} | {name} | failed |" + " |" * (len(header) - 3))
                continue
            call = seconds(first["call_s"])
            if name != "bare" and bare:
                call += f" ({ratio(first['call_s'], bare)})"
            stored = seconds(local.get("until_finished_s")) if local and name != "bare" else "–"
            delivered = [seconds(rows[d].get("until_finished_s")) if d in rows else "–"
                         for d in servers]
            lines.append(f"| {workload['title']} | {name} | {call} | {stored} | "
                         + "".join(f"{cell} | " for cell in delivered)
                         + f"{seconds(_cpu_off(first)) if name != 'bare' else '–'} | "
                         f"{_extras(first, bare_row)} | "
                         f"{recorded(first.get('census')) if name != 'bare' else '–'} |")
    return "\n".join(lines) + "\n"


def _extras(row: dict[str, Any], bare: dict[str, Any]) -> str:
    """The workload's own sub-timings (median fit, the search after the fits...), each with
    its ratio to the bare row's."""
    parts = []
    for name, value in row.items():
        if not name.endswith("_s") or name in _STANDARD or name.startswith("until_") or (
                value is None):
            continue
        text = f"{name[:-2].replace('_', ' ')} {seconds(value)}"
        if row is not bare and bare.get(name):
            text += f" ({ratio(value, bare[name])})"
        parts.append(text)
    parts += [f"ran at {name}={value:,}" for name, value in row.get("sizes", {}).items()]
    return "; ".join(parts) or "–"


def _peer_table(results: dict[str, Any], workloads: list[dict[str, Any]]) -> str:
    header = ["workload", "tool (how)", "call", "× bare", "until finished", "exit",
              "CPU: its threads", "CPU: sidecars", "recorded"]
    lines = ["| " + " | ".join(header) + " |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for workload in workloads:
        key = workload["key"]
        bare = _bare(results, key)
        for row in _rows(results, key):
            if row["destination"] != "embedded":
                continue
            how = row_name(row) if row["tool"] == "bare" else f"{row_name(row)}: {row['records']}"
            if "call_s" not in row:
                lines.append(f"| {workload['title']} | {how} | failed | | | | | | |")
                continue
            cpu = row["cpu"]
            lines.append(
                f"| {workload['title']} | {how} | {seconds(row['call_s'])} | "
                f"{ratio(row['call_s'], bare) if row['tool'] != 'bare' else '–'} | "
                f"{seconds(row['until_finished_s'])} | {seconds(row.get('exit_s'))} | "
                f"{seconds(cpu['other_threads_s'])} | {seconds(cpu['sidecar_total_s'])} | "
                f"{recorded(row.get('census')) if row['tool'] != 'bare' else '–'} |")
        for tool, why in workload["absent"]:
            lines.append(f"| {workload['title']} | {tool}: {why} | – | – | – | – | – | – | – |")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: str | Path) -> None:
    """Per workload, each tool's time until finished over the bare call, log scale."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    workloads = [w for w in results["workloads"] if _bare(results, w["key"])]
    names: list[str] = []
    for row in results["rows"]:
        usable = row["destination"] == "embedded" and row["tool"] != "bare" and "call_s" in row
        if usable and row_name(row) not in names:
            names.append(row_name(row))
    figure = Figure(figsize=(max(7.0, 1.5 * len(workloads) + 2), 5.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(names))
    colors = {"autolog": "#2a9d8f", "mlflow": "#e76f51", "wandb": "#f4a261",
              "comet": "#8d99ae", "clearml": "#6d597a", "dvclive": "#457b9d"}
    ratios_seen = [1.0]
    for index, name in enumerate(names):
        xs, heights = [], []
        for position, workload in enumerate(workloads):
            bare = _bare(results, workload["key"])
            row = next((r for r in _rows(results, workload["key"]) if row_name(r) == name
                        and r["destination"] == "embedded" and "call_s" in r), None)
            if row is not None and bare:
                xs.append(position + (index - (len(names) - 1) / 2) * width)
                heights.append(row["until_finished_s"] / bare)
        if not xs:
            continue
        ratios_seen += heights
        axes.bar(xs, heights, width, label=name, color=colors.get(name.split(" ")[0]),
                 hatch="//" if "manual" in name else None, alpha=0.5 if "[" in name else 1.0)
    axes.set_yscale("log")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(range(len(workloads)), [w["key"].replace(".", "\n", 1) for w in workloads],
                    fontsize=9)
    axes.set_ylabel("until finished / bare call (log scale)")
    machine = results["machine"]
    axes.set_title("Time until each tool finished (flush/close included), relative to the bare "
                   f"workload\nlocal/offline, {machine['nproc']} CPUs, {results['date'][:10]}, "
                   f"{results['sizes']['name']} sizes", fontsize=10)
    axes.legend(fontsize=8, loc="upper left", ncols=2)
    axes.set_ylim(0.5, max(ratios_seen) * 3)
    figure.savefig(path, dpi=110)


def failures(results: dict[str, Any]) -> Iterable[str]:
    """Rows that failed, or whose tool recorded no run at all (a benchmark of nothing)."""
    for row in results["rows"]:
        name = f"{row['workload']} | {row_name(row)} | {row['destination']}"
        if row.get("errors"):
            yield f"{name}: {row['errors'][0]}"
        elif row["tool"] != "bare" and row.get("census") is not None and not row["census"].get(
                "runs"):
            yield f"{name}: recorded no run"

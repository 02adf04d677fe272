"""The benchmark's output: a table for people, Markdown for the README, a plot, JSON."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

WIDTH = 104
CENSUS_KEYS = ("runs", "params", "metric_values", "tags", "artifacts", "models")


def _ms(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def plural(count: int, unit: str) -> str:
    if count == 1:
        return f"1 {unit}"
    return f"{count:,} {unit}{'es' if unit.endswith(('ch', 'sh', 's')) else 's'}"


def _versus_bare(name: str, row: dict[str, Any]) -> str:
    if name == "bare" or row["ratio_to_bare"] is None:
        return ""
    return f"{row['overhead_pct']:+.1f}% ({row['ratio_to_bare']:.2f}x)"


def _census(census: dict[str, int] | None) -> str:
    if census is None:
        return "-"
    return ", ".join(f"{census[key]:,} {key.replace('_', ' ')}" for key in CENSUS_KEYS
                     if key in census)


def print_table(results: dict[str, Any], out: TextIO) -> None:
    """Per workload: each variant's median [min-max], overhead against bare, until stored;
    MLflow's time over autolog's; what each variant logged and what the warm-up left."""
    machine = results["machine"]
    start = machine.get("load_average_at_start", "?")
    out.write(f"autolog bench, {results['date']}: {machine['system']}, {machine['nproc']} CPU(s) "
              f"available, Python {machine['python']}; load average {start} at the start, "
              f"{machine['load_average']} at the end\n")
    out.write(textwrap.fill(f"destination: {results['destination']['description']}",
                            WIDTH, subsequent_indent="  ") + "\n")
    warm_up = "after one warm-up call per variant" if results["warm_up"] else "without warm-up"
    out.write(f"medians of {results['repeats']} interleaved repetitions {warm_up}; 'call' is what "
              "the user waits for, 'until stored' adds flushing\n")
    for line in results["skipped"]:
        out.write(f"skipped: {line}\n")
    for workload in results["workloads"]:
        out.write(f"\n{workload['key']}: {workload['title']}\n")
        out.write(f"  {'variant':<13}{'call ms: median [min - max]':>34}{'vs bare':>22}"
                  f"{'until stored ms':>18}\n")
        for name, row in workload["variants"].items():
            span = f"{_ms(row['median_ms'])} [{_ms(row['min_ms'])} - {_ms(row['max_ms'])}]"
            scaled = ""
            if row["units"] < workload["size"]:
                scaled = (f"  (ran {row['units']:,} of {plural(workload['size'], workload['unit'])}"
                          ", scaled)")
            out.write(f"  {name:<13}{span:>34}{_versus_bare(name, row):>22}"
                      f"{_ms(row['until_stored_ms']):>18}{scaled}\n")
        versus = workload.get("mlflow_over_autolog")
        if versus:
            out.write(f"  MLflow takes {versus['call']:.1f}x autolog's time in the call, "
                      f"{versus['until_stored']:.1f}x until stored\n")
        if workload["note"]:
            out.write(f"  note: {workload['note']}\n")
        for name, row in workload["variants"].items():
            if name == "bare":
                continue
            out.write(textwrap.fill(f"{name} logs: {row['logged']}", WIDTH, initial_indent="  ",
                                    subsequent_indent="    ") + "\n")
            out.write(textwrap.fill(f"warm-up call ({plural(row['units'], workload['unit'])}) left: "
                                    f"{_census(row['census'])}", WIDTH, initial_indent="    ",
                                    subsequent_indent="      ") + "\n")


def markdown(results: dict[str, Any]) -> str:
    """One row per workload (and per extra MLflow variant), for the README."""
    lines = ["| workload | bare | autolog | MLflow | autolog vs bare | MLflow vs bare "
             "| MLflow ÷ autolog: call | until stored |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for workload in results["workloads"]:
        rows = workload["variants"]
        ours = rows.get("autolog")
        for name in [n for n in rows if n not in ("bare", "autolog")] or ["mlflow"]:
            theirs = rows.get(name)
            title = workload["title"] + ("" if name == "mlflow" else f" ({name})")
            ratios = ("–", "–")
            if ours is not None and theirs is not None:
                ratios = (_times(theirs["median_ms"] / ours["median_ms"]),
                          _times(theirs["until_stored_ms"] / ours["until_stored_ms"]))
            lines.append(f"| {title} | {_cell(rows.get('bare'))} | {_cell(ours)} | "
                         f"{_cell(theirs)} | {_versus(ours)} | {_versus(theirs)} | "
                         f"{ratios[0]} | {ratios[1]} |")
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "–"
    value = row["median_ms"]
    return f"{value / 1000:,.0f} s" if value >= 10_000 else f"{_ms(value)} ms"


def _versus(row: dict[str, Any] | None) -> str:
    if row is None or row["ratio_to_bare"] is None:
        return "–"
    return _ratio_label(row["ratio_to_bare"]).replace("x", "×")


def plot(results: dict[str, Any], path: str | Path) -> None:
    """Bars of each variant's time over the bare time, log scale (1 = no overhead)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    workloads = [w for w in results["workloads"] if "bare" in w["variants"]]
    names = sorted({n for w in workloads for n in w["variants"] if n != "bare"},
                   key=lambda n: (n != "autolog", n))
    figure = Figure(figsize=(max(6.0, 1.6 * len(workloads) + 2), 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(names))
    colors = {"autolog": "#2a9d8f", "mlflow": "#e76f51"}
    for index, name in enumerate(names):
        xs, ratios = [], []
        for position, workload in enumerate(workloads):
            row = workload["variants"].get(name)
            if row is not None:
                xs.append(position + (index - (len(names) - 1) / 2) * width)
                ratios.append(row["ratio_to_bare"])
        label = "MLflow autolog / MLflowCallback" if name == "mlflow" else name
        bars = axes.bar(xs, ratios, width, label=label, color=colors.get(name))
        axes.bar_label(bars, labels=[_ratio_label(r) for r in ratios], fontsize=8, padding=2)
    axes.set_yscale("log")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(range(len(workloads)),
                    [w["key"].replace(".", "\n", 1) for w in workloads], fontsize=9)
    axes.set_ylabel("time / bare time (log scale)")
    machine = results["machine"]
    axes.set_title(f"Training time with logging, relative to bare (1 = no overhead)\n"
                   f"{results['destination']['kind']} destination, {machine['nproc']} CPUs, "
                   f"medians of {results['repeats']}, {results['date'][:10]}", fontsize=10)
    axes.legend(fontsize=9, loc="upper left")
    ratios = [r["ratio_to_bare"] for w in workloads for r in w["variants"].values()
              if r["ratio_to_bare"]] or [1.0]
    axes.set_ylim(min(0.8, min(ratios) * 0.8), max(ratios) * 3)
    figure.savefig(path, dpi=110)


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.1f}×"


def _ratio_label(ratio: float) -> str:
    if ratio < 2:
        return f"{(ratio - 1) * 100:+.0f}%"
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def failed_variants(results: dict[str, Any]) -> Iterable[str]:
    """Variants whose warm-up call left no run at all (a benchmark of nothing)."""
    for workload in results["workloads"]:
        for name, row in workload["variants"].items():
            if row["census"] is not None and row["census"].get("runs", 0) == 0:
                yield f"{workload['key']}/{name}"

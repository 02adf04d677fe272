"""``runs best`` and ``runs compare``: the questions asked right after a search.

``best`` finds a study's best trial (the newest Optuna study run, or ``--study NAME``), its
runner-up, and the run holding the trial's model, and prints the command that reloads that
model. Without a study, ``--metric`` ranks every run. ``compare`` puts runs side by side: the
params that differ, and each metric's last and best value.
"""

from __future__ import annotations

import json
import math
import shlex
from typing import Any, TextIO

from autolog._cli_output import STATUS_COLOURS, Style, cut, duration, number, width_limit
from autolog.search._api import build_query
from autolog.search._records import RunRecord

_LOSS_WORDS = ("loss", "error", "err", "rmse", "mse", "mae", "perplexity", "rank")
STUDY_TAG = "optuna.study_name"
TRIAL_TAG = "optuna.trial_number"


def default_mode(metric: str) -> str:
    """Lower is better for names that read as a loss or an error, higher otherwise."""
    return "min" if any(word in metric.lower() for word in _LOSS_WORDS) else "max"


def _search(reader: Any, experiments: list[str] | None, text: str, order: list[str],
            limit: int | None) -> list[RunRecord]:
    query = build_query(experiments, text, order, limit, every_experiment=True)
    return [record for page in reader.search(query) for record in page]


# -- best ---------------------------------------------------------------------------------------
def print_best(reader: Any, out: TextIO, *, study: str | None, metric: str | None,
               mode: str | None, experiments: list[str] | None) -> int:
    studies = _search(reader, experiments, f"tags.`{STUDY_TAG}` IS NOT NULL AND "
                      f"tags.`{TRIAL_TAG}` IS NULL", [], None)
    if study is not None:
        studies = [run for run in studies if run.tags.get(STUDY_TAG) == study]
    study_run = studies[0] if studies else None  # newest first
    scope = ""
    if study_run is None:
        if study is not None:
            out.write(f"No run of study {study!r} in {reader.where}\n")
            return 1
        if metric is None:
            out.write(f"No Optuna study runs in {reader.where}; to rank every run by a metric: "
                      "python -m autolog runs best --metric NAME\n")
            return 1
        key, mode = metric, mode or default_mode(metric)
        out.write(f"all runs in {reader.where}\n")
    else:
        key, study_mode = _study_objective(study_run)
        if metric is None and study_mode is None:
            out.write(f"Study {study_run.tags[STUDY_TAG]!r} has several objectives; name one: "
                      f"--metric {key} --mode min|max\n")
            return 1
        objective, key = key, metric or key
        mode = mode or (study_mode if key == objective and study_mode else default_mode(key))
        scope = f"tags.`mlflow.parentRunId` = '{study_run.run_id}' AND "
        _describe_study(study_run, out)
    order = [f"metrics.`{key}` {'ASC' if mode == 'min' else 'DESC'}"]
    ranked = _search(reader, experiments, scope + "attributes.status = 'FINISHED'", order, 3)
    ranked = [run for run in ranked if not math.isnan(run.metrics.get(key, math.nan))]
    if not ranked:
        out.write(f"No finished run has the metric {key!r}\n")
        return 1
    best = _studys_own_best(reader, experiments, study_run, scope) if metric is None else None
    if best is None or math.isnan(best.metrics.get(key, math.nan)):
        best = ranked[0]
    ranked = [best, *(run for run in ranked if run.run_id != best.run_id)]
    style = Style(out)
    out.write(f"best: {style.paint(best.name, 'bold')}  {key}={number(best.metrics[key])} "
              f"({mode})  run {best.run_id}\n")
    params = ", ".join(f"{name}={value}" for name, value in sorted(best.params.items()))
    out.write(f"  params: {params or '(none)'}\n")
    if len(ranked) > 1:
        runner_up = ranked[1]
        gap = runner_up.metrics[key] - best.metrics[key]
        out.write(f"runner-up: {runner_up.name}  {key}={number(runner_up.metrics[key])} "
                  f"({gap:+.4g})  run {runner_up.run_id}\n")
    _describe_model(reader, best, experiments, out)
    if len(ranked) > 1:
        source = "" if hasattr(reader, "store") else f" --tracking-uri {shlex.quote(reader.where)}"
        out.write(f"compare the two:\n  python -m autolog runs compare{source} "
                  f"{best.run_id[:12]} {ranked[1].run_id[:12]}\n")
    return 0


def _studys_own_best(reader: Any, experiments: list[str] | None, study_run: RunRecord | None,
                     scope: str) -> RunRecord | None:
    """The trial Optuna itself calls best (the study run's ``best_trial``): among trials with
    the same value, that is the first one, where a ranking would pick the newest."""
    number = study_run.metrics.get("best_trial", math.nan) if study_run else math.nan
    if math.isnan(number):
        return None
    found = _search(reader, experiments, scope + f"tags.`{TRIAL_TAG}` = '{int(number)}'", [], 1)
    return found[0] if found else None


def _study_objective(study_run: RunRecord) -> tuple[str, str | None]:
    """(the metric trials record their value as, "min"/"max" or None when multi-objective)."""
    key = (study_run.tags.get("optuna.metric_names") or "value").split(",")[0]
    direction = study_run.params.get("direction")
    if direction is None:
        return (key if "optuna.metric_names" in study_run.tags else "value_0"), None
    return key, "min" if direction == "minimize" else "max"


def _describe_study(study_run: RunRecord, out: TextIO) -> None:
    counts = ", ".join(f"{int(value)} {name[len('trials_'):]}"
                       for name, value in sorted(study_run.metrics.items())
                       if name.startswith("trials_") and not math.isnan(value))
    out.write(f"study {study_run.tags[STUDY_TAG]}: run {study_run.run_id} in experiment "
              f"{study_run.experiment!r}" + (f", trials: {counts}" if counts else "") + "\n")


def _describe_model(reader: Any, best: RunRecord, experiments: list[str] | None,
                    out: TextIO) -> None:
    children = _search(reader, experiments, f"tags.`mlflow.parentRunId` = '{best.run_id}'",
                       ["attributes.start_time ASC"], None)
    holder = next((run for run in [best, *children] if reader.has_model(run.run_id)), None)
    shown = holder or (children[0] if children else None)
    if shown is not None and shown is not best:
        out.write(f"model run: {shown.name}  run {shown.run_id}\n")
    if holder is None:
        out.write("  no model was logged for it (models of trials and search candidates are "
                  "logged with autolog.autolog(log_models=\"all\"))\n")
        return
    uri = reader.model_uri(holder.run_id)
    code = f"import mlflow; model = mlflow.pyfunc.load_model({json.dumps(uri)})"
    command = f"python -c {shlex.quote(code)}"
    if uri.startswith("runs:/"):
        command = f"MLFLOW_TRACKING_URI={shlex.quote(reader.where)} {command}"
    out.write(f"reload its model:\n  {command}\n")


# -- compare ------------------------------------------------------------------------------------
def print_comparison(reader: Any, run_ids: list[str], out: TextIO) -> int:
    if len(run_ids) < 2:
        out.write("compare needs at least two runs: python -m autolog runs compare ID ID ...\n")
        return 2
    try:
        runs = [reader.run(run_id) for run_id in run_ids]
    except LookupError as error:
        out.write(f"{error}\n")
        return 1
    histories = [reader.metric_histories(run) for run in runs]
    style = Style(out)
    keys = sorted({key for run in runs for key in run.params})
    differing = [key for key in keys if len({run.params.get(key) for run in runs}) > 1]
    same = [key for key in keys if key not in differing]
    metric_keys = sorted({key for history in histories for key in history})
    labels = ["run id", "status", "duration", *differing, *metric_keys]
    label_width = min(max(len(label) for label in labels) + 4, 34)  # "  key" and a gap
    limit = width_limit(out)
    cells_width = max([len(run.name) for run in runs] + [12, 19])
    if limit is not None:
        cells_width = max(8, min(cells_width, (limit - label_width) // len(runs) - 2))

    def row(label: str, cells: list[str], paint: list[str | None] | None = None) -> None:
        texts = [cut(cell, cells_width).ljust(cells_width) for cell in cells]
        if paint:
            texts = [style.paint(text, colour) for text, colour in zip(texts, paint, strict=True)]
        out.write((cut(label, label_width - 1).ljust(label_width) + "  ".join(texts)).rstrip()
                  + "\n")

    row("", [run.name for run in runs], ["bold"] * len(runs))
    row("run id", [run.run_id[:12] for run in runs])
    row("status", [run.status for run in runs], [STATUS_COLOURS.get(run.status) for run in runs])
    row("duration", [duration(run.duration) for run in runs])
    out.write(f"params that differ ({len(differing)} of {len(keys)})\n")
    for key in differing:
        row(f"  {key}", [runs[i].params.get(key, "-") for i in range(len(runs))])
    if same:
        shared = ", ".join(f"{key}={runs[0].params[key]}" for key in same)
        out.write(cut(f"  the same in all: {shared}", limit) + "\n")
    out.write("metrics (last / best)\n")
    for key in metric_keys:
        mode = default_mode(key)
        summaries = [_last_and_best(history.get(key), mode) for history in histories]
        bests = [summary[1] for summary in summaries if summary is not None]
        winner = (min if mode == "min" else max)(bests) if bests else None
        cells, paint = [], []
        for summary in summaries:
            if summary is None:
                cells.append("-")
                paint.append(None)
                continue
            cells.append(f"{number(summary[0], 4)} / {number(summary[1], 4)}")
            paint.append("green" if summary[1] == winner and len(bests) > 1 else None)
        row(f"  {key}", cells, paint)
    return 0


def _last_and_best(history: list[tuple[int, float, int]] | None,
                   mode: str) -> tuple[float, float] | None:
    if not history:
        return None
    last = max(history, key=lambda point: (point[0], point[2]))[1]  # highest step, then latest
    finite = [value for _, value, _ in history if not math.isnan(value)]
    best = (min if mode == "min" else max)(finite) if finite else math.nan
    return last, best

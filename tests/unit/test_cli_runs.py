"""``python -m autolog runs``: find, sort, export, compare, and a study's best trial, on the
embedded store (the same commands against a real server: tests/integration/test_search.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import autolog
from autolog.__main__ import main
from autolog._cli_runs import list_runs
from autolog.search._api import build_query
from autolog.search._readers import open_reader
from tests import search_scenario as scenario

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "cli-runs"


@pytest.fixture
def recorded():
    scenario.record_runs(EXPERIMENT)
    autolog.flush()
    return {run.name: run for run in autolog.search_runs(EXPERIMENT)}


def _run(capsys, *argv):
    code = main(["runs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _first_cells(table: str) -> list[str]:
    return [line.split()[0] for line in table.splitlines()[1:]]


def test_the_tree_nests_trials_under_their_search(recorded, capsys):
    code, out, _ = _run(capsys, "--experiment", EXPERIMENT)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("7 run(s) in the embedded store at ")
    assert lines[2:4] == [f"experiment: {EXPERIMENT}", lines[3]]
    assert lines[3].startswith("search  [FINISHED, ")
    assert [line.split()[1] for line in lines[4:]] == [f"trial-{x}" for x in "abcdef"]
    assert lines[4].startswith("├─ trial-a  [FINISHED") and lines[-1].startswith("└─ trial-f")
    assert "value=0.95" in lines[4]


def test_filter_sort_and_limit_make_a_ranked_table(recorded, capsys):
    code, out, err = _run(capsys, "--filter", "params.C IS NOT NULL", "--sort", "metrics.value",
                          "--desc", "--limit", "3")
    assert code == 0
    assert out.splitlines()[0].split() == [  # what it is sorted and filtered by, then the rest
        "run", "run_id", "status", "metrics.value", "params.C", "params.model", "metrics.loss",
        "started", "duration"]
    assert _first_cells(out) == ["trial-a", "trial-c", "trial-b"]
    assert "3 run(s)" in err
    code, out, _ = _run(capsys, "--sort", "params.C")  # ascending, runs lacking it last
    assert _first_cells(out) == scenario.ORDERS["params.C ASC"]


def test_csv_and_json_exports(recorded, capsys):
    code, out, _ = _run(capsys, "--experiment", EXPERIMENT, "--format", "csv",
                        "--sort", "start_time")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["run_name"] for row in rows] == scenario.NAMES
    assert rows[1]["metrics.value"] == "0.95" and rows[1]["params.model"] == "rf"
    assert rows[4]["metrics.value"] == "nan" and rows[3]["status"] == "FAILED"
    assert rows[1]["parent_run_id"] == recorded["search"].run_id
    assert rows[1]["start_time"].endswith("Z") and "tags.team" in rows[0]

    code, out, _ = _run(capsys, "--format", "csv", "--columns", "run_name,metrics.value",
                        "--filter", "metrics.value > 0.85")
    assert out.splitlines() == ["run_name,metrics.value", "trial-c,0.9", "trial-a,0.95"]

    code, out, _ = _run(capsys, "--format", "json")
    runs = json.loads(out)
    assert [run["run_name"] for run in runs] == scenario.NEWEST_FIRST
    by_name = {run["run_name"]: run for run in runs}
    assert by_name["trial-d"]["metrics"] == {"value": "NaN"}
    assert by_name["trial-b"]["tags"]["team"] == "vision"
    code, out, _ = _run(capsys, "--format", "json", "--filter", "params.model = 'none'")
    assert json.loads(out) == []


def test_a_table_fits_the_terminal_width(recorded, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code, out, err = _run(capsys, "--sort", "metrics.value", "--desc")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 60
    assert "metrics.value" in out.splitlines()[0]
    assert "more column(s) did not fit" in err
    monkeypatch.setenv("COLUMNS", "30")  # the run, id and status columns shrink instead
    code, out, _ = _run(capsys, "--sort", "metrics.value", "--desc")
    assert max(len(line) for line in out.splitlines()) <= 30
    assert len(out.splitlines()) == 8
    monkeypatch.setenv("COLUMNS", "50")
    code, out, _ = _run(capsys, "--experiment", EXPERIMENT)
    assert max(len(line) for line in out.splitlines()) <= 50


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colours_only_on_a_terminal_and_never_with_no_color(recorded, capsys, monkeypatch):
    query = build_query(EXPERIMENT, None, ["metrics.value DESC"], None)
    terminal = _Terminal()
    reader = open_reader()
    try:
        list_runs(reader, query, "table", terminal)
        assert "\033[32mFINISHED" in terminal.getvalue()  # statuses in colour
        monkeypatch.setenv("NO_COLOR", "1")
        plain = _Terminal()
        list_runs(reader, query, "table", plain)
        assert "\033[" not in plain.getvalue() and "FINISHED" in plain.getvalue()
    finally:
        reader.close()
    monkeypatch.delenv("NO_COLOR")
    code, out, _ = _run(capsys, "--sort", "metrics.value")  # captured: not a terminal
    assert "\033[" not in out


def test_mistakes_are_short_messages_not_tracebacks(recorded, capsys):
    code, out, err = _run(capsys, "--filter", "metrics.value > 0.9 or params.C = '1'")
    assert code == 2
    assert err.splitlines()[1:] == ["  metrics.value > 0.9 or params.C = '1'", "  " + " " * 20 + "^"]
    code, out, err = _run(capsys, "show", "ffffffffffff")
    assert code == 1 and "no run 'ffffffffffff'" in out
    code, out, err = _run(capsys, "--columns", "value", "--sort", "metrics.value")
    assert code == 2 and "unknown column 'value'" in err
    code, out, err = _run(capsys, "--experiment", "nope")
    assert code == 0 and out.splitlines() == [
        "No runs in experiment 'nope' of the embedded store at " + os.environ["AUTOLOG_DIR"],
        f"Experiments there: {EXPERIMENT}"]
    code, out, err = _run(capsys, "compare", recorded["trial-a"].run_id)
    assert code == 2 and "at least two runs" in out


def test_show_accepts_an_id_prefix(recorded, capsys):
    run = recorded["trial-a"]
    code, out, _ = _run(capsys, "show", run.run_id[:8])
    assert code == 0
    assert out.splitlines()[0] == f"run trial-a  id={run.run_id}"
    assert "  model: rf" in out
    value_row = next(line for line in out.splitlines() if line.strip().startswith("value"))
    assert value_row.split() == ["value", "3", "0.5", "0.6", "0.5", "0.95"]


def test_compare_shows_differing_params_and_each_metrics_last_and_best(capsys):
    runs = []
    for name, lr, curve in (("slow", "0.01", [0.5, 0.7, 0.9, 0.8]), ("fast", "0.1", [0.6, 0.85])):
        with autolog.start_run(name, experiment=EXPERIMENT) as run:
            run.log_params({"lr": lr, "layers": "3"})
            for step, value in enumerate(curve):
                run.log_metrics({"val_acc": value, "val_loss": 1 - value}, step=step)
        runs.append(run)
    autolog.flush()
    code, out, _ = _run(capsys, "compare", runs[0].run_id[:10], runs[1].run_id)
    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert out.splitlines()[1].split() == ["run", "id", runs[0].run_id[:12], runs[1].run_id[:12]]
    assert out.splitlines()[0].split() == ["slow", "fast"]
    assert "params that differ (1 of 2)" in out and "the same in all: layers=3" in out
    assert rows["lr"] == ["0.01", "0.1"]
    assert rows["val_acc"] == ["0.8", "/", "0.9", "0.85", "/", "0.85"]  # last / best (max)
    assert rows["val_loss"] == ["0.2", "/", "0.1", "0.15", "/", "0.15"]  # a loss: best is min


def test_best_names_the_studys_best_trial_its_model_run_and_how_to_reload_it(capsys):
    optuna = pytest.importorskip("optuna")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    autolog.autolog(log_models="all", sklearn={"log_plots": False, "log_training_metrics": False})
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        c = trial.suggest_float("C", 1e-3, 1, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(features, labels).score(features, labels)

    study = optuna.create_study(study_name="iris", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=3))
    study.optimize(objective, n_trials=3)
    autolog.flush()
    ranked = sorted((t for t in study.trials if t.value is not None),
                    key=lambda t: (-t.value, t.number))
    code, out, _ = _run(capsys, "best")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("study iris: run ") and "trials: 3 complete" in lines[0]
    assert lines[1].startswith(f"best: trial-{study.best_trial.number}  value=")
    assert f"C={study.best_params['C']}" in lines[2]
    assert lines[3].startswith("runner-up: trial-")  # the second value (ties: the newest trial)
    assert f" value={ranked[1].value:.6g} " in lines[3]
    assert lines[4].startswith("model run: LogisticRegression  run ")
    model_run = lines[4].split()[-1]
    assert lines[5] == "reload its model:"
    model_dir = Path(os.environ["AUTOLOG_DIR"]) / "artifacts" / model_run / "model"
    assert lines[6] == ("  python -c 'import mlflow; model = mlflow.pyfunc.load_model("
                        f"\"{model_dir}\")'")
    assert (model_dir / "MLmodel").is_file()
    assert lines[7:] == ["compare the two:", "  python -m autolog runs compare "
                         f"{lines[1].split()[-1][:12]} {lines[3].split()[-1][:12]}"]
    code, out, _ = _run(capsys, "best", "--study", "no-such-study")
    assert code == 1 and out.startswith("No run of study 'no-such-study'")


def test_output_into_a_pipe_that_closes_early_ends_quietly(recorded):
    """``python -m autolog runs show ID | head``: no BrokenPipeError traceback, exit 0."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (["show", recorded["trial-a"].run_id], ["--format", "json"]):
        reader_gone = subprocess.Popen([sys.executable, "-m", "autolog", "runs", *argv],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        reader_gone.stdout.close()  # the reader stops before the first line arrives
        _, err = reader_gone.communicate(timeout=60)
        assert (reader_gone.returncode, err.decode()) == (0, "")


def test_best_agrees_with_optuna_on_ties_and_follows_the_studys_direction(capsys):
    optuna = pytest.importorskip("optuna")
    autolog.autolog()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tied = optuna.create_study(study_name="tied", direction="maximize")
    tied.optimize(lambda trial: 1.0 + 0 * trial.suggest_float("x", 0, 1), n_trials=3)
    falling = optuna.create_study(study_name="falling", direction="minimize")
    falling.optimize(lambda trial: [5.0, 1.0, 3.0][trial.number] + 0 * trial.suggest_int("n", 0, 1),
                     n_trials=3)
    autolog.flush()
    code, out, _ = _run(capsys, "best", "--study", "tied")
    assert code == 0 and out.splitlines()[1].startswith(f"best: trial-{tied.best_trial.number} ")
    assert out.splitlines()[3].startswith("runner-up: trial-") and "(+0)" in out.splitlines()[3]
    for argv in ([], ["--metric", "value"]):  # the study's objective keeps the study's direction
        code, out, _ = _run(capsys, "best", *argv)  # "falling" is the newest study
        assert out.splitlines()[1].startswith("best: trial-1  value=1 (min)"), argv
        assert out.splitlines()[3].startswith("runner-up: trial-2  value=3 (+2)")

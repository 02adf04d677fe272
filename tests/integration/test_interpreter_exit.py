"""A study that ends right before the interpreter exits: a clean exit, and nothing missing.

Python 3.12 and later refuse to start a thread once shutdown has begun, so anything autolog
starts a thread for on its exit path fails there ("can't create new thread at interpreter
shutdown"). The script runs in a real interpreter, the one running the suite; the matrix runs
it on every supported Python. Where Python itself does not refuse (before 3.12), the script
holds itself to the same rule from the moment exit handlers run, so the test means the same
on every version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autolog.backends.local_store import LocalStore
from integrations.optuna._plot import ARTIFACT as PNG_ARTIFACT
from integrations.optuna._plot_svg import ARTIFACT

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import atexit, sys, threading
    import optuna
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    import autolog

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    autolog.autolog(plot_format=PLOT_FORMAT)
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)

    def objective(trial):
        C = trial.suggest_float("C", 0.01, 10.0, log=True)
        return LogisticRegression(C=C).fit(X, y).score(X, y)

    study = optuna.create_study(study_name="ends-at-exit", direction="maximize")
    study.optimize(objective, n_trials=3)
    print("optimized", flush=True)

    if sys.version_info < (3, 12):  # Python 3.12's rule, from the first exit handler on
        def refuse(thread):
            raise RuntimeError("can't create new thread at interpreter shutdown")
        atexit.register(setattr, threading.Thread, "start", refuse)  # runs first: last in
    # no flush: the interpreter exits right after the study
""")


def _run_study(env: dict[str, str], plot_format: str = "svg") -> subprocess.CompletedProcess:
    """``plot_format="png"`` draws the plot with matplotlib on a thread of its own, which the
    exit path must wait for without starting one."""
    script = f"PLOT_FORMAT = {plot_format!r}\n" + SCRIPT
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "AUTOLOG_EXIT_TIMEOUT": "60"}
    full_env.pop("AUTOLOG_TESTING", None)  # as a user runs it
    return subprocess.run([sys.executable, "-c", script], env=full_env, capture_output=True,
                          text=True, timeout=180)


def _clean_exit(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout == "optimized\n"
    assert result.stderr == ""  # no "Exception ignored in atexit callback", no warning


@pytest.mark.parametrize(("plot_format", "artifact"), [("svg", ARTIFACT), ("png", PNG_ARTIFACT)])
def test_embedded_store_holds_every_run_and_the_plot(tmp_path, plot_format, artifact):
    result = _run_study({"AUTOLOG_DIR": str(tmp_path)}, plot_format)
    _clean_exit(result)

    store = LocalStore(tmp_path)
    runs = store.runs()
    [study] = [run for run in runs if run["parent_id"] is None]
    trials = [run for run in runs if run["parent_id"] == study["run_id"]]
    fits = [run for run in runs if run["parent_id"] in {t["run_id"] for t in trials}]
    assert study["name"] == "ends-at-exit"
    assert sorted(run["name"] for run in trials) == ["trial-0", "trial-1", "trial-2"]
    assert len(fits) == 3 and len(runs) == 7
    assert {run["status"] for run in runs} == {"FINISHED"}
    for trial in trials:
        data = store.run_data(trial["run_id"])
        assert "C" in data["params"] and len(data["metrics"]["value"]) == 1
    assert store.run_data(study["run_id"])["artifacts"] == [artifact]
    assert store.artifact_path(study["run_id"], artifact).stat().st_size > 1000


def test_tracking_server_receives_every_run_and_the_plot(mlflow_server, experiment_name,
                                                         tmp_path):
    result = _run_study({"AUTOLOG_DIR": str(tmp_path), "MLFLOW_TRACKING_URI": mlflow_server.uri,
                         "MLFLOW_EXPERIMENT_NAME": experiment_name})
    _clean_exit(result)

    reader = mlflow_server.reader
    experiment = reader.get_experiment_by_name(experiment_name)
    assert experiment is not None, "nothing reached the server"
    runs = reader.search_runs([experiment["experiment_id"]])
    parents = {}
    for run in runs:
        tags = {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}
        parents[run["info"]["run_id"]] = tags.get("mlflow.parentRunId")
    [study] = [run for run in runs if parents[run["info"]["run_id"]] is None]
    study_id = study["info"]["run_id"]
    trials = [run for run in runs if parents[run["info"]["run_id"]] == study_id]
    trial_ids = {run["info"]["run_id"] for run in trials}
    assert study["info"]["run_name"] == "ends-at-exit"
    assert sorted(run["info"]["run_name"] for run in trials) == ["trial-0", "trial-1", "trial-2"]
    assert sum(parent in trial_ids for parent in parents.values()) == 3 and len(runs) == 7
    assert {run["info"]["status"] for run in runs} == {"FINISHED"}
    for trial in trials:
        assert {p["key"] for p in trial["data"]["params"]} == {"C"}
        assert "value" in {m["key"] for m in trial["data"]["metrics"]}
    assert reader.list_artifacts(study_id) == [ARTIFACT]
    assert len(reader.download_artifact(study_id, ARTIFACT)) > 1000

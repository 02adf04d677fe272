"""Optuna against a real MLflow server: study → trial → model run trees, as the UI shows them.

Every test reads back through the server's REST API what a user would check in the MLflow UI:
run names, nesting (``mlflow.parentRunId``), statuses, params, metric histories, tags,
artifacts. Worker processes (distributed studies, resume) are real processes sharing an
Optuna storage on disk.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
import requests

import autolog
from autolog import _discovery
from autolog._autolog import autolog as enable_autolog
from autolog._patching import is_patched
from autolog._runs import shutdown
from integrations.optuna._claim import Claim, claim, claim_key, read_claim
from tests import svg

ROOT = Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.ERROR)


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_pipelines(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.1")
    yield
    shutdown(10)


def _enable(server: Any, experiment: str, *also: str, **optuna_options: Any) -> None:
    """Autolog Optuna (and ``also``) only, into ``experiment`` on the test server."""
    off = {name: False for name in _discovery.discover() if name not in ("optuna", *also)}
    enable_autolog(tracking_uri=server.uri, experiment=experiment,
                   optuna=optuna_options or True, **off)


def _delivered(timeout: float = 60) -> None:
    assert autolog.flush(timeout)  # the plots and study-run links included


class Tree:
    """The experiment's runs as the MLflow UI nests them."""

    def __init__(self, reader: Any, experiment: str) -> None:
        found = reader.get_experiment_by_name(experiment)
        assert found is not None, "nothing reached the server"
        self.reader = reader
        self.runs = []
        for run in reader.search_runs([found["experiment_id"]]):
            data = run.get("data", {})
            tags = {t["key"]: t["value"] for t in data.get("tags", [])}
            self.runs.append({
                "id": run["info"]["run_id"], "name": run["info"]["run_name"],
                "status": run["info"]["status"], "parent": tags.get("mlflow.parentRunId"),
                "tags": tags, "params": {p["key"]: p["value"] for p in data.get("params", [])},
                "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
            })

    def named(self, name: str) -> dict[str, Any]:
        matches = [run for run in self.runs if run["name"] == name]
        assert len(matches) == 1, f"{len(matches)} runs named {name!r}"
        return matches[0]

    def roots(self) -> list[dict[str, Any]]:
        return [run for run in self.runs if run["parent"] is None]

    def children(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        return [child for child in self.runs if child["parent"] == run["id"]]

    def trials(self, study_run: dict[str, Any]) -> dict[int, dict[str, Any]]:
        return {int(run["name"].removeprefix("trial-")): run for run in self.children(study_run)
                if run["name"].startswith("trial-")}

    def history(self, run: dict[str, Any], key: str) -> list[tuple[int, float]]:
        return sorted((int(p.get("step", 0)), float(p["value"]))
                      for p in self.reader.metric_history(run["id"], key))


# -- a single-objective study, pruning, failures ----------------------------------------
def _pruned_objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 10.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    trial.set_user_attr("kind_upper", kind.upper())
    if x == 7.0:
        raise RuntimeError("diverged")
    if x == 8.0:
        return math.nan  # Optuna fails the trial
    for step in range(4):
        trial.report((x - 2) ** 2 + 4 - step, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return (x - 2) ** 2


@pytest.mark.server_shapes("mlflow2", "postgres")
def test_study_and_trial_runs_with_pruning_and_failures(mlflow_server, experiment_name):
    _enable(mlflow_server, experiment_name)
    study = optuna.create_study(study_name="search", pruner=optuna.pruners.MedianPruner(
        n_startup_trials=2, n_warmup_steps=1))
    for x, kind in [(2.0, "a"), (3.0, "b"), (9.0, "a"), (7.0, "b"), (8.0, "a"), (2.5, "b")]:
        study.enqueue_trial({"x": x, "kind": kind})
    study.optimize(_pruned_objective, n_trials=6, catch=(RuntimeError,))
    _delivered()

    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("search")
    assert tree.roots() == [study_run] and study_run["status"] == "FINISHED"
    trials = tree.trials(study_run)
    assert sorted(trials) == [0, 1, 2, 3, 4, 5] and len(tree.runs) == 7
    states = {n: (run["status"], run["tags"]["optuna.state"]) for n, run in trials.items()}
    assert states == {0: ("FINISHED", "COMPLETE"), 1: ("FINISHED", "COMPLETE"),
                      2: ("KILLED", "PRUNED"), 3: ("FAILED", "FAIL"), 4: ("FAILED", "FAIL"),
                      5: ("FINISHED", "COMPLETE")}
    assert trials[2]["tags"]["pruned"] == "true" and "pruned" not in trials[0]["tags"]
    assert trials[3]["tags"]["error"] == "RuntimeError: diverged"
    assert "NaN" in trials[4]["tags"]["error"]

    first = trials[0]
    assert first["params"] == {"x": "2.0", "kind": "a"}
    assert first["tags"]["distribution.x"] == repr(optuna.distributions.FloatDistribution(0, 10))
    assert first["tags"]["user_attrs.kind_upper"] == "A"
    assert first["tags"]["optuna.enqueued"] == "true"
    assert first["tags"]["mlflow.autologging"] == "optuna"
    assert first["metrics"]["value"] == 0.0 and first["metrics"]["duration_s"] >= 0
    assert tree.history(first, "intermediate_value") == [(0, 4.0), (1, 3.0), (2, 2.0), (3, 1.0)]
    pruned = trials[2]  # pruned at step 1: Optuna's value is its last intermediate value
    assert tree.history(pruned, "intermediate_value") == [(0, 53.0), (1, 52.0)]

    params = study_run["params"]
    assert params["study_name"] == "search" and params["direction"] == "minimize"
    assert params["sampler"] == "TPESampler" and params["pruner"] == "MedianPruner"
    assert params["pruner.n_startup_trials"] == "2" and params["n_trials"] == "6"
    metrics = study_run["metrics"]
    assert metrics["best_value"] == study.best_value == 0.0 and metrics["best_trial"] == 0
    assert (metrics["trials_complete"], metrics["trials_pruned"], metrics["trials_fail"]) == (
        3, 1, 2)
    assert study_run["tags"]["best_x"] == "2.0" and study_run["tags"]["best_kind"] == "a"
    # live, as trials finished: best value by trial number
    assert tree.history(study_run, "best_value")[:2] == [(0, 0.0), (5, 0.0)]
    plot = svg.parse(mlflow_server.reader.download_artifact(study_run["id"],
                                                            "optimization_history.svg"))
    assert svg.title(plot) == "Optimization history: search"
    assert {"trial", "value", "best value"} <= set(svg.texts(plot))
    assert len(svg.elements(plot, "circle")) == 3 + 1  # the complete trials and the legend


def test_an_uncaught_failure_fails_trial_and_study_and_propagates(mlflow_server,
                                                                  experiment_name):
    _enable(mlflow_server, experiment_name, plot=False)
    error = ValueError("bad data")

    def objective(trial: optuna.Trial) -> float:
        trial.suggest_int("n", 0, 5)
        if trial.number == 1:
            raise error
        return 1.0

    study = optuna.create_study(study_name="failing")
    with pytest.raises(ValueError) as caught:
        study.optimize(objective, n_trials=5)
    assert caught.value is error
    _delivered()
    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("failing")
    assert study_run["status"] == "FAILED"
    assert {n: run["status"] for n, run in tree.trials(study_run).items()} == {
        0: "FINISHED", 1: "FAILED"}
    assert autolog.active_run() is None


# -- multi-objective -----------------------------------------------------------------------
def test_multi_objective_values_named_and_pareto_front(mlflow_server, experiment_name):
    _enable(mlflow_server, experiment_name)
    study = optuna.create_study(study_name="tradeoff", directions=["minimize", "maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["error", "speed"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=12)
    _delivered()
    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("tradeoff")
    trials = tree.trials(study_run)
    assert len(trials) == 12
    for number, run in trials.items():
        frozen = study.trials[number]
        assert run["metrics"]["error"] == frozen.values[0]
        assert run["metrics"]["speed"] == frozen.values[1]
    front = sorted(t.number for t in study.best_trials)
    assert study_run["tags"]["pareto_front_trials"] == ",".join(map(str, front))
    assert study_run["metrics"]["pareto_front_size"] == len(front)
    assert study_run["params"]["directions"] == "minimize,maximize"
    assert study_run["tags"]["optuna.metric_names"] == "error,speed"
    plot = svg.parse(mlflow_server.reader.download_artifact(study_run["id"],
                                                            "optimization_history.svg"))
    assert {"error", "speed", "Pareto front"} <= set(svg.texts(plot))


# -- threads -------------------------------------------------------------------------------
@pytest.mark.server_shapes("mlflow2", "postgres")
def test_n_jobs_4_every_model_run_lands_under_its_own_trial(mlflow_server, experiment_name):
    _enable(mlflow_server, experiment_name, plot=False)
    running, most_at_once, lock = [0], [0], threading.Lock()

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("c", 0.01, 10.0, log=True)
        with lock:
            running[0] += 1
            most_at_once[0] = max(most_at_once[0], running[0])
        trial_run = autolog.active_run()
        assert trial_run is not None and trial_run.name == f"trial-{trial.number}"
        with autolog.start_run("model") as model:  # what a model integration does
            model.log_params({"C": c, "trial": trial.number})
            time.sleep(0.05)
            model.log_metrics({"score": 1 / (1 + c)})
        with lock:
            running[0] -= 1
        return 1 / (1 + c)

    study = optuna.create_study(study_name="threads", direction="maximize")
    study.optimize(objective, n_trials=16, n_jobs=4)
    _delivered()
    assert most_at_once[0] > 1, "trials were serialized"

    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("threads")
    trials = tree.trials(study_run)
    assert sorted(trials) == list(range(16)) and len(tree.runs) == 1 + 16 + 16
    for number, trial_run in trials.items():
        (model,) = tree.children(trial_run)
        assert model["name"] == "model"
        assert model["params"] == {"C": trial_run["params"]["c"], "trial": str(number)}
    assert study_run["metrics"]["best_value"] == pytest.approx(study.best_value)


def _sklearn_integration_ready() -> bool:
    plugin = _discovery.discover().get("sklearn")
    return plugin is not None and plugin.integration is not None


@pytest.mark.parametrize("log_plots", [True, "all"])
def test_n_jobs_4_sklearn_fits_nest_under_their_trials(mlflow_server, experiment_name,
                                                       log_plots):
    if not _sklearn_integration_ready():
        pytest.fail("the sklearn integration does not load; this test needs it")
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    off = {name: False for name in _discovery.discover() if name not in ("optuna", "sklearn")}
    enable_autolog(tracking_uri=mlflow_server.uri, experiment=experiment_name,
                   optuna={"plot": False}, sklearn={"log_plots": log_plots}, **off)
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("C", 0.01, 10.0, log=True)
        return LogisticRegression(C=c, max_iter=200).fit(X, y).score(X, y)

    study = optuna.create_study(study_name="sk", direction="maximize")
    study.optimize(objective, n_trials=8, n_jobs=4)
    _delivered()
    tree = Tree(mlflow_server.reader, experiment_name)
    trials = tree.trials(tree.named("sk"))
    assert sorted(trials) == list(range(8))
    plotted = 0
    for trial_run in trials.values():
        (model,) = tree.children(trial_run)
        assert model["tags"]["mlflow.autologging"] == "sklearn"
        assert float(model["params"]["C"]) == float(trial_run["params"]["C"])
        assert 0.5 <= model["metrics"]["training_accuracy_score"] <= 1.0
        artifacts = mlflow_server.reader.list_artifacts(model["id"])
        # trial models: only with log_models="all"
        assert not mlflow_server.reader.runs_uri_listing(model["id"], "model")
        plotted += "training_confusion_matrix.svg" in artifacts
        if log_plots is True:  # a study's trial fits are many fits of one shape: no plots
            assert not [path for path in artifacts if path.startswith("training_")]
    assert plotted == (8 if log_plots == "all" else 0)  # "all": every fit, none skipped


# -- inside other frameworks, ask/tell, the user's run -----------------------------------
def test_pruning_callback_inside_an_autologged_fit(mlflow_server, experiment_name, fake_plugin):
    """``trial.report`` called by a framework callback, inside that framework's patched fit."""
    _enable(mlflow_server, experiment_name, fake_plugin, plot=False)
    from tests.fake_framework import fakeml

    def objective(trial: optuna.Trial) -> float:
        model = fakeml.Model(lr=trial.suggest_float("lr", 0.01, 0.1), epochs=5)
        model.fit([1.0, 2.0, 3.0], on_epoch=lambda epoch, loss: trial.report(loss, epoch))
        return model.loss_

    study = optuna.create_study(study_name="callback",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)
    _delivered()
    tree = Tree(mlflow_server.reader, experiment_name)
    for number, trial_run in tree.trials(tree.named("callback")).items():
        (model,) = tree.children(trial_run)
        assert model["name"] == "Model" and model["params"]["epochs"] == "5"
        reported = study.trials[number].intermediate_values
        assert tree.history(trial_run, "intermediate_value") == sorted(reported.items())


def test_ask_and_tell_loop_inside_the_users_run(mlflow_server, experiment_name):
    _enable(mlflow_server, experiment_name, plot=False)
    study = optuna.create_study(study_name="asktell")
    study.enqueue_trial({"x": 1.5})
    study.enqueue_trial({"x": 3.0})
    with autolog.start_run("my search", tracking_uri=mlflow_server.uri,
                           experiment=experiment_name) as mine:
        for number in range(4):
            trial = study.ask()
            x = trial.suggest_float("x", 0, 3)
            assert autolog.active_run().name == f"trial-{number}"
            with autolog.start_run("model") as model:
                model.log_params({"x": x})
            if number == 2:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            elif number == 3:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, (x - 1) ** 2)
            assert autolog.active_run() is mine
        assert mine.status == "RUNNING"
    _delivered()
    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("my search")  # the user's run is the study's run
    assert tree.roots() == [study_run] and study_run["params"]["study_name"] == "asktell"
    trials = tree.trials(study_run)
    assert {n: r["status"] for n, r in trials.items()} == {
        0: "FINISHED", 1: "FINISHED", 2: "KILLED", 3: "FAILED"}
    assert trials[0]["params"] == {"x": "1.5"} and trials[0]["tags"]["optuna.enqueued"] == "true"
    assert trials[0]["metrics"]["value"] == 0.25
    for trial_run in trials.values():
        (model,) = tree.children(trial_run)
        assert model["params"] == {"x": trial_run["params"]["x"]}
    assert study_run["metrics"]["best_value"] == 0.25


def test_options_switch_off_intermediate_values_and_the_plot(mlflow_server, experiment_name):
    _enable(mlflow_server, experiment_name, plot=False, intermediate_values=False)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        return x

    optuna.create_study(study_name="quiet").optimize(objective, n_trials=2)
    _delivered()
    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("quiet")
    for trial_run in tree.trials(study_run).values():
        assert "intermediate_value" not in trial_run["metrics"] and "value" in trial_run["metrics"]
    with pytest.raises(requests.HTTPError):
        mlflow_server.reader.download_artifact(study_run["id"], "optimization_history.svg")


def test_disable_restores_ask_and_tell(mlflow_server, experiment_name):
    originals = {name: vars(optuna.study.Study)[name] for name in ("optimize", "ask", "tell")}
    _enable(mlflow_server, experiment_name)
    assert all(is_patched(optuna.study.Study, name) for name in originals)
    enable_autolog(disable=True)
    assert {name: vars(optuna.study.Study)[name] for name in originals} == originals


# -- several processes -------------------------------------------------------------------
WORKER = """
import json, sys, time
import optuna
import autolog
from autolog import _discovery
from autolog._autolog import autolog as enable

optuna.logging.set_verbosity(optuna.logging.ERROR)
kind, location, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
enable(**{name: False for name in _discovery.discover() if name != "optuna"})
if kind == "journal":
    from optuna.storages.journal import JournalFileBackend
    storage = optuna.storages.JournalStorage(JournalFileBackend(location))
else:
    storage = location
study = optuna.create_study(study_name="shared", storage=storage, load_if_exists=True)

def objective(trial):
    x = trial.suggest_float("x", -5, 5)
    time.sleep(0.01)
    return (x - 1) ** 2

study.optimize(objective, n_trials=n_trials)
assert autolog.flush(60)
print(json.dumps({"best": study.best_value}))
"""


def _workers(kind: str, location: str, n_trials: int, envs: list[dict[str, str]]
             ) -> list[dict[str, Any]]:
    """One worker process per env, started at once; each optimizes the shared study."""
    base = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOLOG_TESTING": "1",
            "AUTOLOG_FLUSH_INTERVAL": "0.1"}
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, kind, location, str(n_trials)],
                                  env={**base, **env}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for env in envs]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _storage_location(kind: str, tmp_path: Path) -> str:
    if kind == "journal":
        return str(tmp_path / "study.log")
    return f"sqlite:///{tmp_path / 'study.db'}"


def _create_study(kind: str, location: str) -> None:
    """Like ``optuna create-study``: workers then load it (SQLite's schema cannot be created
    by three processes at once)."""
    optuna.create_study(study_name="shared", storage=_open_storage(kind, location))


def _open_study(kind: str, location: str) -> optuna.Study:
    return optuna.load_study(study_name="shared", storage=_open_storage(kind, location))


@pytest.mark.parametrize(("kind", "stores"), [
    ("rdb", "one store"), ("journal", "one store"),
    ("rdb", "a store each"),  # workers on different machines: nothing shared but the study
])
def test_three_worker_processes_share_one_study_run(mlflow_server, experiment_name, tmp_path,
                                                    kind, stores):
    location = _storage_location(kind, tmp_path)
    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri, "AUTOLOG_EXPERIMENT_NAME": experiment_name}
    envs = [{**env, "AUTOLOG_DIR": str(tmp_path / (f"autolog-{index}" if stores == "a store each"
                                                   else "autolog"))} for index in range(3)]
    _create_study(kind, location)
    _workers(kind, location, 4, envs)
    _check_one_study_run(mlflow_server, experiment_name, kind, location, trials=12)


def test_workers_on_separate_machines_share_a_study_in_postgresql(
        postgres_mlflow_server, postgres_database, experiment_name, tmp_path):
    """A sweep as teams run it: Optuna's RDB storage on PostgreSQL, an MLflow server with four
    workers on the same PostgreSQL, and worker processes sharing nothing else (a store each)."""
    env = {"MLFLOW_TRACKING_URI": postgres_mlflow_server.uri,
           "AUTOLOG_EXPERIMENT_NAME": experiment_name}
    envs = [{**env, "AUTOLOG_DIR": str(tmp_path / f"machine-{index}")} for index in range(4)]
    _create_study("rdb", postgres_database)
    _workers("rdb", postgres_database, 4, envs)
    _check_one_study_run(postgres_mlflow_server, experiment_name, "rdb", postgres_database,
                         trials=16)


def _check_one_study_run(server: Any, experiment_name: str, kind: str, location: str,
                         trials: int) -> None:
    """One study run holding every trial as a finished child, its summary up to date."""
    tree = Tree(server.reader, experiment_name)
    study_run = tree.named("shared")
    assert tree.roots() == [study_run]
    children = tree.trials(study_run)
    assert sorted(children) == list(range(trials)) and len(tree.runs) == trials + 1
    assert all(run["status"] == "FINISHED" for run in children.values())
    study = _open_study(kind, location)
    assert study_run["metrics"]["best_value"] == pytest.approx(study.best_value)
    assert study_run["params"]["study_name"] == "shared"
    assert study_run["metrics"]["trials_complete"] == trials, (  # every worker updates it
        server.reader.metric_history(study_run["id"], "trials_complete"))


def test_a_summary_read_early_but_logged_late_does_not_hide_a_fresher_one(
        mlflow_server, experiment_name, tmp_path, monkeypatch):
    """Two workers end their ``optimize`` together: A reads the study while trial 0 still runs
    on B; B finishes it, reads and logs the full count; then A, slowed by a busy machine,
    logs what it read. The study run must keep B's count: a summary is as recent as its read
    of the storage, not as its write."""
    _enable(mlflow_server, experiment_name, plot=False)
    location = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="shared", storage=location)
    worker_a = optuna.load_study(study_name="shared", storage=optuna.storages.RDBStorage(location))
    worker_b = optuna.load_study(study_name="shared", storage=optuna.storages.RDBStorage(location))
    running_on_b = worker_b.ask()  # trial 0

    def on_b(work: Any) -> None:  # B is another worker: its own thread
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    def objective(trial: optuna.Trial) -> float:  # trial 1, on A; B completes trial 2 meanwhile
        on_b(lambda: worker_b.optimize(lambda trial: 2.0, n_trials=1))
        trained.append(True)
        return (trial.suggest_float("x", 0, 1) - 1) ** 2

    read = optuna.Study.get_trials

    def a_reads_then_stalls(study: optuna.Study, *args: Any, **kwargs: Any) -> Any:
        trials = read(study, *args, **kwargs)
        if study is worker_a and trained and not stalled:  # A's summary: 1 and 2 complete
            stalled.append(True)

            def b_finishes() -> None:
                worker_b.tell(running_on_b, 1.0)
                worker_b.optimize(lambda trial: 2.0, n_trials=0)  # B's summary: all three

            on_b(b_finishes)
            time.sleep(0.01)  # A writes in a later millisecond than B
        return trials

    trained: list[bool] = []
    stalled: list[bool] = []
    monkeypatch.setattr(optuna.Study, "get_trials", a_reads_then_stalls)
    worker_a.optimize(objective, n_trials=1)
    assert stalled
    _delivered()

    study_run = Tree(mlflow_server.reader, experiment_name).named("shared")
    assert study_run["metrics"]["trials_complete"] == 3, (
        mlflow_server.reader.metric_history(study_run["id"], "trials_complete"))


def test_a_resumed_study_continues_under_the_same_run(mlflow_server, experiment_name,
                                                      tmp_path):
    location = _storage_location("rdb", tmp_path)
    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri, "AUTOLOG_EXPERIMENT_NAME": experiment_name,
           "AUTOLOG_DIR": str(tmp_path / "autolog")}
    _workers("rdb", location, 3, [env])
    _workers("rdb", location, 2, [env])  # later: the same study, from the same storage

    tree = Tree(mlflow_server.reader, experiment_name)
    study_run = tree.named("shared")
    assert tree.roots() == [study_run]
    assert sorted(tree.trials(study_run)) == [0, 1, 2, 3, 4]
    assert study_run["metrics"]["trials_complete"] == 5
    assert study_run["params"]["n_trials"] == "3"  # the first session's settings, no conflict


# -- agreeing on the study run --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rdb", "journal", "memory"])
def test_racing_claims_agree_on_one_run(tmp_path, kind):
    """Eight writers, each with its own storage connection, propose at once: one wins."""
    if kind == "memory":
        shared = optuna.storages.InMemoryStorage()
        shared.create_new_study([optuna.study.StudyDirection.MINIMIZE], "race")
        make = lambda: shared  # noqa: E731
    else:
        location = _storage_location(kind, tmp_path)
        _create_study(kind, location)
        make = lambda: _open_storage(kind, location)  # noqa: E731
    storages = [make() for _ in range(8)]
    study_id = storages[0].get_all_studies()[0]._study_id
    key = claim_key("shared", "http://server", "exp")
    start, winners = threading.Barrier(8), [None] * 8

    def propose(index: int) -> None:
        start.wait()
        proposal = Claim.propose(f"run{index}", "shared", "/store")
        winners[index] = claim(storages[index], study_id, key, proposal).run_id

    threads = [threading.Thread(target=propose, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(winners)) == 1 and winners[0] is not None
    assert read_claim(make(), study_id, key).run_id == winners[0]


def _open_storage(kind: str, location: str) -> Any:
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(location))
    return optuna.storages.get_storage(location)

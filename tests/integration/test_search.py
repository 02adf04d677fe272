"""Search against a real MLflow server: the same answers as the embedded store and as MLflow's
own ``mlflow.search_runs``, the same DataFrame columns, paging, and the CLI on a server."""

from __future__ import annotations

import io
import math
import os
import re

import pandas as pd
import pytest

import autolog
from autolog import __main__ as cli
from autolog.search import _rest
from tests import search_scenario as scenario


@pytest.fixture
def mlflow_client(mlflow_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import mlflow

    return mlflow


@pytest.fixture
def on_both(mlflow_server, experiment_name, tmp_path, monkeypatch):
    """The scenario's runs in an embedded store and on the server (spooled in another store).
    Returns (embedded store path, server URI)."""
    embedded = os.environ["AUTOLOG_DIR"]
    scenario.record_runs(experiment_name)
    assert autolog.flush(30)
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "spool"))
    scenario.record_runs(experiment_name, tracking_uri=mlflow_server.uri)
    assert autolog.flush(60)
    return embedded, mlflow_server.uri


def _names(experiment, where, **kwargs):
    return [run.name for run in autolog.search_runs(experiment, tracking_uri=where, **kwargs)]


def _ids(experiment, where):
    runs = {run.name: run.run_id for run in autolog.search_runs(experiment, tracking_uri=where)}
    return {"parent": runs["search"], "a": runs["trial-a"], "b": runs["trial-b"]}


def test_the_server_and_the_embedded_store_give_the_same_answers(on_both, experiment_name):
    wrong = {}
    for where in on_both:
        ids = _ids(experiment_name, where)
        for text, expected in scenario.FILTERS.items():
            text = text.format(**ids)
            if expected is None:
                with pytest.raises(ValueError):
                    autolog.search_runs(experiment_name, filter=text, tracking_uri=where)
            elif (found := _names(experiment_name, where, filter=text)) != expected:
                wrong[(where, text)] = found
        for text, expected in scenario.ORDERS.items():
            if (found := _names(experiment_name, where, order_by=text)) != expected:
                wrong[(where, text)] = found
    assert wrong == {}


def test_mlflow_reads_every_filter_string_as_autolog_does(on_both, experiment_name,
                                                          mlflow_client):
    """The filter strings, as written, given to MLflow's own search_runs on the same server."""
    _, uri = on_both
    ids = _ids(experiment_name, uri)
    wrong = {}
    for text, expected in scenario.FILTERS.items():
        text = text.format(**ids)
        if expected is None:
            with pytest.raises(mlflow_client.exceptions.MlflowException):
                mlflow_client.search_runs(experiment_names=[experiment_name], filter_string=text)
            continue
        frame = mlflow_client.search_runs(experiment_names=[experiment_name], filter_string=text)
        names = frame["tags.mlflow.runName"].tolist() if len(frame) else []
        if names != _names(experiment_name, uri, filter=text):
            wrong[text] = names
    assert wrong == {}


def test_the_dataframe_matches_mlflow_search_runs(on_both, experiment_name, mlflow_client):
    embedded, uri = on_both
    theirs = mlflow_client.search_runs(experiment_names=[experiment_name],
                                       order_by=["attributes.start_time ASC"])
    ours = autolog.search_runs(experiment_name, order_by="start_time", tracking_uri=uri,
                               output_format="pandas")
    assert sorted(ours.columns) == sorted(theirs.columns)
    assert list(ours.columns[:6]) == list(theirs.columns[:6])
    ours = ours[list(theirs.columns)]
    assert ours.dtypes.to_dict() == theirs.dtypes.to_dict()
    pd.testing.assert_frame_equal(ours, theirs)

    local = autolog.search_runs(experiment_name, order_by="start_time", tracking_uri=embedded,
                                output_format="pandas")
    server_only = {"tags.autolog.clientRunId"}  # the server's runs name autolog's own id
    assert set(local.columns) == set(theirs.columns) - server_only
    shared = [column for column in theirs.columns if column not in server_only]
    assert local[shared].dtypes.to_dict() == theirs[shared].dtypes.to_dict()
    for column in ("status", "metrics.value", "metrics.loss", "params.model", "params.C",
                   "tags.team", "tags.mlflow.runName"):
        assert local[column].equals(theirs[column]), column


def test_large_results_come_in_pages_and_stop_at_max_results(on_both, experiment_name,
                                                              monkeypatch):
    _, uri = on_both
    sizes = []
    send = _rest._send

    def counting(client, method, path, **kwargs):
        if path == "runs/search":
            sizes.append(kwargs["body"]["max_results"])
        return send(client, method, path, **kwargs)

    monkeypatch.setattr(_rest, "PAGE_SIZE", 2)
    monkeypatch.setattr(_rest, "_send", counting)
    assert _names(experiment_name, uri) == scenario.NEWEST_FIRST
    assert sizes == [2, 2, 2, 2]
    sizes.clear()
    assert _names(experiment_name, uri, order_by="metrics.value DESC", max_results=3) == \
        scenario.ORDERS["metrics.value DESC"][:3]
    assert sizes == [2, 1]


class _Recorder(io.StringIO):
    def __init__(self, events):
        super().__init__()
        self.events = events

    def write(self, text):
        self.events.append("output")
        return super().write(text)


def test_the_cli_streams_a_large_table_as_pages_arrive(on_both, experiment_name, monkeypatch):
    _, uri = on_both
    events = []
    send = _rest._send

    def recording(client, method, path, **kwargs):
        if path == "runs/search":
            events.append("page")
        return send(client, method, path, **kwargs)

    monkeypatch.setattr(_rest, "PAGE_SIZE", 2)
    monkeypatch.setattr(_rest, "_send", recording)
    for fmt in ("table", "json"):
        events.clear()
        out = _Recorder(events)
        monkeypatch.setattr("sys.stdout", out)
        assert cli.main(["runs", "--tracking-uri", uri, "--experiment", experiment_name,
                         "--format", fmt, "--sort", "start_time"]) == 0
        assert events.count("page") == 4
        last_page = len(events) - 1 - events[::-1].index("page")
        assert "output" in events[:last_page], fmt  # rows went out before the last page came
        assert all(name in out.getvalue() for name in scenario.NAMES)


def test_the_cli_says_the_same_on_both(on_both, experiment_name, capsys):
    tables, trees, comparisons = [], [], []
    for where in on_both:
        argv = ["runs", "--tracking-uri", where, "--experiment", experiment_name]
        assert cli.main([*argv, "--format", "csv", "--sort", "metrics.value", "--columns",
                         "run_name,status,metrics.value,metrics.loss,params.model,tags.team"]) == 0
        tables.append(capsys.readouterr().out)
        assert cli.main([*argv, "--filter", "params.C IS NOT NULL"]) == 0
        lines = capsys.readouterr().out.splitlines()[1:]  # then: name [status, duration] id …
        trees.append([re.sub(r"(\[\w+), .*", r"\1]", line) for line in lines])
        ids = _ids(experiment_name, where)
        assert cli.main(["runs", "compare", "--tracking-uri", where, ids["a"], ids["b"]]) == 0
        compared = capsys.readouterr().out.replace(ids["a"][:12], "A").replace(ids["b"][:12], "B")
        comparisons.append([line for line in compared.splitlines()
                            if not line.startswith("duration")])  # timing differs, of course
    assert tables[0] == tables[1]
    assert "trial-a,FINISHED,0.95,0.3,rf," in tables[0]
    assert comparisons[0] == comparisons[1]
    assert "0.95 / 0.95" in next(line for line in comparisons[0] if line.startswith("  value"))
    assert trees[0] == trees[1]
    assert trees[0][2:6] == ["trial-a  [FINISHED]", "trial-b  [FINISHED]", "trial-c  [FAILED]",
                             "trial-d  [KILLED]"]


def test_best_on_a_server_gives_a_model_mlflow_loads(mlflow_server, experiment_name,
                                                      mlflow_client, monkeypatch, capsys):
    optuna = pytest.importorskip("optuna")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    autolog.autolog(log_models="all", experiment=experiment_name, tracking_uri=mlflow_server.uri,
                    sklearn={"log_plots": False, "log_training_metrics": False})
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        c = trial.suggest_float("C", 1e-3, 1, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(features, labels).score(features, labels)

    study = optuna.create_study(study_name=f"iris-{experiment_name}", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=3))
    study.optimize(objective, n_trials=3)
    assert autolog.flush(120)
    assert cli.main(["runs", "best", "--tracking-uri", mlflow_server.uri, "--experiment",
                     experiment_name]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(f"best: trial-{study.best_trial.number}  value=")
    assert lines[4].startswith("model run: LogisticRegression  run ")
    model_uri = f"runs:/{lines[4].split()[-1]}/model"
    assert lines[6] == (f"  MLFLOW_TRACKING_URI={mlflow_server.uri} python -c 'import mlflow; "
                        f"model = mlflow.pyfunc.load_model(\"{model_uri}\")'")
    model = mlflow_client.pyfunc.load_model(model_uri)
    assert math.isclose((model.predict(features) == labels).mean(), study.best_value)


def test_a_search_sees_what_this_process_just_logged_to_the_server(mlflow_server,
                                                                  experiment_name):
    with autolog.start_run("just-now", experiment=experiment_name,
                           tracking_uri=mlflow_server.uri) as run:
        run.log_metrics({"value": 0.5})
    (found,) = autolog.search_runs(experiment_name, tracking_uri=mlflow_server.uri)
    assert (found.name, found.status, found.metrics) == ("just-now", "FINISHED", {"value": 0.5})
    assert found.tags["autolog.clientRunId"] == run.run_id

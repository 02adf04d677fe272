"""Every kind of awkward input a user logs: recorded (converted) or warned about once, never an
exception into training and never a request the real server refuses."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

import autolog
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from autolog.backends.mlflow_rest import MlflowRestBackend


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


@pytest.mark.server_shapes("mlflow2", "postgres")
def test_awkward_input_lands_on_the_server(mlflow_server, experiment_name, tmp_path,
                                           monkeypatch):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    future = int(time.time() * 1000) + 86_400_000
    long_a, long_b = "m" * 300 + "_a", "m" * 300 + "_b"
    try:
        with pytest.warns(autolog.AutologWarning):
            with autolog.start_run(run_name="awkward", tracking_uri=mlflow_server.uri,
                                   experiment=experiment_name) as run:
                run.log_metrics({
                    "nan": math.nan, "inf": math.inf, "ninf": -math.inf,
                    "np": np.float16(1.5), "zero_d": np.array(2.0), "torch": torch.tensor(3.0),
                    "flag": True, "none": None, "text": "x", 42: 4.0, "ключ/µ": 5.0,
                    "a@b": 6.0, "a//b": 7.0, "trailing/": 8.0, long_a: 9.0, long_b: 10.0,
                })
                run.log_metric("negative_step", 1.0, step=-5)
                run.log_metric("float_step", 1.0, step=3.0)
                run.log_metric("future", 1.0, timestamp=future)
                run.log_params({"big": "v" * 100_000, "naïve": "café ☕", "obj": Unprintable(),
                                "dup": 1})
                run.log_params({"dup": 2})
                run.log_params({f"p{i}": i for i in range(10_000)})
        assert autolog.flush(120)
    finally:
        shutdown(10)

    reader = mlflow_server.reader
    remote_id = run.remote_id()
    remote = reader.get_run(remote_id)
    assert remote["info"]["status"] == "FINISHED"
    metric_keys = {m["key"] for m in remote["data"]["metrics"]}
    assert {"nan", "inf", "ninf", "np", "zero_d", "torch", "flag", "42", "ключ/µ",
            "a_at_b", "a/b", "trailing", "negative_step", "float_step", "future"} <= metric_keys
    assert "none" not in metric_keys and "text" not in metric_keys
    long_keys = [k for k in metric_keys if k.startswith("mmm")]
    assert len(long_keys) == 2 and all(len(k) <= 250 for k in long_keys)
    assert reader.metric_history(remote_id, "negative_step")[0]["step"] == -5
    assert reader.metric_history(remote_id, "future")[0]["timestamp"] == future
    params = reader.params(remote_id)
    assert len(params) == 10_003  # p0..p9999, big, naïve, dup; "obj" was warned about
    assert len(params["big"]) == 6000 and params["naïve"] == "café ☕" and params["dup"] == "1"
    assert not LocalStore(tmp_path).connect().execute("SELECT COUNT(*) FROM rejected").fetchone()[0]


def test_a_param_the_server_already_holds_differently_costs_only_that_param(
        mlflow_server, experiment_name, tmp_path, monkeypatch):
    """The server refuses a whole batch for one conflicting param: that param is set aside with
    one warning, and the params, metrics and tags that travelled with it still land."""
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    other_client = MlflowRestBackend(mlflow_server.uri)
    try:
        with pytest.warns(autolog.AutologWarning, match="lr"):
            with autolog.start_run(run_name="resumed", tracking_uri=mlflow_server.uri,
                                   experiment=experiment_name) as run:
                remote_id = run.remote_id(30)
                assert other_client.log_batch(remote_id, params=[("lr", "0.1")]).ok
                run.log_params({"lr": 0.2, "layers": 3})
                for step in range(50):
                    run.log_metrics({"loss": 1 / (step + 1)}, step=step)
                run.set_tags({"team": "churn"})
            assert autolog.flush(60)
    finally:
        other_client.close()
        shutdown(10)

    reader = mlflow_server.reader
    assert reader.params(remote_id) == {"lr": "0.1", "layers": "3"}
    assert [point["step"] for point in reader.metric_history(remote_id, "loss")] == list(range(50))
    assert reader.get_run(remote_id)["data"]["tags"]
    tags = {tag["key"]: tag["value"] for tag in reader.get_run(remote_id)["data"]["tags"]}
    assert tags["team"] == "churn"
    rejected = LocalStore(tmp_path).connect().execute(
        "SELECT kind, key FROM rejected").fetchall()
    assert [tuple(row) for row in rejected] == [("params", "lr")]

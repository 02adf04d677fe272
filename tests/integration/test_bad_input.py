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


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


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

"""XGBoost models are copied on the training thread and serialized later on the writer thread:
the bytes must be exactly what serializing the model at the end of training gives, whatever
the user does to the model afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import autolog
from autolog._runs import get_pipeline, shutdown
from autolog.models import log_model
from autolog.models._flavors import freeze

LIMIT = 100 * 1024 * 1024


@pytest.fixture(autouse=True)
def _fresh_pipelines(monkeypatch):
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    yield
    shutdown(5)


def _data(rows: int = 200):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(rows, 5))
    return features, (features[:, 0] + rng.normal(size=rows) > 0).astype(int)


def _frame_with_categories(features):
    frame = pd.DataFrame(features, columns=list("abcde"))
    frame["kind"] = pd.Categorical(np.arange(len(frame)) % 4)
    return frame


def _trained(case: str):
    features, labels = _data()
    params = {"objective": "binary:logistic", "eta": 0.3}
    kwargs = {}
    if case == "early_stopping":
        train = xgb.DMatrix(features[:150], labels[:150], feature_names=list("abcde"))
        valid = xgb.DMatrix(features[150:], labels[150:], feature_names=list("abcde"))
        kwargs = {"evals": [(valid, "valid")], "early_stopping_rounds": 3,
                  "verbose_eval": False}
        return xgb.train(params, train, 100, **kwargs)
    if case == "multiclass":
        params = {"objective": "multi:softprob", "num_class": 3}
        labels = np.arange(len(labels)) % 3
    if case == "random_forest":
        params.update(num_parallel_tree=4, subsample=0.8)
    if case == "dart":
        params.update(booster="dart", rate_drop=0.2)
    if case == "linear":
        params["booster"] = "gblinear"
    data = (xgb.DMatrix(_frame_with_categories(features), labels, enable_categorical=True)
            if case == "categorical" else xgb.DMatrix(features, labels))
    return xgb.train(params, data, 15)


CASES = ["early_stopping", "multiclass", "random_forest", "dart", "linear", "categorical"]


@pytest.mark.parametrize("case", CASES)
def test_the_logged_bytes_are_the_models_bytes(case):
    booster = _trained(case)
    booster.set_attr(team="churn")
    expected = bytes(booster.save_raw(raw_format="ubj"))
    frozen = freeze(booster, "xgboost", pickle_module=False, limit_bytes=LIMIT)
    frozen.complete()
    assert frozen.files == {"model.ubj": expected}
    if case == "early_stopping":
        assert booster.best_iteration < booster.num_boosted_rounds() - 1  # the attrs matter


def test_training_on_after_logging_does_not_change_the_logged_model():
    features, labels = _data()
    data = xgb.DMatrix(features, labels)
    booster = xgb.train({"objective": "binary:logistic"}, data, 10)
    expected = bytes(booster.save_raw(raw_format="ubj"))
    frozen = freeze(booster, "xgboost", pickle_module=False, limit_bytes=LIMIT)
    assert frozen.owed is not None and frozen.size is None  # copied now, serialized later
    for round_number in range(10, 20):
        booster.update(data, round_number)
    frozen.complete()
    assert frozen.files["model.ubj"] == expected
    assert frozen.size == len(expected)


def test_a_booster_over_the_size_cap_is_skipped_with_one_warning_on_the_writer_thread():
    booster = _trained("random_forest")
    with autolog.start_run("xgb") as run:
        info = log_model(run, booster, flavor="xgboost", max_model_mb=0.001)
        with pytest.warns(autolog.AutologWarning, match="max_model_mb=0.001"):
            assert autolog.flush(10)
    assert info is not None and info.size_bytes is None
    assert get_pipeline().store.run_data(run.run_id)["artifacts"] == []


def test_a_booster_under_the_cap_is_stored_with_its_bytes():
    booster = _trained("multiclass")
    with autolog.start_run("xgb") as run:
        log_model(run, booster, flavor="xgboost")
    assert autolog.flush(10)
    store = get_pipeline().store
    assert "model/MLmodel" in store.run_data(run.run_id)["artifacts"]
    stored = store.artifact_path(run.run_id, "model/model.ubj").read_bytes()
    assert stored == bytes(booster.save_raw(raw_format="ubj"))

"""Plots of XGBoost and Optuna on the embedded store: SVG by default, every training's, and
matplotlib PNGs when ``plot_format="png"`` asks for them."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import optuna
import pytest
import xgboost as xgb

import autolog
from autolog import _discovery
from autolog.backends.local_store import LocalStore
from tests import svg

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _enable(*names: str, **options: Any) -> None:
    off = {name: False for name in _discovery.discover() if name not in names}
    autolog.autolog(**off, log_models=False, **options)


def _artifacts() -> dict[str, dict[str, bytes]]:
    """Run name → artifact path → bytes, for every run in the store."""
    assert autolog.flush(60)  # the PNG plot, drawn on its own thread, included
    store = LocalStore(os.environ["AUTOLOG_DIR"])
    found: dict[str, dict[str, bytes]] = {}
    for run in store.runs():
        paths = store.run_data(run["run_id"])["artifacts"]
        found[run["run_id"]] = {path: store.artifact_path(run["run_id"], path).read_bytes()
                                for path in paths}
    return found


def _dtrain(rows: int = 60) -> xgb.DMatrix:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(rows, 4))
    return xgb.DMatrix(features, (features[:, 0] > 0).astype(float),
                       feature_names=["a>b", "R&D", "naïve 'x'", '"y"'])


def test_every_xgboost_train_of_a_loop_gets_its_importance_svg() -> None:
    _enable("xgboost")
    dtrain = _dtrain()
    for _ in range(10):
        xgb.train({"objective": "binary:logistic", "nthread": 1}, dtrain, 3)
    runs = _artifacts()
    assert len(runs) == 10
    for artifacts in runs.values():
        assert sorted(artifacts) == ["feature_importance.json", "feature_importance.svg"]
    plot = svg.parse(next(iter(runs.values()))["feature_importance.svg"])
    assert "a>b" in svg.texts(plot)  # the one feature the labels depend on, read back as named


@pytest.mark.parametrize("setting", [True, False])
def test_xgboost_importance_png_on_request(setting: bool) -> None:
    _enable("xgboost", plot_format="png", xgboost={"log_importance_plot": setting})
    xgb.train({"objective": "binary:logistic", "nthread": 1}, _dtrain(), 3)
    (artifacts,) = _artifacts().values()
    assert ("feature_importance.png" in artifacts) is setting
    assert "feature_importance.svg" not in artifacts
    if setting:
        assert artifacts["feature_importance.png"].startswith(b"\x89PNG")


@pytest.mark.parametrize("plot_format", ["svg", "png"])
def test_optuna_history_in_either_format(plot_format: str) -> None:
    _enable("optuna", optuna={"plot_format": plot_format})
    study = optuna.create_study(study_name="fmt")
    study.optimize(lambda trial: (trial.suggest_float("x", -3, 3) - 1) ** 2, n_trials=5)
    plots = [artifacts for artifacts in _artifacts().values() if artifacts]
    assert [sorted(artifacts) for artifacts in plots] == [[f"optimization_history.{plot_format}"]]
    data = plots[0][f"optimization_history.{plot_format}"]
    if plot_format == "png":
        assert data.startswith(b"\x89PNG")
    else:
        root = svg.parse(data)
        assert svg.title(root) == "Optimization history: fmt"
        assert len(svg.elements(root, "circle")) <= 5 + 1

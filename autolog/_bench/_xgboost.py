"""XGBoost: ``xgboost.train``, 300 rounds, one eval set, one thread (steadier timings)."""

from __future__ import annotations

from autolog._bench._destination import Destination
from autolog._bench._harness import Variant, Workload
from autolog._bench._sizes import Sizes
from autolog._bench._variants import autolog_variant, bare, mlflow_autolog_variant

IMPORTANCE = ["weight", "gain"]


def workloads(destination: Destination, sizes: Sizes, with_mlflow: bool) -> list[Workload]:
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(0)
    features = rng.normal(size=(1000, 10))
    labels = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(size=1000) > 0).astype(float)
    train = xgb.DMatrix(features[:800], labels[:800])
    valid = xgb.DMatrix(features[800:], labels[800:])
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.05,
              "eval_metric": "logloss", "nthread": 1}

    def run(units: int, _variant: Variant) -> None:
        for _ in range(units):
            xgb.train(params, train, sizes.xgb_rounds, evals=[(valid, "valid")],
                      verbose_eval=False)

    variants = [bare(), autolog_variant(
        destination, "xgboost.train", {"xgboost": {"log_models": False,
                                                   "importance_types": IMPORTANCE}},
        "params, valid-logloss every round, dataset tags, feature importance (weight, gain) as "
        "JSON and one plot rendered off the training thread; no model")]
    if with_mlflow:
        variants.append(mlflow_autolog_variant(
            destination, "xgboost.train", "xgboost",
            {"log_models": False, "importance_types": IMPORTANCE},
            "params, valid-logloss every round, feature importance (weight, gain) as JSON and "
            "plots, dataset input; no model (log_models=False)"))
    return [Workload("xgboost.train", "xgboost", f"xgboost.train, {sizes.xgb_rounds} rounds, "
                     "800x10, one eval set, nthread=1", 1, "training", run, variants)]

"""XGBoost: ``xgboost.train`` with one eval set, one thread (steadier timings)."""

from __future__ import annotations

from collections.abc import Callable

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Hooks, Workload


def _train(sizes: Sizes) -> Callable[[Hooks], None]:
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(0)
    features = rng.normal(size=(1000, 10))
    labels = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(size=1000) > 0).astype(float)
    train = xgb.DMatrix(features[:800], labels[:800])
    valid = xgb.DMatrix(features[800:], labels[800:])
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.05,
              "eval_metric": "logloss", "nthread": 1}

    def call(hooks: Hooks) -> None:
        with hooks.xgboost_train():
            xgb.train(params, train, sizes.xgb_rounds, evals=[(valid, "valid")],
                      verbose_eval=False, callbacks=hooks.xgboost_callbacks() or None)

    return call


WORKLOADS = [
    Workload("xgboost.train", ("peers",),
             lambda s: f"xgboost.train, {s.xgb_rounds} rounds, 800x10, one eval set, nthread=1",
             ("xgboost",), _train, ("xgboost",)),
]

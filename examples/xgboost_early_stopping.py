"""XGBoost with early stopping, recorded by autolog: per-round metrics, the best round, the
feature importance, the dataset's fingerprint. Embedded store by default; set
MLFLOW_TRACKING_URI to send the run to an MLflow server instead.

    python examples/xgboost_early_stopping.py
"""

import subprocess
import sys

import numpy as np

import autolog

autolog.autolog(xgboost={"log_every_n_iterations": 5})  # first, last and best rounds always

import xgboost as xgb  # noqa: E402  (importing after autolog is fine, and so is before)

rng = np.random.default_rng(0)
X = rng.normal(size=(2000, 8))
y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] + rng.normal(size=2000) > 0).astype(int)
dtrain = xgb.DMatrix(X[:1500], y[:1500], feature_names=[f"x{i}" for i in range(8)])
dvalid = xgb.DMatrix(X[1500:], y[1500:], feature_names=[f"x{i}" for i in range(8)])

booster = xgb.train(
    {"objective": "binary:logistic", "eta": 0.3, "max_depth": 4, "eval_metric": ["logloss", "auc"]},
    dtrain,
    num_boost_round=500,
    evals=[(dtrain, "train"), (dvalid, "valid")],
    early_stopping_rounds=10,  # watches valid-auc: the last metric of the last eval set
    verbose_eval=False,
)
print(f"stopped after {booster.num_boosted_rounds()} rounds; best round {booster.best_iteration} "
      f"(valid-auc {booster.best_score:.4f})")

# The scikit-learn API gives one run too: params, eval_set metrics per round, training metrics.
model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.3, early_stopping_rounds=10)
model.fit(X[:1500], y[:1500], eval_set=[(X[1500:], y[1500:])], verbose=False)

autolog.flush()
print("Recorded runs (python -m autolog runs):")
subprocess.run([sys.executable, "-m", "autolog", "runs"], check=True)

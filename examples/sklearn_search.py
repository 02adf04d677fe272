"""scikit-learn under autolog: a fit, a pipeline search, a cross-validation. No code changes.

    python examples/sklearn_search.py                                  # embedded store
    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python examples/sklearn_search.py

Records (see them with ``python -m autolog runs``, or in the MLflow UI):

- ``LogisticRegression``: params, training metrics, dataset tags, confusion matrix / ROC / PR;
- ``GridSearchCV(Pipeline)``: search params, ``best_*`` params, ``best_score``, the full
  ``cv_results.csv``, and its 5 best candidates as child runs named after their params, each
  with mean/std test scores and the per-fold scores as steps;
- ``cross_val_score(RandomForestClassifier)``: the 5 fold scores as steps, plus mean and std.
"""

import subprocess
import sys

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale

import autolog

autolog.autolog()  # before or after the scikit-learn imports: both work

X, y = load_breast_cancer(return_X_y=True)

LogisticRegression(C=0.5, max_iter=1000).fit(scale(X), y)

pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
grid = {"logisticregression__C": [0.01, 0.1, 1.0, 10.0],
        "logisticregression__class_weight": [None, "balanced"]}
search = GridSearchCV(pipeline, grid, cv=3, scoring="roc_auc").fit(X, y)
print(f"best params {search.best_params_}, best cv roc_auc {search.best_score_:.4f}")

scores = cross_val_score(RandomForestClassifier(n_estimators=50, random_state=0), X, y)
print(f"random forest accuracy per fold: {scores.round(3)}")

autolog.flush()  # everything is delivered (and the plots rendered) once this returns

print("\nRecorded runs (python -m autolog runs):")
subprocess.run([sys.executable, "-m", "autolog", "runs"], check=True)

"""A hyperparameter search with Optuna, every scikit-learn model logged under its trial.

    python examples/optuna_sklearn_search.py

No server needed: runs go to the embedded store (./autolog-runs, or AUTOLOG_DIR). The study is
one run, each trial a child run (params, value, state, intermediate scores), and each model
fitted inside a trial a child of that trial: study → trial → model, also with ``n_jobs=2``.
"""

import subprocess
import sys

import autolog

autolog.autolog()  # before or after importing optuna and scikit-learn

import optuna  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

X, y = load_breast_cancer(return_X_y=True)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.25, random_state=0)


def objective(trial: optuna.Trial) -> float:
    kind = trial.suggest_categorical("model", ["logistic_regression", "random_forest"])
    if kind == "logistic_regression":
        c = trial.suggest_float("C", 1e-3, 1e2, log=True)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
        model.fit(X_train, y_train)
        return model.score(X_valid, y_valid)
    # A forest grown in stages: each stage's score is reported, so the pruner can stop a
    # hopeless trial early (and the trial's run shows the curve).
    forest = RandomForestClassifier(max_depth=trial.suggest_int("max_depth", 2, 12),
                                    warm_start=True, random_state=0)
    for stage, n_trees in enumerate((10, 20, 40)):
        forest.set_params(n_estimators=n_trees)
        forest.fit(X_train, y_train)
        trial.report(forest.score(X_valid, y_valid), stage)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return forest.score(X_valid, y_valid)


optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name="breast-cancer-search", direction="maximize",
                            sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(objective, n_trials=12, n_jobs=2)
print(f"Best accuracy {study.best_value:.4f} with {study.best_params}")
autolog.flush()

print("\nRecorded runs (python -m autolog runs):")
subprocess.run([sys.executable, "-m", "autolog", "runs"], check=True)
print("\nSend the same runs to an MLflow tracking server instead:")
print("  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python examples/optuna_sklearn_search.py")

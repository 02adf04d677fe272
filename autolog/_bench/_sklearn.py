"""scikit-learn: ``LogisticRegression.fit`` on 500×20, and a grid search over it."""

from __future__ import annotations

from typing import Any

from autolog._bench._destination import Destination
from autolog._bench._harness import Variant, Workload
from autolog._bench._sizes import Sizes
from autolog._bench._variants import autolog_variant, bare, mlflow_autolog_variant

FEATURES = 20
AUTOLOG_LOGS = ("params, training metrics (accuracy, precision, recall, f1, log loss, ROC AUC, "
                "score), dataset shape and fingerprint tags, {plots}; no model")
MLFLOW_LOGS = ("params, the same training metrics, estimator tags, dataset input, {plots}; "
               "no model (log_models=False)")


def make_data(rows: int = 500) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(rows, FEATURES, n_informative=5, random_state=0)


def workloads(destination: Destination, sizes: Sizes, with_mlflow: bool) -> list[Workload]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = make_data()
    grid = {"C": [0.01, 0.1, 1.0][: sizes.grid],
            "class_weight": [None, "balanced", {0: 1, 1: 3}][: sizes.grid]}
    candidates = sizes.grid * sizes.grid

    def fit(units: int, _variant: Variant) -> None:
        for _ in range(units):
            LogisticRegression().fit(X, y)

    def search(units: int, _variant: Variant) -> None:
        for _ in range(units):
            GridSearchCV(LogisticRegression(), grid, cv=sizes.cv).fit(X, y)

    options = {"sklearn": {"log_models": False}}
    fit_variants = [
        bare(samples=sizes.fits),
        autolog_variant(destination, "sklearn.fit", options,
                        AUTOLOG_LOGS.format(plots="3 plots rendered off the training thread"),
                        samples=sizes.fits),
    ]
    search_logs = (f"a parent run (best params, best CV score, cv_results CSV) and child runs "
                   f"for the best {min(5, candidates)} of {candidates} candidates (params, CV "
                   "metrics); the refit best estimator's training metrics and plots; no model")
    search_variants = [bare(), autolog_variant(destination, "sklearn.search", options,
                                               search_logs)]
    if with_mlflow:
        fit_variants.append(mlflow_autolog_variant(
            destination, "sklearn.fit", "sklearn", {"log_models": False},
            MLFLOW_LOGS.format(plots="3 plots"), samples=sizes.mlflow_fits))
        search_variants.append(mlflow_autolog_variant(
            destination, "sklearn.search", "sklearn", {"log_models": False},
            f"the same: parent (best params, cv_results CSV) and child runs for the best "
            f"{min(5, candidates)} candidates (max_tuning_runs=5), training metrics and plots "
            "of the best estimator; no model (log_models=False)"))
    return [
        Workload("sklearn.fit", "sklearn", f"LogisticRegression().fit, {len(X)}x{FEATURES}",
                 1, "fit", fit, fit_variants,
                 note=f"{sizes.fits} fits per repetition ({sizes.mlflow_fits} with MLflow), each "
                 "settled before the next, so every fit gets its plots"),
        Workload("sklearn.search", "sklearn", f"GridSearchCV(LogisticRegression(), "
                 f"{sizes.grid}x{sizes.grid} grid, cv={sizes.cv}), {len(X)}x{FEATURES}",
                 sizes.searches, "search", search, search_variants),
    ]

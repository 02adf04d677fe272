"""How big each workload is: the full benchmark, ``--quick`` and ``--tiny``.

``quick`` takes about 45 s on a 2-core machine with little else to do (MLflow's first import,
store set-up and first autologged call take ~10 s of it; each warm-up call a few more).

``tiny`` exists for the test suite's smoke test: every workload and variant runs, the numbers
mean nothing. MLflow's clients get fewer units where one unit costs them ~0.3-0.5 s (their
times are scaled up to the nominal size, and the output says so).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    repeats: int
    warm_up: bool
    fits: int  # single LogisticRegression fits per repetition
    mlflow_fits: int
    searches: int  # GridSearchCV fits per timed call (the time reported is per search)
    grid: int  # a grid x grid search of LogisticRegression
    cv: int
    xgb_rounds: int
    pl_epochs: int
    pl_steps: int
    trivial_trials: int
    mlflow_trivial_trials: int
    fit_trials: int
    mlflow_fit_trials: int
    points: int  # metric points, one call each
    runs: int  # runs the points are spread over
    mlflow_async_points: int
    mlflow_batch_points: int


SIZES = {
    "full": Sizes(repeats=5, warm_up=True, fits=20, mlflow_fits=3, searches=1, grid=3, cv=3,
                  xgb_rounds=300, pl_epochs=20, pl_steps=50,
                  trivial_trials=200, mlflow_trivial_trials=20, fit_trials=20, mlflow_fit_trials=5,
                  points=100_000, runs=10, mlflow_async_points=2_000,
                  mlflow_batch_points=100_000),
    "quick": Sizes(repeats=3, warm_up=True, fits=3, mlflow_fits=1, searches=1, grid=3, cv=3,
                   xgb_rounds=300, pl_epochs=3, pl_steps=50,
                   trivial_trials=100, mlflow_trivial_trials=3, fit_trials=5, mlflow_fit_trials=1,
                   points=10_000, runs=10, mlflow_async_points=100, mlflow_batch_points=10_000),
    "tiny": Sizes(repeats=1, warm_up=False, fits=1, mlflow_fits=1, searches=1, grid=1, cv=2,
                  xgb_rounds=5, pl_epochs=1, pl_steps=2,
                  trivial_trials=2, mlflow_trivial_trials=1, fit_trials=2, mlflow_fit_trials=1,
                  points=100, runs=1, mlflow_async_points=50, mlflow_batch_points=100),
}

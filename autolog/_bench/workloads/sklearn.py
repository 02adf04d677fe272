"""scikit-learn: LogisticRegression fits back to back, grid searches, the two together."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Hooks, Workload

ROWS, FEATURES = 500, 20


def make_data(rows: int = ROWS) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(rows, FEATURES, n_informative=5, random_state=0)


def _grid(values: int) -> dict[str, list[Any]]:
    return {"C": [0.01, 0.1, 1.0][:values],
            "class_weight": [None, "balanced", {0: 1, 1: 3}][:values]}


def _fits(sizes: Sizes) -> Callable[[Hooks], dict[str, float]]:
    from sklearn.linear_model import LogisticRegression

    X, y = make_data()

    def call(hooks: Hooks) -> dict[str, float]:
        times = []
        for _ in range(sizes.fits):
            start = time.perf_counter()
            hooks.sklearn_fit(LogisticRegression(), X, y)
            times.append(time.perf_counter() - start)
        return {"median_fit": statistics.median(times)}

    return call


def _search(sizes: Sizes) -> Callable[[Hooks], None]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = make_data()

    def call(hooks: Hooks) -> None:
        hooks.sklearn_fit(GridSearchCV(LogisticRegression(), _grid(sizes.grid), cv=sizes.cv),
                          X, y)

    return call


def _script(sizes: Sizes) -> Callable[[Hooks], dict[str, float]]:
    """The loop a user writes: fits back to back, then searches (3 candidates each); the
    first search's own time shows what the fits' deferred work costs the next call."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = make_data()
    grid = {"C": [0.01, 0.1, 1.0][: sizes.grid]}

    def call(hooks: Hooks) -> dict[str, float]:
        times, searches = [], []
        for _ in range(sizes.fits):
            start = time.perf_counter()
            hooks.sklearn_fit(LogisticRegression(), X, y)
            times.append(time.perf_counter() - start)
        for _ in range(sizes.searches):
            start = time.perf_counter()
            hooks.sklearn_fit(GridSearchCV(LogisticRegression(), grid, cv=sizes.cv), X, y)
            searches.append(time.perf_counter() - start)
        return {"median_fit": statistics.median(times), "search_after_fits": searches[0]}

    return call


WORKLOADS = [
    Workload("sklearn.script", ("headline",),
             lambda s: f"{s.fits} LogisticRegression fits + {s.searches} GridSearchCV "
                       f"({s.grid} candidates, cv={s.cv}), {ROWS}x{FEATURES}, back to back",
             ("sklearn",), _script, ("sklearn",), models=True, tools=("bare", "autolog", "mlflow"),
             note="each tool with its defaults, as a new user runs it",
             smoke_skip={"mlflow": "its model logging takes seconds per model"}),
    Workload("sklearn.plots", ("headline",),
             lambda s: f"{s.fits} LogisticRegression fits with plots, {ROWS}x{FEATURES}, "
                       "embedded store, back to back",
             ("sklearn",), _fits, ("sklearn",), tools=("bare", "autolog"), local_only=True,
             note="models off; every fit asks for its 3 plots"),
    Workload("sklearn.fits", ("peers",),
             lambda s: f"{s.fits} LogisticRegression().fit, {ROWS}x{FEATURES}, back to back",
             ("sklearn",), _fits, ("sklearn",)),
    Workload("sklearn.search", ("peers",),
             lambda s: f"GridSearchCV(LogisticRegression(), {s.grid}x{s.grid} grid, "
                       f"cv={s.cv}), {ROWS}x{FEATURES}",
             ("sklearn",), _search, ("sklearn",)),
]

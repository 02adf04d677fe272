"""The logging APIs themselves, no training: metric points one call each, and model logging.

``logging.points``: metric points over several runs, one logging call per point (autolog's
``run.log_metrics``; MLflow's ``log_metric(synchronous=False)``, and, as its manual row,
hand-rolled ``MlflowClient.log_batch`` of 1,000). The call is the logging loop on the caller's
thread; "until finished" is until every point is stored or delivered.

``logging.models``: a fitted LogisticRegression (500x20) logged as an MLflow model with an
input example, ``autolog.models.log_model`` against ``mlflow.sklearn.log_model``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from autolog._bench._sizes import Sizes
from autolog._bench._workload import Hooks, Workload


def _points(sizes: Sizes) -> Callable[[Hooks], None]:
    runs = max(1, min(sizes.runs, sizes.points))

    def call(hooks: Hooks) -> None:
        for index in range(runs):
            hooks.log_run(index, sizes.points // runs)

    return call


def _loop(sizes: Sizes) -> Callable[[Hooks], None]:
    import numpy as np

    weights = np.random.default_rng(0).normal(size=(64, 64))
    steps = sizes.points // 5

    def call(hooks: Hooks) -> None:
        current = weights
        with hooks.metrics_run() as log:
            for step in range(steps):
                current = np.tanh(current @ current.T * 0.01)
                loss = float(current[0, 0])
                log({"loss": loss, "acc": 1 - loss, "lr": 0.01, "grad": loss * 2,
                     "epoch": step // 100}, step)

    return call


def _models(sizes: Sizes) -> Callable[[Hooks], dict[str, float]]:
    from sklearn.linear_model import LogisticRegression

    from autolog._bench.workloads.sklearn import make_data

    X, y = make_data()
    model = LogisticRegression().fit(X, y)

    def call(hooks: Hooks) -> dict[str, float]:
        times = []
        for index in range(sizes.model_calls):
            start = time.perf_counter()
            hooks.log_model(model, X, index)
            times.append(time.perf_counter() - start)
        return {"median_log_model": statistics.median(times)}

    return call


WORKLOADS = [
    Workload("logging.points", ("detail",),
             lambda s: f"{s.points:,} metric points over {max(1, min(s.runs, s.points))} "
                       "run(s), one logging call per point",
             (), _points, ("logging",), tools=("autolog", "mlflow"), outage=True,
             tool_sizes={"mlflow": {"points": 2000}},
             note="MLflow's async log_metric is slow per point: it runs at most 2,000 points"),
    Workload("logging.loop", ("detail",),
             lambda s: f"a training loop, {s.points // 5:,} steps of a 64x64 numpy product, 5 "
                       "metrics a step",
             ("numpy",), _loop, ("logging",), tools=("bare", "autolog"), outage=True,
             note="server down: an address nothing listens on; autolog keeps the records "
                  "for later delivery"),
    Workload("logging.models", ("detail",),
             lambda s: f"{s.model_calls} x log a LogisticRegression (500x20) as an MLflow "
                       "model with an input example",
             ("sklearn", "cloudpickle"), _models, ("models",), models=True,
             tools=("autolog", "mlflow"),
             smoke_skip={"mlflow": "mlflow.sklearn.log_model takes seconds per model"}),
]

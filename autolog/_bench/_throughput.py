"""Throughput: 100,000 metric points over 10 runs, logged one call per point.

No training here, so no bare variant: the times are the logging itself. autolog's call is the
loop of ``run.log_metrics`` (appends) and settling is ``flush()`` until every point is stored.
MLflow is measured with its per-point API in async mode (``log_metric(..., synchronous=False)``;
``end_run`` waits for the queue) and with hand-rolled ``MlflowClient.log_batch`` of 1,000
points, the fastest way its client offers. Async MLflow stores ~100 points a second, so it runs
on a slice of the points (fewer runs, or one shorter run) and its time is scaled up.
"""

from __future__ import annotations

import time

from autolog._bench._destination import Destination
from autolog._bench._harness import Variant, Workload
from autolog._bench._report import plural
from autolog._bench._sizes import Sizes
from autolog._bench._variants import flush_autolog, hide_uri_variables, restore_uri_variables


def workloads(destination: Destination, sizes: Sizes, with_mlflow: bool) -> list[Workload]:
    runs = min(sizes.runs, sizes.points)
    logged = f"1 metric, one point per step, {sizes.points // runs:,} points per run"
    experiments = {name: destination.experiment("throughput", name)
                   for name in ("autolog", "mlflow", "mlflow-batch")}

    def run(units: int, variant: Variant) -> None:
        variant_runs = max(1, round(runs * units / sizes.points))
        LOOPS[variant.name](units // variant_runs, variant_runs, experiments[variant.name])

    def autolog_loop(per_run: int, count: int, experiment: str) -> None:
        import autolog

        for index in range(count):
            with autolog.start_run(run_name=f"throughput-{index}", experiment=experiment,
                                   tracking_uri=destination.autolog_uri) as active:
                for step in range(per_run):
                    active.log_metrics({"loss": 1.0 / (step + 1)}, step=step)

    def mlflow_async_loop(per_run: int, count: int, _experiment: str) -> None:
        import mlflow

        for _ in range(count):
            with mlflow.start_run():
                for step in range(per_run):
                    mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)

    def mlflow_batch_loop(per_run: int, count: int, experiment: str) -> None:
        import mlflow
        from mlflow.entities import Metric

        client = mlflow.MlflowClient(destination.mlflow_uri)
        experiment_id = client.get_experiment_by_name(experiment).experiment_id
        for _ in range(count):
            run_id = client.create_run(experiment_id).info.run_id
            now = int(time.time() * 1000)
            batch = []
            for step in range(per_run):
                batch.append(Metric("loss", 1.0 / (step + 1), now, step))
                if len(batch) == 1000:
                    client.log_batch(run_id, metrics=batch)
                    batch = []
            if batch:
                client.log_batch(run_id, metrics=batch)
            client.set_terminated(run_id)

    LOOPS = {"autolog": autolog_loop, "mlflow": mlflow_async_loop,
             "mlflow-batch": mlflow_batch_loop}
    variants = [Variant("autolog", f"run.log_metrics per point; {logged}",
                        on=hide_uri_variables, off=restore_uri_variables, settle=flush_autolog,
                        census=lambda: destination.census_autolog(experiments["autolog"]))]
    if with_mlflow:
        import mlflow

        def use(name: str) -> None:
            destination.use_mlflow_experiment(experiments[name])

        variants += [
            Variant("mlflow", f"mlflow.log_metric(synchronous=False) per point; {logged}",
                    on=lambda: use("mlflow"), units=sizes.mlflow_async_points,
                    settle=mlflow.flush_async_logging,
                    census=lambda: destination.census_mlflow(experiments["mlflow"])),
            Variant("mlflow-batch", f"MlflowClient.log_batch of 1,000, hand-rolled; {logged}",
                    on=lambda: use("mlflow-batch"), units=sizes.mlflow_batch_points,
                    census=lambda: destination.census_mlflow(experiments["mlflow-batch"])),
        ]
    return [Workload("throughput", "throughput", f"{sizes.points:,} metric points over "
                     f"{plural(runs, 'run')}, one logging call per point", sizes.points, "point",
                     run, variants, note="no training: 'call' is the logging loop on the caller's thread")]

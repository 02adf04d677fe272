"""The overhead benchmark: ``python -m autolog bench`` (also ``benchmarks/run.py``).

For each installed framework it times a training call bare, under ``autolog.autolog()`` and,
when mlflow is installed, under MLflow's own autologging (optuna-integration's
``MLflowCallback`` for Optuna), all in one process, interleaved, with medians and min/max, and
says what each variant logged so the comparison is like for like:

- ``_harness``: warm-up, interleaving, repetitions, medians (:func:`measure`);
- ``_destination``: where both tools log (local stores, or one MLflow server) and counting what
  they logged there;
- ``_sklearn``, ``_xgboost``, ``_lightning``, ``_optuna``, ``_throughput``: the workloads;
- ``_report``: the table, Markdown, the plot and JSON; ``_cli``: the command line.
"""

from autolog._bench._cli import add_arguments, main, run

__all__ = ["add_arguments", "main", "run"]

"""Reading runs back: ``autolog.search_runs`` and the types it returns.

    runs = autolog.search_runs(filter="metrics.accuracy > 0.9", order_by="metrics.accuracy DESC")
    best = runs[0]; best.params, best.metrics["accuracy"]
    runs.to_pandas()          # mlflow.search_runs's columns: run_id, metrics.accuracy, params.C …

The same filter string works on the embedded store and on an MLflow tracking server.
"""

from __future__ import annotations

from autolog.search._api import search_runs
from autolog.search._filter import FilterError
from autolog.search._records import RunRecord, Runs

__all__ = ["FilterError", "RunRecord", "Runs", "search_runs"]

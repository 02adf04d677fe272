"""What a search returns: light, read-only run records, and a list of them that becomes a DataFrame.

A record carries what a comparison needs (identity, status, times, params, tags and each
metric's latest value, as MLflow defines it: highest step, then latest timestamp) and nothing
that costs a round trip (metric histories, artifacts). ``Runs.to_pandas()`` gives the columns
``mlflow.search_runs`` gives, with the same names and types, so code written for it ports over.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunRecord:
    """One run as a search found it. Times are milliseconds since the epoch (UTC).

    On the embedded store ``run_id`` is autolog's own id and ``experiment_id`` the experiment's
    name; on a tracking server both are the server's.
    """

    run_id: str
    name: str
    experiment: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None = None
    parent_id: str | None = None
    artifact_uri: str = ""
    user: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; None while the run has not ended."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000

    def get(self, column: str, default: Any = None) -> Any:
        """A value by its ``mlflow.search_runs`` column name: ``"metrics.accuracy"``,
        ``"params.C"``, ``"tags.mlflow.user"``, ``"status"``, ``"run_id"``..."""
        group, _, key = column.partition(".")
        if key and group in ("metrics", "params", "tags"):
            return getattr(self, group).get(key, default)
        if column in _ATTRIBUTE_COLUMNS:
            return getattr(self, _ATTRIBUTE_COLUMNS[column])
        return default

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (NaN and infinities as MLflow's REST API writes them)."""
        return {
            "run_id": self.run_id, "run_name": self.name, "experiment": self.experiment,
            "experiment_id": self.experiment_id, "parent_run_id": self.parent_id,
            "status": self.status, "start_time": self.start_time, "end_time": self.end_time,
            "artifact_uri": self.artifact_uri, "user": self.user,
            "params": dict(self.params), "tags": dict(self.tags),
            "metrics": {key: json_number(value) for key, value in self.metrics.items()},
        }


_ATTRIBUTE_COLUMNS = {
    "run_id": "run_id", "run_name": "name", "name": "name", "experiment": "experiment",
    "experiment_id": "experiment_id", "status": "status", "start_time": "start_time",
    "end_time": "end_time", "artifact_uri": "artifact_uri", "parent_run_id": "parent_id",
    "user_id": "user", "duration": "duration",
}


def json_number(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class Runs(list):  # list[RunRecord]; a subclass so it prints, slices and compares as a list
    """The runs a search returned, in its order."""

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` with ``mlflow.search_runs``'s columns: ``run_id``,
        ``experiment_id``, ``status``, ``artifact_uri``, ``start_time``, ``end_time`` (UTC
        timestamps), then ``metrics.<key>`` (NaN where a run lacks it), ``params.<key>`` and
        ``tags.<key>`` (None where missing). Needs pandas."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("Runs.to_pandas() needs pandas: pip install pandas") from error
        return pd.DataFrame(frame_columns(self, pd.to_datetime))


def frame_columns(runs: list[RunRecord], to_datetime: Any) -> dict[str, list[Any]]:
    """Column name -> values, built the way ``mlflow.search_runs`` builds them, so pandas infers
    the same types (a column of ``None`` stays ``object``; missing metrics are NaN)."""
    columns: dict[str, list[Any]] = {
        "run_id": [run.run_id for run in runs],
        "experiment_id": [run.experiment_id for run in runs],
        "status": [run.status for run in runs],
        "artifact_uri": [run.artifact_uri for run in runs],
        "start_time": [to_datetime(run.start_time, unit="ms", utc=True) for run in runs],
        "end_time": [to_datetime(run.end_time, unit="ms", utc=True) for run in runs],
    }
    for group, missing in (("metrics", math.nan), ("params", None), ("tags", None)):
        keys = sorted({key for run in runs for key in getattr(run, group)})
        for key in keys:
            columns[f"{group}.{key}"] = [getattr(run, group).get(key, missing) for run in runs]
    return columns

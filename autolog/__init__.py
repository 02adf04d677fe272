"""autolog: automatic, lightweight experiment tracking for scikit-learn, XGBoost, Lightning
and Optuna, shipped to an MLflow tracking server or an embedded local store.

    import autolog
    autolog.autolog()
"""

from __future__ import annotations

from autolog._autolog import autolog
from autolog._runs import (
    Run,
    active_run,
    end_run,
    flush,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tag,
    set_tags,
    start_run,
)
from autolog._version import __version__
from autolog._warnings import AutologWarning

__all__ = [
    "AutologWarning",
    "Run",
    "__version__",
    "active_run",
    "autolog",
    "end_run",
    "flush",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "start_run",
]

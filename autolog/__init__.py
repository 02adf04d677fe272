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
    "log_model",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "register_best",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]


def __getattr__(name: str) -> object:
    # Model logging pulls in more modules than tracking needs: load it on first use only.
    if name in ("log_model", "register_best"):
        from autolog import models

        return getattr(models, name)
    if name == "search_runs":  # reading runs back loads its own modules on first use
        from autolog.search import search_runs

        return search_runs
    raise AttributeError(f"module 'autolog' has no attribute {name!r}")

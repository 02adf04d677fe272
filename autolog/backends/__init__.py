"""Backends: where records end up. ``backend_for_uri`` picks one from a tracking URI.

Built in: ``http(s)://`` → an MLflow tracking server; ``file://`` or a path → an embedded store
in that directory. Third parties register a factory ``(uri) -> Backend`` under the entry-point
group ``autolog.backends`` with the URI scheme as the entry-point name.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from autolog.backends.base import Backend, Limits, Metric, Result, RunSpec
from autolog.backends.local_store import LocalStore

__all__ = ["Backend", "Limits", "LocalStore", "Metric", "Result", "RunSpec", "backend_for_uri"]

BACKEND_GROUP = "autolog.backends"


def limits_from_env(limits: Limits) -> Limits:
    """A server or proxy with lower limits than MLflow's: ``AUTOLOG_MAX_REQUEST_BYTES``,
    ``AUTOLOG_MAX_BATCH_METRICS``, ``AUTOLOG_MAX_BATCH_PARAMS``, ``AUTOLOG_MAX_BATCH_TAGS``
    lower what one request may carry (never raise it above the server's own limits)."""
    from dataclasses import replace

    from autolog._config import env_int

    return replace(
        limits,
        max_request_bytes=min(limits.max_request_bytes,
                              env_int("AUTOLOG_MAX_REQUEST_BYTES", limits.max_request_bytes, minimum=512)),
        max_metrics=min(limits.max_metrics, env_int("AUTOLOG_MAX_BATCH_METRICS", limits.max_metrics)),
        max_params=min(limits.max_params, env_int("AUTOLOG_MAX_BATCH_PARAMS", limits.max_params)),
        max_tags=min(limits.max_tags, env_int("AUTOLOG_MAX_BATCH_TAGS", limits.max_tags)),
    )


def backend_for_uri(uri: str) -> Backend:
    scheme = urlparse(uri).scheme.lower()
    if scheme in ("http", "https"):
        from autolog._config import env_float
        from autolog.backends.mlflow_rest import MlflowRestBackend

        return MlflowRestBackend(uri, timeout=env_float("AUTOLOG_HTTP_TIMEOUT", 30.0, minimum=0.1),
                                 limits=limits_from_env(Limits()))
    if scheme == "memory":
        from autolog.backends.memory import named

        return named(urlparse(uri).netloc)
    if scheme == "file":
        return LocalStore(Path(urlparse(uri).path))
    if scheme == "" or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):  # a plain path
        return LocalStore(Path(uri))
    from autolog._metadata import entry_points

    for entry in entry_points(BACKEND_GROUP):
        if entry.name == scheme:
            return entry.load()(uri)
    raise ValueError(
        f"tracking_uri: no backend for scheme {scheme!r} (built in: http, https, file; "
        f"others register under the entry-point group {BACKEND_GROUP!r})"
    )

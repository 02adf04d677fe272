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


def backend_for_uri(uri: str) -> Backend:
    scheme = urlparse(uri).scheme.lower()
    if scheme in ("http", "https"):
        from autolog._config import env_float
        from autolog.backends.mlflow_rest import MlflowRestBackend

        return MlflowRestBackend(uri, timeout=env_float("AUTOLOG_HTTP_TIMEOUT", 30.0, minimum=0.1))
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

"""An MLflow tracking server reached over its REST API, with urllib3 and nothing of MLflow.

The backend is its parts, each a module with one job: the tracking API (experiments, runs,
batches, artifacts: ``_mlflow_tracking``), MLflow 3's logged models (``_mlflow_models``) and the
model registry (``_mlflow_registry``), all over one :class:`~autolog.backends._transport.HttpTransport`
(credentials, TLS, timeouts, scrubbing, classification of answers). Each method makes exactly
one HTTP attempt and turns the outcome into a :class:`~autolog.backends.base.Result`; the
sender owns retries, pacing and ordering. Safe to use from several threads at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from autolog.backends import _multipart
from autolog.backends._mlflow_models import LoggedModelsApi
from autolog.backends._mlflow_registry import RegistryApi
from autolog.backends._mlflow_tracking import TrackingApi
from autolog.backends._transport import HttpTransport
from autolog.backends.base import Limits, ModelBackend


class MlflowRestBackend(TrackingApi, LoggedModelsApi, RegistryApi, ModelBackend):
    """The :class:`~autolog.backends.base.ModelBackend` for ``http(s)://`` MLflow servers."""

    #: Several requests may be in flight at once (the sender's window; one transport pool).
    thread_safe = True

    def __init__(
        self,
        tracking_uri: str,
        *,
        timeout: float = 30.0,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.transport = HttpTransport(tracking_uri, timeout=timeout, env=env)
        self.base_url = self.transport.base_url
        self.limits = limits or Limits()
        self._artifact_uris: dict[str, str] = {}
        self.multipart_min_bytes = _multipart.min_bytes(env)
        self.multipart_supported: bool | None = None
        self.logged_models_supported: bool | None = None

    def __repr__(self) -> str:
        return f"MlflowRestBackend({self.base_url!r})"

    def close(self) -> None:
        self.transport.close()

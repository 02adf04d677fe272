"""The contract every tracking backend implements.

The sender talks to backends only through this protocol, so the MLflow REST client, the
embedded SQLite store, the in-memory test backend and third-party backends (entry-point group
``autolog.backends``) are interchangeable. Backends never raise for expected failures: they
return a :class:`Result` saying whether to retry, when, or to give up on that request.

A backend that also keeps models (MLflow 3's logged models and a model registry) declares it
by implementing :class:`ModelBackend` as well; model delivery and ``register_best`` check that
one protocol, never single methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Limits:
    """What one ``log_batch`` request may hold; the shipper never builds a bigger one."""

    max_metrics: int = 1000
    max_params: int = 100
    max_tags: int = 100
    max_entities: int = 1000
    max_request_bytes: int = 1_000_000
    max_key_length: int = 250
    max_param_value_length: int = 6000
    max_tag_value_length: int = 8000


@dataclass(frozen=True)
class Result:
    """Outcome of one backend call.

    ``retryable`` failures (connection errors, timeouts, 408/429/5xx) keep the data pending;
    ``retry_after`` (seconds) is the server's own pacing hint. A non-retryable failure means the
    request as built can never succeed (e.g. HTTP 400); ``too_large`` asks for smaller requests.
    ``ambiguous`` marks failures where the server may have applied the request anyway (a lost
    response), which matters for run creation.
    """

    ok: bool
    value: Any = None
    error: str = ""
    retryable: bool = False
    retry_after: float | None = None
    too_large: bool = False
    ambiguous: bool = False
    status_code: int | None = None

    @classmethod
    def success(cls, value: Any = None) -> Result:
        return cls(ok=True, value=value)

    @classmethod
    def failure(cls, error: str, **kwargs: Any) -> Result:
        return cls(ok=False, error=error, **kwargs)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int  # ms since epoch, fixed when recorded so re-sends de-duplicate
    step: int


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to create a run remotely, decided client-side."""

    client_id: str
    experiment_id: str
    name: str
    start_time: int  # ms
    tags: dict[str, str] = field(default_factory=dict)
    user: str = ""


@runtime_checkable
class Backend(Protocol):
    """A tracking destination, called from autolog's delivery threads."""

    limits: Limits

    def get_or_create_experiment(self, name: str) -> Result:
        """``value`` is the backend's experiment id."""

    def find_run(self, experiment_id: str, client_id: str) -> Result:
        """``value`` is the backend id of the run tagged with ``client_id``, or None."""

    def create_run(self, spec: RunSpec) -> Result:
        """``value`` is the backend's run id."""

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> Result: ...

    def update_run(self, run_id: str, status: str, end_time: int | None) -> Result: ...

    def log_artifact(self, run_id: str, artifact_path: str, local_file: str) -> Result: ...

    def close(self) -> None: ...


@runtime_checkable
class ModelBackend(Backend, Protocol):
    """A :class:`Backend` that also keeps models: logged models (``model_id`` and an artifact
    root of their own, finalized READY or FAILED, linked to a run) and a model registry.

    Every ``Result.value`` is described per method. ``logged_models_supported`` is False once
    the server said it has no logged models (an older server); the registry still works then.
    """

    logged_models_supported: bool | None

    def create_logged_model(self, experiment_id: str, name: str, source_run_id: str,
                            tags: Mapping[str, str], params: Mapping[str, str]) -> Result:
        """``value``: ``{"model_id", "artifact_uri"}`` of the new (pending) logged model."""

    def search_logged_models(self, experiment_id: str, filter_string: str) -> Result:
        """``value``: the ``info`` dicts of the matching logged models."""

    def upload_artifact(self, root_uri: str, artifact_path: str, local_file: str) -> Result:
        """Upload one file under an artifact root (a logged model's)."""

    def finalize_logged_model(self, model_id: str, ready: bool) -> Result: ...

    def link_model_to_run(self, run_id: str, model_id: str, step: int = 0) -> Result: ...

    def create_registered_model(self, name: str) -> Result:
        """Success too when ``name`` exists already."""

    def create_model_version(self, name: str, source: str, run_id: str | None,
                             model_id: str | None = None,
                             tags: Mapping[str, str] | None = None) -> Result:
        """``value``: the new version's dict (``version`` is a string)."""

    def search_model_versions(self, filter_string: str) -> Result:
        """``value``: the matching versions' dicts."""

    def get_model_version_by_alias(self, name: str, alias: str) -> Result:
        """``value``: the version dict the alias points to, or None."""

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> Result: ...

    def get_run(self, run_id: str) -> Result:
        """``value``: the run dict (``info``, ``data``) as MLflow's REST API returns it."""

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str) -> Result:
        """``value``: the matching runs' dicts."""

    def list_artifacts(self, run_id: str, path: str = "") -> Result:
        """``value``: the run's artifact entries (``path``, ``is_dir``) directly under ``path``."""


#: The slowest upload a request's deadline allows for: a file of n bytes may take n / this
#: seconds more than a small request (and a delivery lease is held that much longer).
UPLOAD_BYTES_PER_SECOND = 1_000_000

#: Tag carrying autolog's client-side run id; lets run creation be retried without ghosts.
CLIENT_ID_TAG = "autolog.clientRunId"

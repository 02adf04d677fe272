"""The tracking part of the MLflow REST API: experiments, runs, batches of records, artifacts.

Experiments autolog creates are tagged ``mlflow.experimentKind=custom_model_development``, so
MLflow 3's UI opens them on its "Training runs" view (not the GenAI one); an experiment that
exists already is never changed. A URI that does not lead to an MLflow tracking server is
told apart at the first request (the experiment lookup) and reported in words a user acts on.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from autolog.backends import _multipart
from autolog.backends._mlflow_api import API, MlflowApi
from autolog.backends._secrets import scrub_url
from autolog.backends._transport import NOT_JSON
from autolog.backends.base import CLIENT_ID_TAG, Metric, Result, RunSpec

_ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
_PROXY_SCHEME = "mlflow-artifacts"
_LOOKUP = f"{API}/experiments/get-by-name"
#: Tags of the experiments autolog creates (what MLflow's own client sets for model training).
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


class TrackingApi(MlflowApi):
    """Experiments, runs, ``log-batch`` and artifact uploads through the server's proxy."""

    #: Files at least this big go up in parts where the server supports it.
    multipart_min_bytes: int
    #: None until the server answered a multipart request; False: it cannot.
    multipart_supported: bool | None
    _artifact_uris: dict[str, str]

    # -- experiments ----------------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Result:
        found = self._find_experiment(name)
        if not found.ok or found.value is not None:
            return found
        tags = [{"key": key, "value": value} for key, value in EXPERIMENT_TAGS.items()]
        created = self.transport.request("POST", f"{API}/experiments/create",
                                         json_body={"name": name, "tags": tags})
        if created.ok:
            return self._value(created, lambda body: str(body["experiment_id"]))
        if created.value == "RESOURCE_ALREADY_EXISTS":  # another process won the race
            found = self._find_experiment(name)
            if found.ok and found.value is None:
                return Result.failure(
                    f"experiment {name!r} exists but cannot be read (deleted?)", retryable=False
                )
            return found
        return created

    def _find_experiment(self, name: str) -> Result:
        result = self.transport.request("GET", _LOOKUP, params={"experiment_name": name})
        if result.ok:
            found = self._value(result, lambda body: str(body["experiment"]["experiment_id"]))
            return found if found.ok else self._not_mlflow(result)
        if result.status_code == 404 and result.value == "RESOURCE_DOES_NOT_EXIST":
            return Result.success(None)
        if result.value == NOT_JSON or (result.status_code in (400, 404, 405, 501)
                                        and not result.value):
            return self._not_mlflow(result)  # MLflow itself would have said what went wrong
        return result

    def _not_mlflow(self, result: Result) -> Result:
        """Whatever answers at the URI is not an MLflow tracking server (another web app on
        that port, a path prefix missing or too many): say so, and keep the records waiting
        for the URI to be fixed."""
        return Result.failure(
            f"{self.transport.base_url}: not an MLflow tracking server ({result.status_code} "
            f"on {_LOOKUP}) — check the URI and any path prefix",
            retryable=True, status_code=result.status_code)

    # -- runs -----------------------------------------------------------------------------------
    def find_run(self, experiment_id: str, client_id: str) -> Result:
        escaped = client_id.replace("\\", "\\\\").replace("'", "\\'")
        body = {
            "experiment_ids": [experiment_id],
            "filter": f"tags.\"{CLIENT_ID_TAG}\" = '{escaped}'",
            "max_results": 1,
        }
        result = self.transport.request("POST", f"{API}/runs/search", json_body=body)
        if not result.ok:
            return result
        runs = self._value(result, lambda body: (body or {}).get("runs") or [])
        if not runs.ok or not runs.value:
            return runs if not runs.ok else Result.success(None)
        return self._value(Result.success(runs.value[0]), self._remember_run)

    def create_run(self, spec: RunSpec) -> Result:
        tags = {**spec.tags, CLIENT_ID_TAG: spec.client_id}
        body: dict[str, Any] = {
            "experiment_id": spec.experiment_id,
            "start_time": int(spec.start_time),
            "tags": [{"key": key, "value": str(value)} for key, value in tags.items()],
        }
        if spec.name:
            body["run_name"] = spec.name
        if spec.user:
            body["user_id"] = spec.user
        result = self.transport.request("POST", f"{API}/runs/create", json_body=body)
        if not result.ok:
            return result
        return self._value(result, lambda data: self._remember_run(data["run"]))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> Result:
        body: dict[str, Any] = {"run_id": run_id}
        try:
            if metrics:
                body["metrics"] = [
                    {
                        "key": m.key,
                        "value": _json_float(m.value),
                        "timestamp": int(m.timestamp),
                        "step": int(m.step),
                    }
                    for m in metrics
                ]
        except (TypeError, ValueError) as error:
            return Result.failure(f"metric is not a number: {error}")
        if params:
            body["params"] = [{"key": k, "value": str(v)} for k, v in params]
        if tags:
            body["tags"] = [{"key": k, "value": str(v)} for k, v in tags]
        result = self._without_value(
            self.transport.request("POST", f"{API}/runs/log-batch", json_body=body))
        if len(metrics) == 1 and not params and not tags and _duplicate_row(result):
            # MLflow 2's SQL store refuses a re-sent NaN point as a duplicate (NaN != NaN when
            # it de-duplicates): for a request of that one point, the refusal says it is stored.
            return Result.success()
        return result

    def update_run(self, run_id: str, status: str, end_time: int | None) -> Result:
        body: dict[str, Any] = {"run_id": run_id, "status": status}
        if end_time is not None:
            body["end_time"] = int(end_time)
        return self._without_value(
            self.transport.request("POST", f"{API}/runs/update", json_body=body))

    def get_run(self, run_id: str) -> Result:
        """``value``: the run dict (``info``, ``data``) as the server returns it."""
        result = self.transport.request("GET", f"{API}/runs/get", params={"run_id": run_id})
        if not result.ok:
            return result
        return self._value(result, lambda data: dict(data["run"]))

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str) -> Result:
        """``value``: every matching run (all pages)."""
        return self._all_pages("POST", f"{API}/runs/search",
                               {"experiment_ids": list(experiment_ids), "filter": filter_string},
                               "runs", page_size=1000)

    # -- artifacts ------------------------------------------------------------------------------
    def log_artifact(self, run_id: str, artifact_path: str, local_file: str) -> Result:
        """Upload one file to ``artifact_path`` (a path inside the run's artifact root)."""
        root = self.get_artifact_uri(run_id)
        if not root.ok:
            return root
        return self.upload_artifact(root.value, artifact_path, local_file)

    def upload_artifact(self, root_uri: str, artifact_path: str, local_file: str) -> Result:
        """Upload one file under an artifact root the server proxies (a run's, a model's).

        Files of at least ``multipart_min_bytes`` go up in parts where the server's artifact
        store supports it (S3, GCS, Azure behind MLflow's proxy); a server that answers that it
        does not (a local ``--artifacts-destination``) gets one streamed PUT, and is not asked
        again.
        """
        relative = artifact_path.replace("\\", "/").strip("/")
        segments = relative.split("/")
        if not relative or any(part in ("", ".", "..") for part in segments):
            return Result.failure(f"invalid artifact path {artifact_path!r}")
        proxied = _proxied_path(root_uri)
        if proxied is None:
            return Result.failure(
                f"artifacts live at {scrub_url(root_uri)!r}, which this server does not "
                "proxy; start it with artifact serving (the default) to upload through it"
            )
        try:
            size = os.path.getsize(local_file)
        except OSError as error:
            return Result.failure(f"cannot read artifact file: {error.strerror or error}")
        if size >= self.multipart_min_bytes and self.multipart_supported is not False:
            supported, result = _multipart.upload(self.transport, [*proxied, *segments[:-1]],
                                                  segments[-1], local_file, size)
            if supported is not None:
                self.multipart_supported = supported
            if result is not None:
                return result
        url_path = "/".join(quote(part, safe="") for part in [*proxied, *segments])
        try:
            handle = open(local_file, "rb")  # noqa: SIM115 - closed below, streamed by the transport
        except OSError as error:
            return Result.failure(f"cannot read artifact file: {error.strerror or error}")
        with handle:
            result = self.transport.request(
                "PUT",
                f"{_ARTIFACTS_API}/{url_path}",
                data=handle,
                headers={"Content-Type": "application/octet-stream"},
                upload_bytes=size,
            )
        return self._without_value(result)

    def get_artifact_uri(self, run_id: str) -> Result:
        """The run's artifact root (``mlflow-artifacts:/<exp>/<run>/artifacts``), cached."""
        cached = self._artifact_uris.get(run_id)
        if cached is not None:
            return Result.success(cached)
        result = self.transport.request("GET", f"{API}/runs/get", params={"run_id": run_id})
        if not result.ok:
            return result
        found = self._value(result, lambda body: self._remember_run(body["run"]))
        if not found.ok:
            return found
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            return Result.failure("the server reported no artifact URI for the run")
        return Result.success(uri)

    def list_artifacts(self, run_id: str, path: str = "") -> Result:
        """``value``: the run's artifact entries directly under ``path``."""
        params = {"run_id": run_id}
        if path:
            params["path"] = path
        result = self.transport.request("GET", f"{API}/artifacts/list", params=params)
        if not result.ok:
            return result
        return self._value(result, lambda body: list((body or {}).get("files") or []))

    def _remember_run(self, run: Mapping[str, Any]) -> str:
        info = run["info"]
        run_id = str(info.get("run_id") or info["run_uuid"])
        uri = info.get("artifact_uri")
        if uri:
            self._artifact_uris[run_id] = str(uri)
        return run_id


def _json_float(value: float) -> float | str:
    """MLflow reads non-finite metric values from these strings; bare NaN isn't valid JSON."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def _proxied_path(artifact_uri: str) -> list[str] | None:
    """Path segments under the artifact proxy for an ``mlflow-artifacts:`` URI, else None."""
    parts = urlsplit(artifact_uri)
    if parts.scheme != _PROXY_SCHEME:
        return None
    return [segment for segment in parts.path.split("/") if segment]


_DUPLICATE_ROW = re.compile(r"UNIQUE constraint failed|duplicate key value violates|Duplicate entry")


def _duplicate_row(result: Result) -> bool:
    """A 400 whose message is the SQL store's unique-key violation (SQLite, PostgreSQL, MySQL)."""
    return result.status_code == 400 and bool(_DUPLICATE_ROW.search(result.error or ""))

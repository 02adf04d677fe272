"""An MLflow tracking server reached over its REST API, with ``requests`` and nothing of MLflow.

Each method makes exactly one HTTP attempt and turns the outcome into a :class:`Result`; the
shipper owns retries, pacing and ordering. Nothing here raises for network or server trouble.

Authentication and TLS follow the environment variables MLflow users already have (read from
``env``, which defaults to ``os.environ``):

- ``MLFLOW_TRACKING_TOKEN`` sends ``Authorization: Bearer <token>``. When a token is set it
  takes precedence: ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` are then ignored.
  ``AUTOLOG_TRACKING_TOKEN_FILE`` names a file holding the token instead (read once, here),
  for secrets mounted as files rather than exported into every child process's environment.
- ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` send HTTP Basic credentials.
  Credentials written into the tracking URI (``https://user:pass@host``) are used as Basic
  credentials only when neither variable is set, and are removed from the URI we keep.
- ``MLFLOW_TRACKING_INSECURE_TLS=true`` turns certificate verification off;
  ``MLFLOW_TRACKING_SERVER_CERT_PATH`` verifies against that CA bundle instead (it wins when
  both are set, since it is the safer reading); ``MLFLOW_TRACKING_CLIENT_CERT_PATH`` presents a
  client certificate.

Credentials are attached per request by an auth hook, so ``requests`` does not re-attach them
when a redirect leads to another host (it drops ``Authorization`` on a host change). They never
appear in logs, in ``repr()``, or in :attr:`Result.error`.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from autolog._version import __version__
from autolog._warnings import warn_once
from autolog.backends import _multipart
from autolog.backends.base import CLIENT_ID_TAG, Limits, Metric, Result, RunSpec
from autolog.client._retry import RETRYABLE_STATUS, parse_retry_after

logger = logging.getLogger("autolog.backends.mlflow")

_API = "/api/2.0/mlflow"
_ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
_PROXY_SCHEME = "mlflow-artifacts"
_MAX_ERROR_CHARS = 500
_TRUE = {"1", "true", "yes", "on"}
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
_DUPLICATE_ROW = re.compile(r"UNIQUE constraint failed|duplicate key value violates|Duplicate entry")

# Exceptions raised before any byte of the request reached the server: never ambiguous.
_NOT_SENT_MARKERS = (
    "NewConnectionError",
    "NameResolutionError",
    "ConnectTimeout",
    "ConnectTimeoutError",
)


class _BearerAuth(AuthBase):
    """Adds a Bearer token to each request as it is prepared (and not to redirects)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


class _BasicAuth(HTTPBasicAuth):
    def __repr__(self) -> str:
        return "_BasicAuth(***)"


class MlflowRestBackend:
    """The :class:`~autolog.backends.base.Backend` for ``http(s)://`` MLflow tracking servers."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        timeout: float = 30.0,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        parts = urlsplit(tracking_uri.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) tracking URI: {_scrub_url(tracking_uri)!r}")
        url_user, url_password = parts.username, parts.password
        netloc = parts.netloc.rsplit("@", 1)[-1]
        self.base_url = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
        self.timeout = timeout
        self.limits = limits or Limits()
        self._secrets: list[str] = []
        self._artifact_uris: dict[str, str] = {}
        #: Files at least this big go up in parts where the server supports it.
        self.multipart_min_bytes = _multipart.min_bytes(env)
        #: None until the server answered a multipart request; False: it cannot.
        self._multipart: bool | None = None
        #: False once the server answered that it has no logged models (MLflow < 3).
        self.logged_models_supported: bool | None = None

        auth = self._auth_from(env, url_user, url_password)
        if auth is None:
            auth = requests.utils.get_netrc_auth(self.base_url)
        verify, cert = _tls_from(env)
        self._settings = _SessionSettings(auth, verify, cert,
                                          requests.utils.get_environ_proxies(self.base_url))
        self._session = self._settings.new_session()

    def _auth_from(
        self, env: Mapping[str, str], url_user: str | None, url_password: str | None
    ) -> AuthBase | None:
        token = env.get("MLFLOW_TRACKING_TOKEN") or _read_token_file(env)
        user = env.get("MLFLOW_TRACKING_USERNAME") or ""
        password = env.get("MLFLOW_TRACKING_PASSWORD") or ""
        if token:
            self._remember_secret(token)
            return _BearerAuth(token)
        if user or password:
            self._remember_secret(user)
            self._remember_secret(password)
            return _BasicAuth(user, password)
        if url_user or url_password:
            user, password = unquote(url_user or ""), unquote(url_password or "")
            for secret in (user, password, url_user or "", url_password or ""):
                self._remember_secret(secret)
            return _BasicAuth(user, password)
        return None

    def _remember_secret(self, value: str) -> None:
        if len(value) >= 3 and value not in self._secrets:
            self._secrets.append(value)

    def __repr__(self) -> str:
        return f"MlflowRestBackend({self.base_url!r})"

    # -- Backend protocol -----------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Result:
        found = self._find_experiment(name)
        if not found.ok or found.value is not None:
            return found
        created = self._call("POST", f"{_API}/experiments/create", json_body={"name": name})
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
        result = self._call(
            "GET", f"{_API}/experiments/get-by-name", params={"experiment_name": name}
        )
        if result.ok:
            return self._value(result, lambda body: str(body["experiment"]["experiment_id"]))
        if result.status_code == 404 and result.value == "RESOURCE_DOES_NOT_EXIST":
            return Result.success(None)
        return result

    def find_run(self, experiment_id: str, client_id: str) -> Result:
        escaped = client_id.replace("\\", "\\\\").replace("'", "\\'")
        body = {
            "experiment_ids": [experiment_id],
            "filter": f"tags.\"{CLIENT_ID_TAG}\" = '{escaped}'",
            "max_results": 1,
        }
        result = self._call("POST", f"{_API}/runs/search", json_body=body)
        if not result.ok:
            return result
        runs = (result.value or {}).get("runs") or []
        if not runs:
            return Result.success(None)
        return self._value(Result.success(runs[0]), self._remember_run)

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
        result = self._call("POST", f"{_API}/runs/create", json_body=body)
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
        result = self._without_value(self._call("POST", f"{_API}/runs/log-batch", json_body=body))
        if len(metrics) == 1 and not params and not tags and _duplicate_row(result):
            # MLflow 2's SQL store refuses a re-sent NaN point as a duplicate (NaN != NaN when
            # it de-duplicates): for a request of that one point, the refusal says it is stored.
            return Result.success()
        return result

    def update_run(self, run_id: str, status: str, end_time: int | None) -> Result:
        body: dict[str, Any] = {"run_id": run_id, "status": status}
        if end_time is not None:
            body["end_time"] = int(end_time)
        return self._without_value(self._call("POST", f"{_API}/runs/update", json_body=body))

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
                f"artifacts live at {_scrub_url(root_uri)!r}, which this server does not "
                "proxy; start it with artifact serving (the default) to upload through it"
            )
        try:
            size = os.path.getsize(local_file)
        except OSError as error:
            return Result.failure(f"cannot read artifact file: {error.strerror or error}")
        if size >= self.multipart_min_bytes and self._multipart is not False:
            result = _multipart.upload(self, [*proxied, *segments[:-1]], segments[-1], local_file,
                                       size)
            if result is not None:
                return result
        url_path = "/".join(quote(part, safe="") for part in [*proxied, *segments])
        try:
            handle = open(local_file, "rb")  # noqa: SIM115 - closed below, streamed by requests
        except OSError as error:
            return Result.failure(f"cannot read artifact file: {error.strerror or error}")
        with handle:
            result = self._call(
                "PUT",
                f"{_ARTIFACTS_API}/{url_path}",
                data=handle,
                headers={"Content-Type": "application/octet-stream"},
            )
        return self._without_value(result)

    # -- MLflow 3 logged models -----------------------------------------------------------
    def create_logged_model(self, experiment_id: str, name: str, source_run_id: str,
                            tags: Mapping[str, str], params: Mapping[str, str]) -> Result:
        """``value``: ``{"model_id", "artifact_uri"}`` of the new (PENDING) logged model."""
        body: dict[str, Any] = {
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": source_run_id,
            "tags": [{"key": k, "value": str(v)} for k, v in tags.items()],
        }
        if params:
            body["params"] = [{"key": k, "value": str(v)} for k, v in params.items()]
        result = self._call("POST", f"{_API}/logged-models", json_body=body)
        if not result.ok:
            return result
        return self._value(result, lambda data: _model_info(data["model"]))

    def search_logged_models(self, experiment_id: str, filter_string: str) -> Result:
        """``value``: every matching logged model's ``info`` dict (all pages)."""
        found: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {"experiment_ids": [experiment_id], "filter": filter_string,
                                    "max_results": 100}
            if token:
                body["page_token"] = token
            result = self._call("POST", f"{_API}/logged-models/search", json_body=body)
            if not result.ok:
                return result
            page = result.value or {}
            found.extend(model.get("info", {}) for model in page.get("models") or [])
            token = page.get("next_page_token")
            if not token:
                return Result.success(found)

    def finalize_logged_model(self, model_id: str, ready: bool) -> Result:
        """READY, or FAILED (the proto's ``LOGGED_MODEL_UPLOAD_FAILED``); sent as enum numbers,
        which is what the server's request validation accepts."""
        body = {"model_id": model_id, "status": 2 if ready else 3}
        return self._without_value(self._call(
            "PATCH", f"{_API}/logged-models/{quote(model_id, safe='')}", json_body=body))

    def link_model_to_run(self, run_id: str, model_id: str, step: int = 0) -> Result:
        """The run's outputs list the model (what the UI's run page shows under "Models")."""
        body = {"run_id": run_id, "models": [{"model_id": model_id, "step": int(step)}]}
        return self._without_value(self._call("POST", f"{_API}/runs/outputs", json_body=body))

    # -- model registry -------------------------------------------------------------------
    def create_registered_model(self, name: str) -> Result:
        """Create ``name`` in the registry; success too when it already exists."""
        result = self._call("POST", f"{_API}/registered-models/create", json_body={"name": name})
        if result.ok or result.value == "RESOURCE_ALREADY_EXISTS":
            return Result.success()
        return result

    def create_model_version(self, name: str, source: str, run_id: str | None,
                             model_id: str | None = None,
                             tags: Mapping[str, str] | None = None) -> Result:
        """``value``: the new version's dict (``version`` is a string)."""
        body: dict[str, Any] = {"name": name, "source": source}
        if run_id:
            body["run_id"] = run_id
        if model_id:
            body["model_id"] = model_id
        if tags:
            body["tags"] = [{"key": k, "value": str(v)} for k, v in tags.items()]
        result = self._call("POST", f"{_API}/model-versions/create", json_body=body)
        if not result.ok:
            return result
        return self._value(result, lambda data: dict(data["model_version"]))

    def search_model_versions(self, filter_string: str) -> Result:
        """``value``: matching versions (all pages)."""
        found: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"filter": filter_string, "max_results": "200"}
            if token:
                params["page_token"] = token
            result = self._call("GET", f"{_API}/model-versions/search", params=params)
            if not result.ok:
                return result
            page = result.value or {}
            found.extend(page.get("model_versions") or [])
            token = page.get("next_page_token")
            if not token:
                return Result.success(found)

    def get_model_version_by_alias(self, name: str, alias: str) -> Result:
        """``value``: the version dict the alias points to, or None when it points nowhere."""
        result = self._call("GET", f"{_API}/registered-models/alias",
                            params={"name": name, "alias": alias})
        if result.ok:
            return self._value(result, lambda data: dict(data["model_version"]))
        if result.status_code == 404 or result.value in ("RESOURCE_DOES_NOT_EXIST",
                                                          "INVALID_PARAMETER_VALUE"):
            return Result.success(None)
        return result

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> Result:
        body = {"name": name, "alias": alias, "version": str(version)}
        return self._without_value(
            self._call("POST", f"{_API}/registered-models/alias", json_body=body))

    # -- reading runs (registry helpers) ----------------------------------------------------
    def get_run(self, run_id: str) -> Result:
        """``value``: the run dict (``info``, ``data``) as the server returns it."""
        result = self._call("GET", f"{_API}/runs/get", params={"run_id": run_id})
        if not result.ok:
            return result
        return self._value(result, lambda data: dict(data["run"]))

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str) -> Result:
        """``value``: every matching run (all pages)."""
        found: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {"experiment_ids": list(experiment_ids),
                                    "filter": filter_string, "max_results": 1000}
            if token:
                body["page_token"] = token
            result = self._call("POST", f"{_API}/runs/search", json_body=body)
            if not result.ok:
                return result
            page = result.value or {}
            found.extend(page.get("runs") or [])
            token = page.get("next_page_token")
            if not token:
                return Result.success(found)

    def list_artifacts(self, run_id: str, path: str = "") -> Result:
        """``value``: the run's artifact entries directly under ``path``."""
        params = {"run_id": run_id}
        if path:
            params["path"] = path
        result = self._call("GET", f"{_API}/artifacts/list", params=params)
        if not result.ok:
            return result
        return Result.success(list((result.value or {}).get("files") or []))

    def close(self) -> None:
        self._session.close()

    def clone(self) -> MlflowRestBackend:
        """The same server and credentials on a session of its own, for a thread other than the
        sender's (``requests`` sessions are not meant to be shared across threads)."""
        twin = copy.copy(self)
        twin._session = self._settings.new_session()
        twin._artifact_uris = {}
        twin._secrets = list(self._secrets)
        return twin

    # -- helpers --------------------------------------------------------------------------
    def get_artifact_uri(self, run_id: str) -> Result:
        """The run's artifact root (``mlflow-artifacts:/<exp>/<run>/artifacts``), cached."""
        cached = self._artifact_uris.get(run_id)
        if cached is not None:
            return Result.success(cached)
        result = self._call("GET", f"{_API}/runs/get", params={"run_id": run_id})
        if not result.ok:
            return result
        found = self._value(result, lambda body: self._remember_run(body["run"]))
        if not found.ok:
            return found
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            return Result.failure("the server reported no artifact URI for the run")
        return Result.success(uri)

    def _remember_run(self, run: Mapping[str, Any]) -> str:
        info = run["info"]
        run_id = str(info.get("run_id") or info["run_uuid"])
        uri = info.get("artifact_uri")
        if uri:
            self._artifact_uris[run_id] = str(uri)
        return run_id

    def _value(self, result: Result, extract: Callable[[Any], Any]) -> Result:
        """Read the useful part of a 2xx body; a body we cannot read is worth another try."""
        try:
            return Result.success(extract(result.value))
        except (KeyError, TypeError, IndexError, AttributeError):
            return Result.failure(
                "unexpected response from the tracking server (is the URI an MLflow server?)",
                retryable=True,
                ambiguous=True,
                status_code=result.status_code,
            )

    @staticmethod
    def _without_value(result: Result) -> Result:
        return Result.success() if result.ok else result

    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Result:
        """One HTTP attempt. On success ``value`` is the decoded JSON body (or None); on an
        HTTP error ``value`` is the server's ``error_code`` so callers can branch on it."""
        url = self.base_url + path
        send_headers = dict(headers or {})
        if json_body is not None:
            try:
                data = json.dumps(json_body, allow_nan=False, separators=(",", ":")).encode()
            except (TypeError, ValueError) as error:
                return Result.failure(f"request body is not JSON-serializable: {error}")
            send_headers["Content-Type"] = "application/json"
        try:
            response = self._session.request(
                method, url, params=params, data=data, headers=send_headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            return self._network_failure(method, path, error)
        except Exception as error:  # e.g. a malformed proxy setting; report, don't raise
            text = self._scrub(f"{type(error).__name__} on {method} {path}: {error}")
            return Result.failure(text[:_MAX_ERROR_CHARS], retryable=True, ambiguous=True)
        try:
            return self._response_result(method, path, response)
        finally:
            response.close()

    def _response_result(self, method: str, path: str, response: requests.Response) -> Result:
        status = response.status_code
        if 200 <= status < 300:
            try:
                value = response.json() if response.content else None
            except ValueError:
                value = None
            return Result(ok=True, value=value, status_code=status)
        code, message = _error_details(response)
        error = self._scrub(
            f"HTTP {status} from {method} {path}: {code or ''}{': ' if code else ''}{message}"
        )[:_MAX_ERROR_CHARS]
        logger.debug("tracking server error: %s", error)
        retryable = status in RETRYABLE_STATUS
        return Result(
            ok=False,
            value=code,
            error=error,
            retryable=retryable,
            retry_after=parse_retry_after(response.headers.get("Retry-After"))
            if retryable or status == 413
            else None,
            too_large=status == 413,
            ambiguous=status >= 500 or status == 408,
            status_code=status,
        )

    def _network_failure(self, method: str, path: str, error: requests.RequestException) -> Result:
        sent = not _never_sent(error)
        kind = type(error).__name__
        error_text = self._scrub(f"{kind} on {method} {path}: {error}")[:_MAX_ERROR_CHARS]
        logger.debug("tracking server unreachable: %s", error_text)
        if isinstance(
            error,
            (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError),
        ):
            return Result.failure(error_text, retryable=True, ambiguous=sent)
        # Invalid URL, too many redirects and the like: sending again changes nothing.
        return Result.failure(error_text, retryable=False, ambiguous=False)

    def _scrub(self, text: str) -> str:
        text = _USERINFO.sub("***@", text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _duplicate_row(result: Result) -> bool:
    """A 400 whose message is the SQL store's unique-key violation (SQLite, PostgreSQL, MySQL)."""
    return result.status_code == 400 and bool(_DUPLICATE_ROW.search(result.error or ""))


def _model_info(model: Mapping[str, Any]) -> dict[str, Any]:
    info = model["info"]
    return {"model_id": str(info["model_id"]), "artifact_uri": str(info["artifact_uri"])}


def _json_float(value: float) -> float | str:
    """MLflow reads non-finite metric values from these strings; bare NaN isn't valid JSON."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def _read_token_file(env: Mapping[str, str]) -> str:
    path = env.get("AUTOLOG_TRACKING_TOKEN_FILE") or ""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as error:  # the path is the user's; its content never reaches a message
        warn_once("token-file", f"autolog: cannot read AUTOLOG_TRACKING_TOKEN_FILE ({path}): "
                  f"{error.strerror}; sending no token")
        return ""


class _SessionSettings(NamedTuple):
    """What a session needs from the environment, read once.

    ``requests`` re-reads the proxy variables (scanning the whole environment) and looks for
    ``~/.netrc`` on every request when ``trust_env`` is on: about a third of a small request's
    CPU on the sender thread, which competes with training for the GIL. The same settings,
    resolved when the backend is made, are set on the session instead.
    """

    auth: Any
    verify: bool | str
    cert: str | None
    proxies: dict[str, str]

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.headers["User-Agent"] = f"autolog/{__version__}"
        session.auth, session.verify, session.cert = self.auth, self.verify, self.cert
        session.proxies.update(self.proxies)
        return session


def _tls_from(env: Mapping[str, str]) -> tuple[bool | str, str | None]:
    cert_path = env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or ""
    insecure = (env.get("MLFLOW_TRACKING_INSECURE_TLS") or "").strip().lower() in _TRUE
    verify: bool | str = True
    if cert_path:
        if insecure:
            logger.warning(
                "both MLFLOW_TRACKING_SERVER_CERT_PATH and MLFLOW_TRACKING_INSECURE_TLS are set; "
                "verifying against the certificate path"
            )
        verify = cert_path
    elif insecure:
        verify = False
    else:  # what requests itself would read from the environment
        verify = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
    client_cert = env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH") or None
    return verify, client_cert


def _proxied_path(artifact_uri: str) -> list[str] | None:
    """Path segments under the artifact proxy for an ``mlflow-artifacts:`` URI, else None."""
    parts = urlsplit(artifact_uri)
    if parts.scheme != _PROXY_SCHEME:
        return None
    return [segment for segment in parts.path.split("/") if segment]


def _error_details(response: requests.Response) -> tuple[str, str]:
    """MLflow answers ``{"error_code", "message"}``; proxies answer HTML or plain text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("error_code" in body or "message" in body):
        return str(body.get("error_code") or ""), str(body.get("message") or "")
    text = " ".join(response.text.split()) if response.content else ""
    return "", text[:200] or (response.reason or "")


def _never_sent(error: BaseException) -> bool:
    """True when the failure happened before the request could reach the server."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ in _NOT_SENT_MARKERS:
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        args = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        current = args[0] if args else (current.__cause__ or current.__context__)
    return False


def _scrub_url(text: str) -> str:
    return _USERINFO.sub("***@", text)

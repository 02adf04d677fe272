"""The HTTP transport under the MLflow backend: one attempt per request, turned into a Result.

It owns what any request to the tracking server needs — the connection pool, credentials,
TLS, proxies, the per-request timeout, scrubbing secrets out of every error text — and the
classification of an answer into a :class:`~autolog.backends.base.Result` (retry or not, the
server's ``Retry-After``, "the server may have acted anyway"). It knows nothing of MLflow's
endpoints; the sender owns retries, pacing and ordering. Nothing here raises for network or
server trouble.

Safe to use from several threads at once: each thread prepares its requests on a session of
its own, and all of them share one connection pool (``pool_size`` connections per host), so
several requests can be in flight against one server.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from autolog._version import __version__
from autolog.backends import _http_auth
from autolog.backends._retry_hints import RETRYABLE_STATUS, parse_retry_after
from autolog.backends.base import Result

logger = logging.getLogger("autolog.backends.http")

#: Connections kept per host: enough for the requests delivery keeps in flight at once.
DEFAULT_POOL_SIZE = 16
_MAX_ERROR_CHARS = 500

# Exceptions raised before any byte of the request reached the server: never ambiguous.
_NOT_SENT_MARKERS = (
    "NewConnectionError",
    "NameResolutionError",
    "ConnectTimeout",
    "ConnectTimeoutError",
)


class HttpTransport:
    """Requests to one HTTP(S) server, relative to its base URL (which may carry a path prefix)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        env = os.environ if env is None else env
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) tracking URI: {_http_auth.scrub_url(url)!r}")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        #: ``scheme://host:port/prefix`` without credentials or a trailing slash.
        self.base_url = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
        self.timeout = timeout
        self.secrets = _http_auth.Secrets()
        self._auth = _http_auth.auth_from(env, self.base_url, parts.username, parts.password,
                                          self.secrets)
        self.verify, self.cert = _http_auth.tls_from(env)
        # requests re-reads the proxy variables (scanning the whole environment) and looks for
        # ~/.netrc on every request when trust_env is on: about a third of a small request's
        # CPU, which competes with training for the GIL. Resolved once here instead.
        self._proxies = requests.utils.get_environ_proxies(self.base_url)
        self._adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r})"

    # -- requests -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Result:
        """One HTTP attempt at ``base_url + path``. On success ``value`` is the decoded JSON body
        (or None); on an HTTP error ``value`` is the server's ``error_code``, so callers can
        branch on it."""
        send_headers = dict(headers or {})
        if json_body is not None:
            try:
                data = json.dumps(json_body, allow_nan=False, separators=(",", ":")).encode()
            except (TypeError, ValueError) as error:
                return Result.failure(f"request body is not JSON-serializable: {error}")
            send_headers["Content-Type"] = "application/json"
        try:
            response = self._session().request(
                method, self.base_url + path, params=params, data=data, headers=send_headers,
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return self._network_failure(method, path, error)
        except Exception as error:  # e.g. a malformed proxy setting; report, don't raise
            text = self.scrub(f"{type(error).__name__} on {method} {path}: {error}")
            return Result.failure(text[:_MAX_ERROR_CHARS], retryable=True, ambiguous=True)
        try:
            return self._response_result(method, path, response)
        finally:
            response.close()

    def put_presigned(self, url: str, data: bytes, headers: Mapping[str, str]) -> Result:
        """PUT to a presigned URL (an object store's); ``value`` is the answer's ETag.

        Through the same pool and TLS settings, but never with the tracking server's
        credentials: a presigned URL carries its own authorization.
        """
        try:
            response = self._adapter.send(
                requests.Request("PUT", url, data=data, headers=dict(headers)).prepare(),
                timeout=self.timeout, verify=self.verify, cert=self.cert,
                proxies=requests.utils.get_environ_proxies(url),
            )
        except requests.RequestException as error:
            return Result.failure(f"uploading a part failed: {type(error).__name__}",
                                  retryable=True)
        with response:
            response.content  # noqa: B018 - read it all, so the connection can be reused
            if 200 <= response.status_code < 300:
                return Result(ok=True, value=response.headers.get("ETag", ""),
                              status_code=response.status_code)
            return Result.failure(f"HTTP {response.status_code} uploading a part",
                                  retryable=response.status_code in RETRYABLE_STATUS,
                                  status_code=response.status_code)

    def scrub(self, text: str) -> str:
        """``text`` without any credential this transport holds."""
        return self.secrets.scrub(text)

    def close(self) -> None:
        self._adapter.close()

    # -- helpers --------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        """This thread's session: its own per-request state, the shared pool underneath."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            session.headers["User-Agent"] = f"autolog/{__version__}"
            session.auth, session.verify, session.cert = self._auth, self.verify, self.cert
            session.proxies.update(self._proxies)
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
            self._local.session = session
        return session

    def _response_result(self, method: str, path: str, response: requests.Response) -> Result:
        status = response.status_code
        if 200 <= status < 300:
            try:
                value = response.json() if response.content else None
            except ValueError:
                value = None
            return Result(ok=True, value=value, status_code=status)
        code, message = _error_details(response)
        error = self.scrub(
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
        error_text = self.scrub(f"{kind} on {method} {path}: {error}")[:_MAX_ERROR_CHARS]
        logger.debug("tracking server unreachable: %s", error_text)
        if isinstance(
            error,
            (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError),
        ):
            return Result.failure(error_text, retryable=True, ambiguous=sent)
        # Invalid URL, too many redirects and the like: sending again changes nothing.
        return Result.failure(error_text, retryable=False, ambiguous=False)


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

"""The HTTP transport under the MLflow backend: one attempt per request, turned into a Result.

It owns what any request to the tracking server needs — the connection pool, credentials,
TLS, proxies, one deadline per request, redirects, scrubbing secrets out of every error text —
and the classification of an answer into a :class:`~autolog.backends.base.Result` (retry or
not, the server's ``Retry-After``, "the server may have acted anyway"). It knows nothing of
MLflow's endpoints; the sender owns retries, pacing and ordering. Nothing here raises for
network or server trouble.

- **Deadline**: a request (connect, send, the whole answer, every redirect) is over within
  ``timeout`` seconds, however slowly a server trickles its bytes (``_deadline``); uploads get
  ``size / UPLOAD_BYTES_PER_SECOND`` seconds more.
- **Answers**: a 2xx whose body is not JSON (a login page, another web app answering on that
  port) is not taken for success: the request is retried, since it may not have reached the
  tracking server at all.
- **Redirects** are followed by hand, at most five: 307 and 308 with the same method and
  body; 301, 302 and 303 only for reads, since following one would turn a write into a GET
  and drop its body (such a write waits, saying which address to use instead). Credentials
  go only to the tracking server's own scheme, host and port.
- **Threads**: safe to use from several at once. Each request is prepared on its own; all of
  them share one connection pool (``pool_size`` connections per host), so several requests can
  be in flight against one server. A forked child gets a pool of its own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from autolog._version import __version__
from autolog._warnings import warn_once
from autolog.backends import _deadline, _http_auth, _secrets
from autolog.backends._retry_hints import RETRYABLE_STATUS, parse_retry_after
from autolog.backends.base import UPLOAD_BYTES_PER_SECOND, Result

logger = logging.getLogger("autolog.backends.http")

#: Connections kept per host: enough for the requests delivery keeps in flight at once.
DEFAULT_POOL_SIZE = 16
#: ``Result.value`` of a 2xx answer whose body is not JSON.
NOT_JSON = "autolog.NOT_JSON"
_MAX_ERROR_CHARS = 500
_MAX_REDIRECTS = 5
_REDIRECT_PAUSE = 60.0  # a redirect a write cannot follow: wait for the configuration to change
_READS = ("GET", "HEAD")

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
            raise ValueError(f"not an http(s) tracking URI: {_secrets.scrub_url(url)!r}")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        #: ``scheme://host:port/prefix`` without credentials or a trailing slash.
        self.base_url = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
        self._origin = _origin(self.base_url)
        #: Seconds one request may take in all (uploads: more, by their size).
        self.timeout = timeout
        self._auth = _http_auth.auth_from(env, self.base_url, parts.username, parts.password)
        self.verify, self.cert = _http_auth.tls_from(env)
        if self.verify is False:
            _warn_insecure(parts.hostname)
        # requests re-reads the proxy variables (scanning the whole environment) and looks for
        # ~/.netrc on every request when trust_env is on: about a third of a small request's
        # CPU, which competes with training for the GIL. Resolved once here instead.
        self._proxies = requests.utils.get_environ_proxies(self.base_url)
        self._pool_size = pool_size
        self._pool: _deadline.DeadlineAdapter | None = _deadline.DeadlineAdapter(
            pool_connections=4, pool_maxsize=pool_size)
        self._pool_pid = os.getpid()

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
        upload_bytes: int = 0,
    ) -> Result:
        """One HTTP attempt at ``base_url + path``. On success ``value`` is the decoded JSON body
        (or None for an empty one); on an HTTP error ``value`` is the server's ``error_code``,
        so callers can branch on it. ``upload_bytes``: the size of a file ``data`` streams,
        which extends the deadline."""
        send_headers = {"User-Agent": f"autolog/{__version__}", **(headers or {})}
        if json_body is not None:
            try:
                data = json.dumps(json_body, allow_nan=False, separators=(",", ":")).encode()
            except (TypeError, ValueError) as error:
                return Result.failure(f"request body is not JSON-serializable: {error}")
            send_headers["Content-Type"] = "application/json"
        limit = self.timeout + upload_bytes / UPLOAD_BYTES_PER_SECOND
        with _deadline.watch(limit) as deadline:
            try:
                response = self._send(method, self.base_url + path, params, data, send_headers,
                                      deadline)
            except requests.RequestException as error:
                if deadline.expired or deadline.remaining() <= 0:
                    return self._deadline_failure(method, path, limit, error)
                return self._network_failure(method, path, error)
            except _RedirectRefused as refused:
                return refused.result
            except Exception as error:  # e.g. a malformed proxy setting; report, don't raise
                text = self.scrub(f"{type(error).__name__} on {method} {path}: {error}")
                return Result.failure(text[:_MAX_ERROR_CHARS], retryable=True, ambiguous=True)
        return self._response_result(method, path, response)

    def put_presigned(self, url: str, data: bytes, headers: Mapping[str, str]) -> Result:
        """PUT to a presigned URL (an object store's); ``value`` is the answer's ETag.

        Through the same pool, deadline and TLS settings, but never with the tracking server's
        credentials: a presigned URL carries its own authorization.
        """
        with _deadline.watch(self.timeout + len(data) / UPLOAD_BYTES_PER_SECOND) as deadline:
            try:
                prepared = requests.Request("PUT", url, data=data, headers=dict(headers)).prepare()
                response = self._adapter().send(
                    prepared, timeout=_socket_timeout(deadline), verify=self.verify,
                    cert=self.cert, proxies=requests.utils.get_environ_proxies(url))
                response.content  # noqa: B018 - the whole answer, within the deadline
                response.close()
            except requests.RequestException as error:
                return Result.failure(f"uploading a part failed: {type(error).__name__}",
                                      retryable=True)
        if 200 <= response.status_code < 300:
            return Result(ok=True, value=response.headers.get("ETag", ""),
                          status_code=response.status_code)
        return Result.failure(f"HTTP {response.status_code} uploading a part",
                              retryable=response.status_code in RETRYABLE_STATUS,
                              status_code=response.status_code)

    def scrub(self, text: str) -> str:
        """``text`` without any credential (see ``autolog.backends._secrets``)."""
        return _secrets.scrub(text)

    def close(self) -> None:
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.close()
        self._pool = None

    def _adapter(self) -> _deadline.DeadlineAdapter:
        """This process's connection pool. A forked child starts a pool of its own: two
        processes writing on one inherited keep-alive socket would mix up their answers."""
        pool = self._pool
        if pool is None or self._pool_pid != os.getpid():
            # No lock: two threads of a new child racing here make two pools, one unused.
            pool = self._pool = _deadline.DeadlineAdapter(pool_connections=4,
                                                          pool_maxsize=self._pool_size)
            self._pool_pid = os.getpid()
        return pool

    # -- sending --------------------------------------------------------------------------------
    def _send(self, method: str, url: str, params: Mapping[str, str] | None, data: Any,
              headers: dict[str, str], deadline: _deadline.Deadline) -> requests.Response:
        """Send, following redirects by the rules in the module docs; the whole answer is read."""
        start = data.tell() if hasattr(data, "seek") else None
        for _ in range(_MAX_REDIRECTS + 1):
            prepared = requests.Request(
                method, url, params=params, data=data, headers=headers,
                auth=self._auth if _origin(url) == self._origin else None).prepare()
            response = self._adapter().send(prepared, timeout=_socket_timeout(deadline),
                                          verify=self.verify, cert=self.cert,
                                          proxies=self._proxies)
            response.content  # noqa: B018 - the whole answer, within the deadline
            response.close()  # the connection goes back to the pool; the content stays
            location = response.headers.get("Location")
            if not response.is_redirect or not location:
                return response
            target = urljoin(prepared.url or url, location)
            if response.status_code not in (307, 308) and method not in _READS:
                raise _RedirectRefused(self._redirect_refused(method, url, target,
                                                              response.status_code))
            url, params = target, None  # the new location carries its own query
            if start is not None:
                data.seek(start)  # a streamed file goes again from its beginning
        raise requests.TooManyRedirects(f"more than {_MAX_REDIRECTS} redirects")

    def _redirect_refused(self, method: str, url: str, target: str, status: int) -> Result:
        return Result.failure(
            self.scrub(f"{self.base_url} redirected {method} {urlsplit(url).path} to "
                       f"{_secrets.scrub_url(target)} ({status}), which would turn the write "
                       "into a GET and drop its body; set the tracking URI to the address it "
                       "redirects to")[:_MAX_ERROR_CHARS],
            retryable=True, retry_after=_REDIRECT_PAUSE, status_code=status)

    # -- classification ---------------------------------------------------------------------------
    def _response_result(self, method: str, path: str, response: requests.Response) -> Result:
        status = response.status_code
        if 200 <= status < 300:
            if not response.content:
                return Result(ok=True, value=None, status_code=status)
            try:
                return Result(ok=True, value=json.loads(response.content), status_code=status)
            except ValueError:
                return self._not_json(method, path, response)
        code, message = _error_details(response)
        error = self.scrub(
            f"HTTP {status} from {method} {path}: {code or ''}{': ' if code else ''}{message}"
        )[:_MAX_ERROR_CHARS]
        logger.debug("tracking server error: %s", error)
        retryable = status in RETRYABLE_STATUS
        redirect = 300 <= status < 400  # one with no address to follow: wait for a fix
        return Result(
            ok=False,
            value=code,
            error=error,
            retryable=retryable or redirect,
            retry_after=parse_retry_after(response.headers.get("Retry-After"))
            if retryable or status == 413
            else (_REDIRECT_PAUSE if redirect else None),
            too_large=status == 413,
            ambiguous=status >= 500 or status == 408,
            status_code=status,
        )

    def _not_json(self, method: str, path: str, response: requests.Response) -> Result:
        """A 2xx that is not an MLflow answer: whatever answered may not have passed the request
        on (a login page, a captive portal), or passed it on and garbled the answer."""
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        snippet = " ".join(response.text[:120].split())
        error = self.scrub(
            f"HTTP {response.status_code} from {method} {path} with a body that is not JSON "
            f"({kind}: {snippet!r}); is something other than the tracking server answering, "
            "such as a login page or a proxy?")[:_MAX_ERROR_CHARS]
        logger.debug("tracking server answer unreadable: %s", error)
        return Result(ok=False, value=NOT_JSON, error=error, retryable=True, ambiguous=True,
                      status_code=response.status_code)

    def _deadline_failure(self, method: str, path: str, limit: float,
                          error: requests.RequestException) -> Result:
        error_text = self.scrub(
            f"no complete answer to {method} {path} within {limit:g} s, the request deadline "
            "(AUTOLOG_HTTP_TIMEOUT)")
        logger.debug("tracking server too slow: %s (%s)", error_text, type(error).__name__)
        return Result.failure(error_text[:_MAX_ERROR_CHARS], retryable=True,
                              ambiguous=not _never_sent(error))

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
        if isinstance(error, requests.TooManyRedirects):  # a configuration to fix: wait for it
            return Result.failure(error_text, retryable=True, retry_after=_REDIRECT_PAUSE)
        # An invalid URL and the like: sending again changes nothing.
        return Result.failure(error_text, retryable=False, ambiguous=False)


class _RedirectRefused(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.error)
        self.result = result


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _socket_timeout(deadline: _deadline.Deadline) -> tuple[float, float]:
    """Each socket operation's own limit: what is left of the deadline (a backstop for when
    no watchdog thread can run)."""
    left = max(0.001, deadline.remaining())
    return left, left


def _warn_insecure(host: str) -> None:
    """One warning from autolog instead of urllib3's one per request."""
    warn_once(f"insecure-tls:{host}",
              f"autolog: MLFLOW_TRACKING_INSECURE_TLS is set, so the certificate of {host} is "
              "not verified: anyone on the network path can read and change what autolog "
              "sends, credentials included. Point MLFLOW_TRACKING_SERVER_CERT_PATH at your CA "
              "bundle instead.")
    warnings.filterwarnings("ignore", message=re.escape(
        f"Unverified HTTPS request is being made to host '{host}'"))


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

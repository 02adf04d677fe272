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
- **Cost**: a request through ``requests`` cost ~1.2 ms of CPU on the delivering thread
  (preparing, hooks, cookies, the response object), through urllib3 ~0.4 ms, and that CPU is
  taken from training, whose thread waits for the GIL meanwhile; a small run needs three
  requests. So requests to the server itself over plain http, no proxy between, take the lean
  exchange of ``_plain_http``; TLS, proxies and presigned URLs go through urllib3.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit

from autolog._version import __version__
from autolog._warnings import warn_once
from autolog.backends import _deadline, _http_auth, _plain_http, _secrets
from autolog.backends._retry_hints import RETRYABLE_STATUS, parse_retry_after
from autolog.backends.base import UPLOAD_BYTES_PER_SECOND, Result

if TYPE_CHECKING:
    # urllib3 (and urllib.request) load only when a request needs them: TLS, a proxy, a
    # presigned URL. Importing them costs ~40 ms, on the training thread as the first run
    # starts.
    import urllib3
    from urllib3.connectionpool import HTTPConnectionPool

logger = logging.getLogger("autolog.backends.http")

#: Connections kept per host: enough for the requests delivery keeps in flight at once.
DEFAULT_POOL_SIZE = 16
#: ``Result.value`` of a 2xx answer whose body is not JSON.
NOT_JSON = "autolog.NOT_JSON"
_MAX_ERROR_CHARS = 500
_MAX_REDIRECTS = 5
_REDIRECT_PAUSE = 60.0  # a redirect a write cannot follow: wait for the configuration to change
_READS = ("GET", "HEAD")
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = f"autolog/{__version__}"

# Exceptions raised before any byte of the request reached the server: never ambiguous.
_NOT_SENT_MARKERS = (
    "NewConnectionError",
    "NameResolutionError",
    "ConnectTimeoutError",
    "NotSent",
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
        #: ``scheme://netloc`` of the server: URLs under it go through the direct pool.
        self._origin_prefix = urlunsplit((parts.scheme.lower(), netloc, "", "", ""))
        #: Seconds one request may take in all (uploads: more, by their size).
        self.timeout = timeout
        self._auth = _http_auth.auth_from(env, self.base_url, parts.username, parts.password)
        self.verify, self.cert = _http_auth.tls_from(env)
        if self.verify is False:
            _warn_insecure(parts.hostname)
        # The proxy variables are read once, not per request (scanning the environment costs
        # CPU that competes with training for the GIL).
        self._proxy = _proxy_for(self.base_url)
        self._pool_size = pool_size
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        self._direct: HTTPConnectionPool | _plain_http.PlainPool | None = None
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
        send_headers = {"User-Agent": _USER_AGENT, **(headers or {})}
        if json_body is not None:
            try:
                data = json.dumps(json_body, allow_nan=False, separators=(",", ":")).encode()
            except (TypeError, ValueError) as error:
                return Result.failure(f"request body is not JSON-serializable: {error}")
            send_headers["Content-Type"] = "application/json"
        limit = self.timeout + upload_bytes / UPLOAD_BYTES_PER_SECOND
        with _deadline.watch(limit) as deadline:
            url = self.base_url + path
            if params:
                url += "?" + urlencode(params)
            try:
                response = self._send(method, url, data, send_headers, deadline)
            except _network_errors() as error:
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
        from urllib3.exceptions import HTTPError

        with _deadline.watch(self.timeout + len(data) / UPLOAD_BYTES_PER_SECOND) as deadline:
            try:
                raw = self._manager(_proxy_for(url)).urlopen(
                    "PUT", url, body=data, headers={"User-Agent": _USER_AGENT, **headers},
                    redirect=False, retries=False, timeout=_socket_timeout(deadline))
            except (HTTPError, OSError) as error:
                return Result.failure(f"uploading a part failed: {type(error).__name__}",
                                      retryable=True)
        if 200 <= raw.status < 300:
            return Result(ok=True, value=raw.headers.get("ETag", ""), status_code=raw.status)
        return Result.failure(f"HTTP {raw.status} uploading a part",
                              retryable=raw.status in RETRYABLE_STATUS, status_code=raw.status)

    def scrub(self, text: str) -> str:
        """``text`` without any credential (see ``autolog.backends._secrets``)."""
        return _secrets.scrub(text)

    def close(self) -> None:
        managers, self._managers = self._managers, {}
        direct, self._direct = self._direct, None
        if self._pool_pid == os.getpid():
            for manager in managers.values():
                manager.clear()
            if direct is not None:
                direct.close()

    def _own_pid(self) -> None:
        """A forked child starts pools of its own: two processes writing on one inherited
        keep-alive socket would mix up their answers."""
        if self._pool_pid != os.getpid():
            self._managers, self._direct, self._pool_pid = {}, None, os.getpid()

    def _direct_pool(self) -> HTTPConnectionPool | _plain_http.PlainPool:
        """This process's connections to the tracking server itself, no proxy between: over
        plain http the lean exchange of ``_plain_http`` (~0.25 ms of CPU less per request than
        urllib3), over https a urllib3 pool without the pool manager's URL parsing and pool
        lookup per request."""
        self._own_pid()
        pool = self._direct
        if pool is None:
            # No lock: two threads racing here make two pools, one unused.
            scheme, host, port = self._origin
            if scheme == "http":
                pool = _plain_http.PlainPool(host, port or 80, self._pool_size)
            else:
                pool = _deadline.watched_pool(scheme, host, port, maxsize=self._pool_size,
                                              block=False, **_tls_options(self.verify, self.cert))
            self._direct = pool
        return pool

    def _manager(self, proxy: str | None) -> urllib3.PoolManager:
        """This process's pool manager (through ``proxy`` when one is set)."""
        self._own_pid()
        manager = self._managers.get(proxy)
        if manager is None:
            # No lock: two threads racing here make two pools, one unused.
            manager = self._managers[proxy] = _new_manager(proxy, self._pool_size,
                                                           self.verify, self.cert)
        return manager

    # -- sending --------------------------------------------------------------------------------
    def _send(self, method: str, url: str, data: Any, headers: dict[str, str],
              deadline: _deadline.Deadline) -> _Answer:
        """Send, following redirects by the rules in the module docs; the whole answer is read
        (urllib3 returns the connection to the pool once it has)."""
        start = data.tell() if hasattr(data, "seek") else None
        if start is not None and "Content-Length" not in headers:
            # A file streams with its length announced, as servers expect of an upload.
            headers = {**headers, "Content-Length": str(os.fstat(data.fileno()).st_size - start)}
        for _ in range(_MAX_REDIRECTS + 1):
            direct = self._proxy is None and url.startswith(self._origin_prefix + "/")
            own_server = direct or _origin(url) == self._origin
            send = headers
            if own_server and self._auth:
                send = {**headers, "Authorization": self._auth}
            answer = self._exchange(method, url, data, send, deadline, direct=direct,
                                    own_server=own_server)
            location = answer.headers.get("Location")
            if answer.status not in _REDIRECTS or not location:
                return answer
            target = urljoin(url, location)
            if answer.status not in (307, 308) and method not in _READS:
                raise _RedirectRefused(self._redirect_refused(method, url, target,
                                                              answer.status))
            url = target  # the new location carries its own query
            if start is not None:
                data.seek(start)  # a streamed file goes again from its beginning
        raise _TooManyRedirects(f"more than {_MAX_REDIRECTS} redirects")

    def _exchange(self, method: str, url: str, data: Any, headers: dict[str, str],
                  deadline: _deadline.Deadline, *, direct: bool, own_server: bool) -> _Answer:
        """One request and its whole answer, without following redirects."""
        if direct:
            pool = self._direct_pool()
            target = url[len(self._origin_prefix):]
            if isinstance(pool, _plain_http.PlainPool):
                status, reason, answer_headers, content = pool.request(method, target, headers,
                                                                       data, deadline)
                return _Answer(status, answer_headers, content, reason)
            raw = pool.urlopen(method, target, body=data, headers=headers, redirect=False,
                               retries=False, timeout=_socket_timeout(deadline))
        else:
            proxy = self._proxy if own_server else _proxy_for(url)
            raw = self._manager(proxy).urlopen(
                method, url, body=data, headers=headers, redirect=False, retries=False,
                timeout=_socket_timeout(deadline))
        return _Answer(raw.status, raw.headers, raw.data or b"", raw.reason or "")

    def _redirect_refused(self, method: str, url: str, target: str, status: int) -> Result:
        return Result.failure(
            self.scrub(f"{self.base_url} redirected {method} {urlsplit(url).path} to "
                       f"{_secrets.scrub_url(target)} ({status}), which would turn the write "
                       "into a GET and drop its body; set the tracking URI to the address it "
                       "redirects to")[:_MAX_ERROR_CHARS],
            retryable=True, retry_after=_REDIRECT_PAUSE, status_code=status)

    # -- classification ---------------------------------------------------------------------------
    def _response_result(self, method: str, path: str, response: _Answer) -> Result:
        status = response.status
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

    def _not_json(self, method: str, path: str, response: _Answer) -> Result:
        """A 2xx that is not an MLflow answer: whatever answered may not have passed the request
        on (a login page, a captive portal), or passed it on and garbled the answer."""
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        snippet = " ".join(response.text[:120].split())
        error = self.scrub(
            f"HTTP {response.status} from {method} {path} with a body that is not JSON "
            f"({kind}: {snippet!r}); is something other than the tracking server answering, "
            "such as a login page or a proxy?")[:_MAX_ERROR_CHARS]
        logger.debug("tracking server answer unreadable: %s", error)
        return Result(ok=False, value=NOT_JSON, error=error, retryable=True, ambiguous=True,
                      status_code=response.status)

    def _deadline_failure(self, method: str, path: str, limit: float,
                          error: Exception) -> Result:
        error_text = self.scrub(
            f"no complete answer to {method} {path} within {limit:g} s, the request deadline "
            "(AUTOLOG_HTTP_TIMEOUT)")
        logger.debug("tracking server too slow: %s (%s)", error_text, type(error).__name__)
        return Result.failure(error_text[:_MAX_ERROR_CHARS], retryable=True,
                              ambiguous=not _never_sent(error))

    def _network_failure(self, method: str, path: str, error: Exception) -> Result:
        sent = not _never_sent(error)
        kind = type(error).__name__
        error_text = self.scrub(f"{kind} on {method} {path}: {error}")[:_MAX_ERROR_CHARS]
        logger.debug("tracking server unreachable: %s", error_text)
        if isinstance(error, _TooManyRedirects):  # a configuration to fix: wait for it
            return Result.failure(error_text, retryable=True, retry_after=_REDIRECT_PAUSE)
        if _invalid_url(error):
            # An invalid URL and the like: sending again changes nothing.
            return Result.failure(error_text, retryable=False, ambiguous=False)
        # Refused, reset, timed out, TLS or proxy trouble: it may pass.
        return Result.failure(error_text, retryable=True, ambiguous=sent)


@dataclass(frozen=True)
class _Answer:
    """A whole answer, read within the request's deadline."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    reason: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class _TooManyRedirects(Exception):
    pass


class _RedirectRefused(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.error)
        self.result = result


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _network_errors() -> tuple[type[BaseException], ...]:
    """What a request raises when the network or the server fails it: urllib3's errors only
    once urllib3 is loaded (before that, nothing can raise them)."""
    exceptions = sys.modules.get("urllib3.exceptions")
    if exceptions is None:
        return (OSError, _TooManyRedirects)
    return (OSError, _TooManyRedirects, exceptions.HTTPError)


def _invalid_url(error: BaseException) -> bool:
    """An invalid URL and the like, which sending again cannot change."""
    exceptions = sys.modules.get("urllib3.exceptions")
    return exceptions is not None and isinstance(
        error, (exceptions.LocationValueError, exceptions.ProxySchemeUnknown))


def _socket_timeout(deadline: _deadline.Deadline) -> urllib3.Timeout:
    """Each socket operation's own limit: what is left of the deadline (a backstop for when
    no watchdog thread can run)."""
    import urllib3

    left = max(0.001, deadline.remaining())
    return urllib3.Timeout(connect=left, read=left)


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``https_proxy``, ``http_proxy``,
    ``all_proxy``), or None when there is none or ``no_proxy`` covers its host."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None  # the common case, without loading urllib.request (~17 ms)
    import urllib.request

    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.netloc, proxies):
        return None
    return proxy


def _new_manager(proxy: str | None, pool_size: int, verify: bool | str,
                 cert: str | None) -> urllib3.PoolManager:
    """A pool manager with the TLS settings of ``_http_auth.tls_from``, its connections
    under the request deadline (through a SOCKS proxy: the socket timeouts only)."""
    import urllib3

    options = {"num_pools": 4, "maxsize": pool_size, "block": False,
               **_tls_options(verify, cert)}
    if proxy is None:
        return _deadline.watched(urllib3.PoolManager(**options))
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks

        return SOCKSProxyManager(proxy, **options)
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    proxy_headers = None
    if parts.username or parts.password:
        _secrets.remember(parts.username or "", parts.password or "")  # as written
        proxy_headers = {"Proxy-Authorization": _http_auth.basic(
            unquote(parts.username or ""), unquote(parts.password or ""))}
    return _deadline.watched(urllib3.ProxyManager(proxy, proxy_headers=proxy_headers, **options))


def _tls_options(verify: bool | str, cert: str | None) -> dict[str, Any]:
    """urllib3's TLS keywords for the settings of ``_http_auth.tls_from``."""
    tls: dict[str, Any] = {"cert_reqs": "CERT_NONE" if verify is False else "CERT_REQUIRED"}
    if isinstance(verify, str):
        tls["ca_cert_dir" if os.path.isdir(verify) else "ca_certs"] = verify
    elif verify:
        tls["ca_certs"] = _default_ca_bundle()
    if cert:
        tls["cert_file"] = cert
    return tls


def _default_ca_bundle() -> str | None:
    """certifi's bundle where it is installed (what MLflow's client verifies against), else
    the system's store."""
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def _warn_insecure(host: str) -> None:
    """One warning from autolog instead of urllib3's one per request."""
    warn_once(f"insecure-tls:{host}",
              f"autolog: MLFLOW_TRACKING_INSECURE_TLS is set, so the certificate of {host} is "
              "not verified: anyone on the network path can read and change what autolog "
              "sends, credentials included. Point MLFLOW_TRACKING_SERVER_CERT_PATH at your CA "
              "bundle instead.")
    warnings.filterwarnings("ignore", message=re.escape(
        f"Unverified HTTPS request is being made to host '{host}'"))


def _error_details(response: _Answer) -> tuple[str, str]:
    """MLflow answers ``{"error_code", "message"}``; proxies answer HTML or plain text."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and ("error_code" in body or "message" in body):
        return str(body.get("error_code") or ""), str(body.get("message") or "")
    text = " ".join(response.text.split()) if response.content else ""
    return "", text[:200] or (response.reason or "")


def _never_sent(error: BaseException) -> bool:
    """True when the failure happened before the request could reach the server."""
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

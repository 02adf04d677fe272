"""A small HTTP proxy on 127.0.0.1 that forwards to a real server and injects faults.

Each rule sees ``(method, path)`` and may answer with a fault instead of (or after) forwarding:

- ``Fault.status(code, retry_after=None)``: answer ``code`` without forwarding;
- ``Fault.lose_response()``: forward, let the server act on it, then close without answering;
- ``Fault.reset()``: close the connection after reading the request, forwarding nothing;
- ``Fault.hang(seconds)``: wait, then close without answering (a client timeout);
- ``Fault.html()``: answer ``200`` with an HTML page without forwarding (a login page);
- ``Fault.garbage()``: forward, let the server act on it, then answer ``200`` with a body that
  is not JSON (a proxy that mangled the answer);
- ``Fault.redirect(to, code=307)``: answer a redirect to the same path on the base ``to``;
- ``Fault.max_body(n)``: 413 for request bodies over ``n`` bytes, forward the rest.

A rule applies to requests whose path contains ``path_contains`` (or matches the regular
expression ``path_regex``) and, if given, whose method is ``method``; a rule without either
applies to every request. It fires on the first matching request after ``after`` matching
requests reached the server (0: the first one; 1: a later one), ``times`` times in all. A
request reached the server when it was forwarded, whatever happened to its answer (lost,
mangled, or a redirect that led there). Rules are looked at in order; the first that fires
wins.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HTML_PAGE = b"<!doctype html><html><body><h1>Please sign in</h1></body></html>"
GARBAGE = b'{"run": {"info": {"run_id": "abc'  # cut off: not JSON
#: Faults after which the server has acted on the request.
_REACHED = ("lose", "garbage", "redirect")


@dataclass
class Fault:
    kind: str
    code: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    limit: int = 0
    path_contains: str = ""
    path_regex: str = ""
    method: str = ""
    location: str = ""
    after: int = 0
    times: int = 1
    name: str = ""
    hits: int = field(default=0)
    passed: int = field(default=0)

    @classmethod
    def status(cls, code: int, retry_after: str | None = None, **kw) -> Fault:
        return cls("status", code=code, retry_after=retry_after, **kw)

    @classmethod
    def lose_response(cls, **kw) -> Fault:
        return cls("lose", **kw)

    @classmethod
    def reset(cls, **kw) -> Fault:
        return cls("reset", **kw)

    @classmethod
    def hang(cls, seconds: float, **kw) -> Fault:
        return cls("hang", seconds=seconds, **kw)

    @classmethod
    def html(cls, **kw) -> Fault:
        return cls("html", **kw)

    @classmethod
    def garbage(cls, **kw) -> Fault:
        return cls("garbage", **kw)

    @classmethod
    def redirect(cls, to: str, code: int = 307, **kw) -> Fault:
        return cls("redirect", code=code, location=to.rstrip("/"), **kw)

    @classmethod
    def max_body(cls, limit: int, **kw) -> Fault:
        return cls("max_body", limit=limit, times=10**9, **kw)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if self.path_contains and self.path_contains not in path:
            return False
        return not (self.path_regex and not re.search(self.path_regex, path))


class FaultProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rules: list[Fault] = []
        self.log: list[tuple[str, str, str]] = []  # (method, path, what happened)
        #: Per entry of ``log``: requests being handled when it arrived, itself included.
        self.concurrency: list[int] = []
        self._in_flight = 0
        self._lock = threading.RLock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy._in_flight += 1
                    fault = proxy._match(self.command, self.path, len(body))
                    kind = fault.kind if fault else "forward"
                    proxy.log.append((self.command, self.path, kind))
                    proxy.concurrency.append(proxy._in_flight)
                self._counted = True
                try:
                    self._serve(fault, kind, body)
                finally:
                    self._over()

            def _over(self) -> None:
                """No longer in flight: counted before the answer is written, so the client's
                next request never finds this one still counted."""
                if getattr(self, "_counted", False):
                    self._counted = False
                    with proxy._lock:
                        proxy._in_flight -= 1

            def _serve(self, fault: Fault | None, kind: str, body: bytes) -> None:
                if kind == "status":
                    payload = b'{"error_code": "INJECTED", "message": "injected fault"}'
                    headers = {"Content-Type": "application/json"}
                    if fault.retry_after is not None:
                        headers["Retry-After"] = fault.retry_after
                    self._answer(fault.code, headers, payload)
                    return
                if kind == "max_body_exceeded":
                    self._answer(413, {}, b"")
                    return
                if kind == "html":
                    self._answer(200, {"Content-Type": "text/html"}, HTML_PAGE)
                    return
                if kind == "redirect":
                    self._answer(fault.code, {"Location": fault.location + self.path}, b"")
                    return
                if kind in ("reset", "hang"):
                    if kind == "hang":
                        time.sleep(fault.seconds)
                    self._abort()
                    return
                status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                if kind == "lose":
                    self._abort()
                    return
                if kind == "garbage":
                    self._answer(200, {"Content-Type": "application/json"}, GARBAGE)
                    return
                self._answer(status, {name: value for name, value in headers
                                      if name.lower() not in ("transfer-encoding", "connection",
                                                              "content-length")}, data)

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self._over()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _abort(self) -> None:
                self._over()
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.uri = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _match(self, method: str, path: str, body_size: int) -> Fault | None:
        with self._lock:
            matching = [rule for rule in self.rules if rule.matches(method, path)]
            chosen = None
            for rule in matching:
                if rule.kind == "max_body":
                    if body_size > rule.limit:
                        return Fault("max_body_exceeded")
                    continue
                if rule.hits < rule.times and rule.passed >= rule.after:
                    rule.hits += 1
                    chosen = rule
                    break
            if chosen is None or chosen.kind in _REACHED:  # "later" rules count it
                for rule in matching:
                    rule.passed += 1
        return chosen

    def _forward(self, method: str, path: str, headers, body: bytes):
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items()
                         if k.lower() not in ("host", "connection", "content-length")}
            forwarded["Host"] = f"127.0.0.1:{self.upstream_port}"
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self.rules.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def fired(self) -> list[Fault]:
        """The rules that fired at least once."""
        with self._lock:
            return [rule for rule in self.rules if rule.hits]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_) -> None:
        self.close()

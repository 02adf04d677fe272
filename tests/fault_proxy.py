"""A small HTTP proxy on 127.0.0.1 that forwards to a real server and injects faults.

Each rule sees ``(method, path)`` and may answer with a fault instead of (or after) forwarding:

- ``Fault.status(code, retry_after=None)``: answer ``code`` without forwarding;
- ``Fault.lose_response()``: forward, let the server store it, then close without answering;
- ``Fault.reset()``: close the connection after reading the request, forwarding nothing;
- ``Fault.hang(seconds)``: wait, then close without answering (a client timeout);
- ``Fault.max_body(n)``: 413 for request bodies over ``n`` bytes, forward the rest.

Rules are consumed in order; ``times`` says how many requests a rule applies to.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Fault:
    kind: str
    code: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    limit: int = 0
    path_contains: str = ""
    times: int = 1
    hits: int = field(default=0)

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
    def max_body(cls, limit: int, **kw) -> Fault:
        return cls("max_body", limit=limit, times=10**9, **kw)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rules: list[Fault] = []
        self.log: list[tuple[str, str, str]] = []  # (method, path, what happened)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._match(self.command, self.path, len(body))
                kind = fault.kind if fault else "forward"
                proxy.log.append((self.command, self.path, kind))
                if kind == "status":
                    payload = b'{"error_code": "INJECTED", "message": "injected fault"}'
                    self.send_response(fault.code)
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", fault.retry_after)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if kind == "max_body_exceeded":
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
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
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _abort(self) -> None:
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _match(self, method: str, path: str, body_size: int) -> Fault | None:
        with self._lock:
            for rule in self.rules:
                if rule.path_contains and rule.path_contains not in path:
                    continue
                if rule.kind == "max_body":
                    if body_size > rule.limit:
                        return Fault("max_body_exceeded")
                    continue
                if rule.hits < rule.times:
                    rule.hits += 1
                    return rule
        return None

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

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_) -> None:
        self.close()

"""A scriptable HTTP(S) server on 127.0.0.1, for behaviours a healthy MLflow server won't show
(errors, slow or broken answers, redirects, echoed credentials)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # which connection it came on


@dataclass
class FakeServer:
    """Answers every request with ``respond(seen) -> (status, headers, body)``, or with raw
    bytes written as they are before the connection is closed."""

    respond: Callable[[Seen], Any]
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body,
                            self.client_address[1])
                fake.seen.append(seen)
                answer = fake.respond(seen)
                if isinstance(answer, bytes):  # raw bytes, then hang up: broken responses
                    self.wfile.write(answer)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                status, headers, payload = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = _handle

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_answer(status: int, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, str],
                                                                          bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()

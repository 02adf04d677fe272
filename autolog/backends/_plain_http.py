"""Keep-alive HTTP/1.1 to the tracking server itself, over plain ``http://`` with no proxy.

Why not urllib3 here: a small run costs three requests, and each one through urllib3 and
``http.client`` cost ~0.32 ms of CPU on the delivering thread (request objects, header dicts,
the answer's headers parsed by the ``email`` package), against ~0.07 ms for the exchange on the
socket itself. That CPU is taken from training, whose thread waits for the GIL meanwhile. So
the most common case, a server on the same machine or network, gets this lean exchange; TLS,
proxies and presigned URLs keep going through urllib3.

What it does: one request at a time per connection, connections kept alive and reused (an idle
one the server has closed is noticed before use and replaced), bodies from memory or streamed
from a file, answers framed by ``Content-Length``, chunked or by the connection's end. Every
connection answers to the request's deadline (``_deadline``). Errors are ``OSError``s, like
urllib3's for the transport: :class:`NotSent` where the request cannot have reached the server.
"""

from __future__ import annotations

import collections
import re
import select
import socket
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO

from autolog.backends import _deadline

_MAX_LINE = 65536  # one status or header line
_MAX_HEADERS = 100
_NO_BODY_STATUSES = (204, 304)
_FILE_CHUNK = 1 << 20
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")
_LINE_BREAK_OR_COLON = re.compile(r"[\r\n:]")
_HAS_POLL = hasattr(select, "poll")  # not on Windows


class NotSent(OSError):
    """The request could not reach the server (no connection): sending again is safe."""


class BadAnswer(OSError):
    """The server's answer broke off or was not HTTP/1.x."""


class Headers(dict):
    """An answer's headers: names in lower case, looked up in any case."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


#: status, reason, headers, body
Answer = tuple[int, str, Headers, bytes]


class PlainPool:
    """Connections to one ``host:port``, shared by threads; at most ``maxsize`` kept idle."""

    def __init__(self, host: str, port: int, maxsize: int) -> None:
        self.host = host
        self.port = port
        self.maxsize = maxsize
        name = f"[{host}]" if ":" in host else host
        self._host_line = f"Host: {name}{'' if port == 80 else f':{port}'}\r\n"
        self._idle: collections.deque[_Connection] = collections.deque()

    def request(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes | BinaryIO | None, deadline: _deadline.Deadline) -> Answer:
        """Send one request and read its whole answer within ``deadline``."""
        head = _head(method, target, self._host_line, headers, body)
        connection = self._take(deadline)
        try:
            connection.sock.settimeout(max(0.001, deadline.remaining()))
            connection.send(head, body)
            answer, keep = connection.read_answer(method)
        except BaseException:
            connection.close()
            raise
        if keep and not deadline.expired:
            self._give(connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:  # emptied by another thread meanwhile
                break

    def _take(self, deadline: _deadline.Deadline) -> _Connection:
        while True:
            try:
                connection = self._idle.pop()  # the most recent: the least likely closed
            except IndexError:
                break
            if connection.reusable():
                _deadline.attach(connection)
                return connection
            connection.close()
        connection = _Connection()
        _deadline.attach(connection)
        connection.connect(self.host, self.port, max(0.001, deadline.remaining()))
        return connection

    def _give(self, connection: _Connection) -> None:
        if len(self._idle) < self.maxsize:
            self._idle.append(connection)
        else:
            connection.close()


class _Connection:
    __slots__ = ("sock", "reader", "_autolog_deadline")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.reader: Any = None

    def connect(self, host: str, port: int, timeout: float) -> None:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise NotSent(f"cannot connect to {host}:{port}: {error}") from error
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.reader = sock.makefile("rb")

    def reusable(self) -> bool:
        """An idle connection is readable only when the server closed it (or sent something
        no request asked for): either way it cannot carry the next request."""
        try:
            return not _readable_now(self.sock)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        for part in (self.reader, self.sock):
            if part is not None:
                try:
                    part.close()
                except OSError:
                    pass

    def send(self, head: bytes, body: bytes | BinaryIO | None) -> None:
        sock = self.sock
        if body is None or isinstance(body, (bytes, bytearray)):
            sock.sendall(head + body if body else head)
            return
        sock.sendall(head)
        while True:  # a file: from where it stands to its end, as announced
            chunk = body.read(_FILE_CHUNK)
            if not chunk:
                return
            sock.sendall(chunk)

    def read_answer(self, method: str) -> tuple[Answer, bool]:
        """The answer and whether the connection may carry another request."""
        reader = self.reader
        while True:
            line = reader.readline(_MAX_LINE + 1)
            if not line:
                raise BadAnswer("the server closed the connection without answering")
            version, status, reason = _status_line(line)
            headers = _read_headers(reader)
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer; the real one follows
            break
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
            return (status, reason, headers, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            content = _read_chunked(reader)
        elif "content-length" in headers:
            length = _length(headers["content-length"])
            content = reader.read(length)
            if len(content) < length:
                raise BadAnswer(f"the answer broke off after {len(content)} of {length} bytes")
        else:  # framed by the connection's end
            content = reader.read()
            keep = False
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding and encoding != "identity":
            content = _decoded(content, encoding)
        return (status, reason, headers, content), keep


def _readable_now(sock: socket.socket) -> bool:
    """poll() where there is one: select() refuses descriptors numbered 1024 or more, which a
    process holding many files gets for its sockets."""
    if _HAS_POLL:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _head(method: str, target: str, host_line: str, headers: Mapping[str, str],
          body: bytes | BinaryIO | None) -> bytes:
    """The request line and headers; refuses what would let a value start a new header."""
    parts = [method, " ", target, " HTTP/1.1\r\n", host_line,
             "Accept-Encoding: identity\r\n"]
    for name, value in headers.items():
        value = str(value)
        if _LINE_BREAK.search(value) or _LINE_BREAK_OR_COLON.search(name):
            raise ValueError(f"invalid header {name!r}")
        parts += (name, ": ", value, "\r\n")
    if isinstance(body, (bytes, bytearray)):
        parts += ("Content-Length: ", str(len(body)), "\r\n")
    elif body is None and method in ("POST", "PUT", "PATCH"):
        parts.append("Content-Length: 0\r\n")
    parts.append("\r\n")
    if _CONTROL_OR_SPACE.search(target):
        raise ValueError(f"invalid request target {target!r}")
    return "".join(parts).encode("latin-1")


def _status_line(line: bytes) -> tuple[str, int, str]:
    if len(line) > _MAX_LINE:
        raise BadAnswer("status line too long")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise BadAnswer(f"not an HTTP/1.x answer: {line[:80]!r}")
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""


def _read_headers(reader: Any) -> Headers:
    headers = Headers()
    last = None
    readline = reader.readline
    for _ in range(_MAX_HEADERS + 1):
        line = readline(_MAX_LINE + 1)
        if line == b"\r\n" or line == b"\n":
            return headers
        if not line:
            raise BadAnswer("the answer broke off in its headers")
        if len(line) > _MAX_LINE:
            raise BadAnswer("header line too long")
        text = line.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and last is not None:  # an obsolete folded line
            headers[last] = f"{dict.__getitem__(headers, last)} {text.strip()}"
            continue
        name, sep, value = text.partition(":")
        if not sep:
            raise BadAnswer(f"malformed header line {line[:80]!r}")
        last = name.strip().lower()
        value = value.strip()
        if last in headers:  # a repeated header: its values joined, as HTTP allows
            value = f"{dict.__getitem__(headers, last)}, {value}"
        headers[last] = value
    raise BadAnswer(f"more than {_MAX_HEADERS} headers")


def _read_chunked(reader: Any) -> bytes:
    chunks = []
    while True:
        line = reader.readline(_MAX_LINE + 1)
        if not line:
            raise BadAnswer("the answer broke off between chunks")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadAnswer(f"malformed chunk size {line[:40]!r}") from None
        if size == 0:
            _read_headers(reader)  # trailers, if any, up to the blank line
            return b"".join(chunks)
        chunk = reader.read(size)
        if len(chunk) < size or reader.read(2) not in (b"\r\n",):
            raise BadAnswer("the answer broke off inside a chunk")
        chunks.append(chunk)


def _length(value: str) -> int:
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise BadAnswer(f"invalid Content-Length {value!r}")
    return int(values.pop())


def _decoded(content: bytes, encoding: str) -> bytes:
    """Bodies are asked for uncompressed; a server that compresses anyway is decoded."""
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(content, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(content)
            except zlib.error:
                return zlib.decompress(content, -zlib.MAX_WBITS)
    except zlib.error as error:
        raise BadAnswer(f"the answer's {encoding} body is damaged: {error}") from None
    raise BadAnswer(f"the answer's body is in an encoding not asked for: {encoding}")

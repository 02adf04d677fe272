"""Requests to a plain-http tracking server take autolog's lean HTTP/1.1 exchange: every way a
server or a proxy in front of it may frame an answer must read as urllib3 would read it, and a
connection the server has closed while idle must never cost a request."""

from __future__ import annotations

import gzip
import json
import os
import resource
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autolog.backends._transport import HttpTransport
from tests.fake_http import FakeServer, Seen, json_answer

BODY = {"run": {"info": {"run_id": "abc"}}, "text": "é" * 3}
RAW = json.dumps(BODY).encode()


def _chunked(data: bytes, size: int = 7) -> bytes:
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return body + b"0\r\nX-Trailer: yes\r\n\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + _chunked(RAW),
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(gzip.compress(RAW)), gzip.compress(RAW)),
        b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
        % (len(zlib.compress(RAW)), zlib.compress(RAW)),
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + RAW,  # ends with the connection
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
        % (len(RAW), RAW),
        b"HTTP/1.1 200\r\nX-Folded: one\r\n two\r\ncontent-length: %d\r\n\r\n%s" % (len(RAW), RAW),
    ],
    ids=["chunked-with-trailers", "gzip", "deflate", "no-length", "interim-100", "folded-no-reason"],
)
def test_every_framing_of_an_answer_reads_whole(fake_server: Callable[..., FakeServer],
                                                raw: bytes) -> None:
    server = fake_server(lambda _: raw)
    transport = HttpTransport(server.uri)
    result = transport.request("GET", "/api/2.0/mlflow/runs/get", params={"run_id": "abc"})
    transport.close()
    assert result.ok, result.error
    assert result.value == BODY
    assert server.seen[0].path == "/api/2.0/mlflow/runs/get?run_id=abc"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":",  # shorter than announced
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # not a chunk size
        b"SSH-2.0-OpenSSH_9.6\r\n",  # not HTTP at all
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Encoding: gzip\r\n\r\nno",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}",
    ],
    ids=["short-body", "bad-chunk", "not-http", "bad-gzip", "two-lengths"],
)
def test_a_broken_answer_is_retried_and_may_have_acted(fake_server: Callable[..., FakeServer],
                                                       raw: bytes) -> None:
    server = fake_server(lambda _: raw)
    transport = HttpTransport(server.uri)
    result = transport.request("POST", "/api/2.0/mlflow/runs/create", json_body={"a": 1})
    transport.close()
    assert not result.ok and result.retryable and result.ambiguous
    assert len(server.seen) == 1


def test_connections_are_kept_alive_and_a_closed_one_costs_no_request(
    fake_server: Callable[..., FakeServer],
) -> None:
    """A server closes idle keep-alive connections (uvicorn after 5 s): the next request goes
    on a new connection instead of failing on the dead one."""
    hang_up_after: set[str] = {"/closes"}

    def respond(seen: Seen) -> Any:
        if seen.path in hang_up_after:  # answers as if it kept the connection, then hangs up
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        return json_answer(200, {"path": seen.path})

    server = fake_server(respond)
    transport = HttpTransport(server.uri)
    results = [transport.request("GET", path) for path in ("/a", "/b", "/closes")]
    time.sleep(0.5)  # idle, while the server hangs up
    results += [transport.request("GET", path) for path in ("/c", "/d")]
    transport.close()
    assert all(result.ok for result in results), [result.error for result in results]
    assert [result.value for result in results] == [
        {"path": "/a"}, {"path": "/b"}, {}, {"path": "/c"}, {"path": "/d"}]
    ports = [seen.client_port for seen in server.seen]
    assert ports[0] == ports[1] == ports[2]  # one connection, kept alive
    assert ports[3] != ports[2] and ports[3] == ports[4]  # a new one after the hang-up


def test_connections_are_reused_in_a_process_with_over_a_thousand_open_files(
    fake_server: Callable[..., FakeServer],
) -> None:
    """select() cannot watch a descriptor numbered 1024 or more; a process holding many files
    (data loaders, a long test session) gets such sockets and must still keep them alive."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    held: list[int] = []
    try:
        while True:  # fill the low numbers, so that the next socket is numbered high
            held.append(os.open(os.devnull, os.O_RDONLY))
            if held[-1] >= 1100:
                break
        server = fake_server(lambda seen: json_answer(200, {"path": seen.path}))
        transport = HttpTransport(server.uri)
        results = [transport.request("GET", f"/{n}") for n in range(4)]
        transport.close()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert all(result.ok for result in results), [result.error for result in results]
    assert len({seen.client_port for seen in server.seen}) == 1


def test_a_connection_the_answer_closes_is_not_reused(fake_server: Callable[..., FakeServer]
                                                      ) -> None:
    server = fake_server(lambda seen: json_answer(200, {}, Connection="close"))
    transport = HttpTransport(server.uri)
    assert all(transport.request("GET", f"/{n}").ok for n in range(3))
    transport.close()
    assert len({seen.client_port for seen in server.seen}) == 3


def test_a_streamed_file_arrives_whole_and_answers_are_exact(
    fake_server: Callable[..., FakeServer], tmp_path: Path,
) -> None:
    data = bytes(range(256)) * 9000  # ~2.3 MB: several reads of the file
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    server = fake_server(lambda seen: json_answer(200, {"size": len(seen.body)}))
    transport = HttpTransport(server.uri)
    with open(path, "rb") as handle:
        handle.seek(10)  # streamed from where the file stands
        result = transport.request("PUT", "/api/2.0/mlflow-artifacts/artifacts/x/model.bin",
                                   data=handle, upload_bytes=len(data) - 10)
    empty = transport.request("POST", "/api/2.0/mlflow/runs/update")
    transport.close()
    assert result.ok and result.value == {"size": len(data) - 10}
    assert server.seen[0].body == data[10:]
    assert server.seen[0].headers["Content-Length"] == str(len(data) - 10)
    assert empty.ok and server.seen[1].headers["Content-Length"] == "0"
    assert server.seen[1].headers["Host"] == f"127.0.0.1:{server.port}"


def test_a_header_that_would_start_another_is_refused(fake_server: Callable[..., FakeServer]
                                                      ) -> None:
    server = fake_server(lambda seen: json_answer(200, {}))
    transport = HttpTransport(server.uri)
    result = transport.request("GET", "/x", headers={"X-Note": "a\r\nX-Injected: 1"})
    transport.close()
    assert not result.ok
    assert all("X-Injected" not in seen.headers for seen in server.seen)

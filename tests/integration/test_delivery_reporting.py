"""What a user sees when delivery cannot go ahead, through the public API and the CLI, as a
user meets it: a URI that is not an MLflow server, a server that trickles its answers, TLS
verification turned off, and credentials echoed back by a server (never shown, never stored).
Also the experiments autolog creates, as MLflow's UI reads them."""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

import autolog
from autolog import AutologWarning
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from tests.fake_http import FakeServer, Seen, json_answer

API = "/api/2.0/mlflow"
RUN = {"run": {"info": {"run_id": "r" * 32, "artifact_uri": "mlflow-artifacts:/1/r/artifacts"}}}


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Retries every few ms, and the store in ``tmp_path`` (returned) for the CLI to read."""
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.01")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.05")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    yield tmp_path / "runs"
    shutdown(0.5)


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(respond: Callable[[Seen], object], tls: ssl.SSLContext | None = None) -> FakeServer:
        servers.append(FakeServer(respond, tls=tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def a_fake_mlflow(overrides: Callable[[Seen], object] | None = None) -> Callable[[Seen], object]:
    """Just enough of MLflow's tracking API for one run; ``overrides`` answers first."""
    def respond(seen: Seen) -> object:
        answer = overrides(seen) if overrides else None
        if answer is not None:
            return answer
        if "experiments/get-by-name" in seen.path:
            return json_answer(200, {"experiment": {"experiment_id": "1"}})
        if "runs/create" in seen.path:
            return json_answer(200, RUN)
        return json_answer(200, {})
    return respond


def _log_one_run(uri: str) -> autolog.Run:
    with autolog.start_run("waiting", tracking_uri=uri, experiment="demo") as run:
        run.log_params({"lr": 0.1})
        run.log_metrics({"loss": 0.5}, step=0)
    return run


def _status(store_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "autolog", "--dir", str(store_dir), "status"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- a URI that is not an MLflow tracking server --------------------------------------------------
@pytest.mark.parametrize("answer", [
    (404, {"Content-Type": "text/html"}, b"<html><h1>Not Found</h1></html>"),
    (400, {"Content-Type": "text/plain"}, b"Bad Request"),
    (200, {"Content-Type": "text/html"}, b"<html>Welcome to the wiki</html>"),
], ids=["404", "400", "200-html"])
def test_a_uri_that_is_not_mlflow_says_why_once_and_status_shows_it(
    serve: Callable[..., FakeServer], quick_retries: Path, answer: tuple
) -> None:
    server = serve(lambda _: answer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _log_one_run(server.uri)
        assert not autolog.flush(1.0)  # nothing delivered, nothing lost: it waits
    assert len(server.seen) > 3  # tried again and again ...
    said = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
    expected = (f"{server.uri}: not an MLflow tracking server ({answer[0]} on "
                f"{API}/experiments/get-by-name) — check the URI and any path prefix")
    assert len(said) == 1 and expected in said[0], said  # ... and said so once
    shown = _status(quick_retries)
    assert f"waiting  {run.run_id[:12]}" in shown
    assert "last error" in shown and expected in shown


def test_a_missing_path_prefix_in_front_of_a_real_server_is_named(
    mlflow_server, quick_retries: Path
) -> None:
    uri = mlflow_server.uri + "/mlflow"  # the server has no such prefix
    with pytest.warns(AutologWarning, match="not an MLflow tracking server") as caught:
        _log_one_run(uri)
        assert not autolog.flush(1.0)
    assert f"{uri}: not an MLflow tracking server (404 on {API}/experiments/get-by-name)" in str(
        caught[0].message)


# -- a server that trickles its answer --------------------------------------------------------------
class TricklingServer:
    """Answers every request one byte every 0.25 s (headers too, with ``slow_headers``), and
    notes how much of the answer it got out before the client hung up."""

    def __init__(self, slow_headers: bool) -> None:
        body = json.dumps({"experiment": {"experiment_id": "1", "padding": "x" * 40}}).encode()
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.answer = head + body
        self.slow_from = 0 if slow_headers else len(head)
        self.sent_before_hangup: list[int] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.uri = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            sent = 0
            try:
                connection.sendall(self.answer[:self.slow_from])
                sent = self.slow_from
                while sent < len(self.answer):
                    time.sleep(0.25)
                    connection.sendall(self.answer[sent:sent + 1])
                    sent += 1
            except OSError:
                self.sent_before_hangup.append(sent)

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("slow_headers", [False, True], ids=["slow-body", "slow-headers"])
def test_a_trickling_server_is_cut_at_the_request_deadline(
    quick_retries: Path, monkeypatch: pytest.MonkeyPatch, slow_headers: bool
) -> None:
    monkeypatch.setenv("AUTOLOG_HTTP_TIMEOUT", "1")
    server = TricklingServer(slow_headers)
    try:
        with pytest.warns(AutologWarning, match=r"no complete answer to GET "
                          rf"{API}/experiments/get-by-name within 1 s") as caught:
            _log_one_run(server.uri)
            assert not autolog.flush(2.5)
            deadline = time.monotonic() + 10
            while not server.sent_before_hangup and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        server.close()
    assert "AUTOLOG_HTTP_TIMEOUT" in str(caught[0].message)
    # The client hung up long before the server could finish (one byte every 0.25 s).
    assert server.sent_before_hangup and server.sent_before_hangup[0] < len(server.answer) - 20


# -- TLS verification turned off ----------------------------------------------------------------
@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_insecure_tls_warns_once_and_requests_stay_quiet(
    serve: Callable[..., FakeServer], quick_retries: Path, monkeypatch: pytest.MonkeyPatch,
    self_signed: ssl.SSLContext,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    server = serve(a_fake_mlflow(), tls=self_signed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            _log_one_run(server.uri)
        assert autolog.flush(10)
        autolog.start_run("again", tracking_uri=server.uri + "/", experiment="demo").end()
        assert autolog.flush(10)
    assert any("runs/update" in seen.path for seen in server.seen)  # it did talk to the server
    said = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
    assert len(said) == 1 and "MLFLOW_TRACKING_INSECURE_TLS" in said[0], said
    assert "127.0.0.1 is not verified" in said[0]
    noisy = [w for w in caught if w.category.__name__ == "InsecureRequestWarning"]
    assert noisy == []  # not one per request


# -- TLS verification on ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private_ca_server_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A server certificate for 127.0.0.1 (as a subject alternative name) that no public CA
    signed: its context, and the PEM a user would name in MLFLOW_TRACKING_SERVER_CERT_PATH."""
    folder = tmp_path_factory.mktemp("tls-verified")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_a_certificate_no_trusted_ca_signed_holds_delivery_until_its_ca_is_named(
    serve: Callable[..., FakeServer], quick_retries: Path, monkeypatch: pytest.MonkeyPatch,
    private_ca_server_cert: tuple[ssl.SSLContext, Path],
) -> None:
    context, cert = private_ca_server_cert
    for name in ("MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_INSECURE_TLS",
                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    server = serve(a_fake_mlflow(), tls=context)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        _log_one_run(server.uri)
        assert not autolog.flush(1.0)  # verified by default: nothing sent, nothing lost
    assert not any("runs/" in seen.path for seen in server.seen)
    shown = _status(quick_retries)
    assert "last error" in shown and "certificate" in shown.lower(), shown
    shutdown(0.5)

    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _log_one_run(server.uri)
        assert autolog.flush(10)  # both runs: the one that waited is delivered now
    created = [seen for seen in server.seen if seen.path.endswith("runs/create")]
    assert len(created) == 2
    assert not [w for w in caught if issubclass(w.category, AutologWarning)]


# -- credentials a server echoes back --------------------------------------------------------------
PASSWORD = "hunter2-s3cr3t-pw"


@pytest.mark.parametrize("source", ["environment", "netrc", "uri"])
def test_basic_credentials_echoed_by_a_server_are_never_shown_or_stored(
    serve: Callable[..., FakeServer], quick_retries: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, caplog: pytest.LogCaptureFixture, source: str,
) -> None:
    def echo(seen: Seen) -> object:
        headers = json.dumps(seen.headers)
        if "log-batch" in seen.path:  # refused on its merits: set aside in `rejected`
            return json_answer(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                     "message": f"bad batch; you sent {headers}"})
        if "runs/update" in seen.path:  # a proxy in trouble: kept waiting, error recorded
            return 503, {"Content-Type": "text/plain"}, f"upstream down for {headers}".encode()
        return None

    server = serve(a_fake_mlflow(echo))
    uri = server.uri
    if source == "environment":
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    elif source == "netrc":
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login alice password {PASSWORD}\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
    else:
        uri = uri.replace("://", f"://alice:{PASSWORD}@")
    encoded = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    caplog.set_level(logging.DEBUG, logger="autolog")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _log_one_run(uri)
        assert not autolog.flush(1.0)
    assert server.seen[0].headers["Authorization"] == f"Basic {encoded}"  # it was sent ...
    store = LocalStore(quick_retries)
    rejected = [error for (error,) in store.connect().execute("SELECT error FROM rejected")]
    assert rejected and "Basic ***" in rejected[0]  # ... echoed, and scrubbed
    stored = rejected + [error for error, _ in store.last_delivery_errors().values()]
    stored += [error for error, _ in store.run_delivery_errors().values()]
    assert any("upstream down" in text for text in stored)
    shown = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    shown += [_status(quick_retries)]
    everything = "\n".join(stored + shown)
    assert encoded not in everything and PASSWORD not in everything
    assert run.run_id[:12] in shown[-1]


# -- experiments autolog creates --------------------------------------------------------------------
def test_experiments_autolog_creates_open_on_training_runs(mlflow_server, experiment_name,
                                                           quick_retries: Path) -> None:
    existing = f"{experiment_name}-existing"
    created = requests.post(f"{mlflow_server.uri}{API}/experiments/create",
                            json={"name": existing, "tags": [{"key": "team", "value": "x"}]},
                            timeout=30)
    created.raise_for_status()
    for name in (experiment_name, existing):
        autolog.start_run("fit", tracking_uri=mlflow_server.uri, experiment=name).end()
    assert autolog.flush(30)

    def tags(name: str) -> dict[str, str]:
        experiment = mlflow_server.reader.get_experiment_by_name(name)
        return {tag["key"]: tag["value"] for tag in experiment.get("tags", [])}

    assert tags(experiment_name) == {"mlflow.experimentKind": "custom_model_development"}
    assert tags(existing) == {"team": "x"}  # an existing experiment is never changed

"""Large files: multipart where the artifact proxy offers it, one streamed PUT where it says it
cannot; and a model directory whose build fails costs a warning, not the run's other records."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import autolog
from autolog._runs import get_pipeline, shutdown
from autolog.backends.mlflow_rest import MlflowRestBackend
from autolog.models import _package, log_model

ROOT = "mlflow-artifacts:/7/abc/artifacts"
_MPU = "/api/2.0/mlflow-artifacts/mpu"


class _FakeProxy(BaseHTTPRequestHandler):
    """Just enough of MLflow's artifact proxy; ``server.multipart`` says if it has parts."""

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:  # noqa: N802
        server = self.server
        body = json.loads(self._body())
        server.calls.append(("POST", self.path, body, self.headers.get("Authorization")))
        if self.path.startswith(f"{_MPU}/create/"):
            if not server.multipart:
                self._reply(501, {"error_code": "NOT_IMPLEMENTED", "message": "Multipart upload "
                                  "is not supported for the current artifact repository"})
                return
            port = server.server_address[1]
            credentials = [{"url": f"http://127.0.0.1:{port}/bucket/part{n}?sig=1",
                            "part_number": n, "headers": {"x-amz-test": "yes"}}
                           for n in range(1, body["num_parts"] + 1)]
            self._reply(200, {"upload_id": "upload-1", "credentials": credentials})
        else:
            self._reply(200, {})

    def do_PUT(self) -> None:  # noqa: N802
        server = self.server
        data = self._body()
        server.calls.append(("PUT", self.path, len(data), self.headers.get("Authorization")))
        server.received[self.path] = data
        self._reply(200, {}, {"ETag": f'"etag-{len(server.received)}"'})


@pytest.fixture
def proxy():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeProxy)
    server.calls, server.received, server.multipart = [], {}, True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(bytes(range(256)) * (12 * 1024 * 1024 // 256 + 7))  # 12 MB and a bit
    return path


def _backend(proxy, monkeypatch) -> MlflowRestBackend:
    monkeypatch.setenv("AUTOLOG_MULTIPART_PART_MB", "5")
    backend = MlflowRestBackend(f"http://127.0.0.1:{proxy.server_address[1]}",
                                env={"MLFLOW_TRACKING_TOKEN": "secret-token"})
    backend.multipart_min_bytes = 1024 * 1024
    return backend


def test_large_files_go_up_in_parts_without_our_credentials(proxy, big_file, monkeypatch):
    backend = _backend(proxy, monkeypatch)
    assert backend.upload_artifact(ROOT, "model/model.pkl", str(big_file)).ok
    create, *puts, complete = proxy.calls
    assert create[1] == f"{_MPU}/create/7/abc/artifacts/model"
    assert create[2] == {"path": "model.pkl", "num_parts": 3}
    assert create[3] == "Bearer secret-token"
    assert [call[1] for call in puts] == [f"/bucket/part{n}?sig=1" for n in (1, 2, 3)]
    assert all(call[3] is None for call in puts)  # presigned URLs carry their own authorization
    assert complete[1] == f"{_MPU}/complete/7/abc/artifacts/model"
    assert [part["part_number"] for part in complete[2]["parts"]] == [1, 2, 3]
    assert complete[2]["parts"][0]["etag"] == '"etag-1"'
    joined = b"".join(proxy.received[f"/bucket/part{n}?sig=1"] for n in (1, 2, 3))
    assert joined == big_file.read_bytes()


def test_servers_without_multipart_get_one_streamed_put_and_are_not_asked_again(
        proxy, big_file, monkeypatch):
    proxy.multipart = False
    backend = _backend(proxy, monkeypatch)
    for name in ("a.pkl", "b.pkl"):
        assert backend.upload_artifact(ROOT, f"model/{name}", str(big_file)).ok
    creates = [call for call in proxy.calls if call[1].startswith(f"{_MPU}/create/")]
    assert len(creates) == 1
    path = "/api/2.0/mlflow-artifacts/artifacts/7/abc/artifacts/model/b.pkl"
    assert proxy.received[path] == big_file.read_bytes()


def test_small_files_skip_multipart(proxy, tmp_path, monkeypatch):
    small = tmp_path / "MLmodel"
    small.write_text("flavors: {}\n")
    assert _backend(proxy, monkeypatch).upload_artifact(ROOT, "model/MLmodel", str(small)).ok
    assert [call[0] for call in proxy.calls] == ["PUT"]


def test_a_failing_model_build_keeps_the_runs_other_records(monkeypatch, autolog_errors):
    def broken(self):
        raise RuntimeError("cannot build")

    monkeypatch.setattr(_package.PendingModel, "_directory", broken)
    with pytest.warns(autolog.AutologWarning, match="cannot build"):
        with autolog.start_run("fit") as run:
            run.log_metrics({"loss": 0.5})
            log_model(run, {"weights": [1, 2]}, flavor="sklearn")
            run.log_params({"alpha": 1})
        assert autolog.flush(10)
    data = get_pipeline().store.run_data(run.run_id)
    assert data["params"] == {"alpha": "1"} and "loss" in data["metrics"]
    assert data["artifacts"] == []
    assert any("models.build" in error for error in autolog_errors())
    shutdown(5)

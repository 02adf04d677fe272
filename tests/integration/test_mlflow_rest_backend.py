"""MlflowRestBackend against a real ``mlflow server`` (and tiny local HTTP servers for the
behaviours a healthy MLflow server won't show: 429/5xx/413, slow answers, redirects, auth)."""

from __future__ import annotations

import base64
import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autolog import AutologWarning
from autolog.backends.base import CLIENT_ID_TAG, Backend, Limits, Metric, Result, RunSpec
from autolog.backends.mlflow_rest import MlflowRestBackend
from tests.fake_http import FakeServer, Seen, json_answer
from tests.mlflow_server import MlflowServer, free_port

#: Every test here that talks to a real server runs against each server shape.
pytestmark = pytest.mark.server_shapes("mlflow2", "postgres")
MAX_DOUBLE = 1.7976931348623157e308  # the SQL store keeps ±inf as ±max double
NO_ENV: dict[str, str] = {}


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def backend(mlflow_server: MlflowServer) -> Iterator[MlflowRestBackend]:
    rest = MlflowRestBackend(mlflow_server.uri, env=NO_ENV)
    yield rest
    rest.close()


@pytest.fixture
def experiment_id(backend: MlflowRestBackend, experiment_name: str) -> str:
    result = backend.get_or_create_experiment(experiment_name)
    assert result.ok, result.error
    return result.value


def make_run(backend: MlflowRestBackend, experiment_id: str, **tags: str) -> tuple[str, str]:
    client_id = uuid.uuid4().hex
    spec = RunSpec(client_id, experiment_id, f"run-{client_id[:6]}", now_ms(), dict(tags), "ann")
    result = backend.create_run(spec)
    assert result.ok, result.error
    return result.value, client_id


# -- experiments ------------------------------------------------------------------------------


def test_implements_the_backend_protocol(backend: MlflowRestBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.limits == Limits()


def test_get_or_create_experiment_is_idempotent(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    first = backend.get_or_create_experiment(experiment_name)
    second = backend.get_or_create_experiment(experiment_name)
    assert first.ok and second.ok
    assert first.value == second.value
    stored = mlflow_server.reader.get_experiment_by_name(experiment_name)
    assert stored is not None and stored["experiment_id"] == first.value


def test_experiment_creation_race_resolves_to_the_winner(
    backend: MlflowRestBackend, experiment_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = backend.get_or_create_experiment(experiment_name)
    # Replay the race: the lookup misses, then the create loses to the other process.
    original = backend._find_experiment
    calls = []

    def stale_first_lookup(name: str) -> Result:
        calls.append(name)
        return Result.success(None) if len(calls) == 1 else original(name)

    monkeypatch.setattr(backend, "_find_experiment", stale_first_lookup)
    loser = backend.get_or_create_experiment(experiment_name)
    assert loser.ok, loser.error
    assert loser.value == winner.value
    assert len(calls) == 2


def test_concurrent_creators_agree_on_one_experiment(
    mlflow_server: MlflowServer, experiment_name: str
) -> None:
    backends = [MlflowRestBackend(mlflow_server.uri, env=NO_ENV) for _ in range(6)]
    results: list[Result] = []
    barrier = threading.Barrier(len(backends))

    def create(rest: MlflowRestBackend) -> None:
        barrier.wait()
        results.append(rest.get_or_create_experiment(experiment_name))

    threads = [threading.Thread(target=create, args=(rest,)) for rest in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for rest in backends:
        rest.close()
    assert all(r.ok for r in results), [r.error for r in results]
    assert len({r.value for r in results}) == 1


# -- runs ---------------------------------------------------------------------------------------


def test_create_run_sends_name_tags_user_and_client_id(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    parent_id, _ = make_run(backend, experiment_id)
    client_id = uuid.uuid4().hex
    start = now_ms() - 5000
    spec = RunSpec(
        client_id=client_id,
        experiment_id=experiment_id,
        name="child-run",
        start_time=start,
        tags={"mlflow.parentRunId": parent_id, "team": "vision", "mlflow.source.type": "LOCAL"},
        user="ann",
    )
    result = backend.create_run(spec)
    assert result.ok, result.error
    run = mlflow_server.reader.get_run(result.value)
    info = run["info"]
    assert info["run_name"] == "child-run"
    assert info["user_id"] == "ann"
    assert int(info["start_time"]) == start
    assert info["status"] == "RUNNING"
    tags = mlflow_server.reader.tags(result.value)
    assert tags[CLIENT_ID_TAG] == client_id
    assert tags["mlflow.parentRunId"] == parent_id
    assert tags["team"] == "vision"
    assert tags["mlflow.runName"] == "child-run"
    assert backend.get_artifact_uri(result.value).value == info["artifact_uri"]


def test_find_run_by_client_id(backend: MlflowRestBackend, experiment_id: str) -> None:
    run_id, client_id = make_run(backend, experiment_id)
    make_run(backend, experiment_id)  # a neighbour that must not match
    found = backend.find_run(experiment_id, client_id)
    assert found.ok and found.value == run_id
    missing = backend.find_run(experiment_id, uuid.uuid4().hex)
    assert missing.ok and missing.value is None


def test_find_run_survives_quotes_in_the_client_id(
    backend: MlflowRestBackend, experiment_id: str
) -> None:
    result = backend.find_run(experiment_id, "it's")
    assert result.ok and result.value is None


def test_update_run_sets_status_and_end_time(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    end = now_ms()
    assert backend.update_run(run_id, "FAILED", end).ok
    info = mlflow_server.reader.get_run(run_id)["info"]
    assert info["status"] == "FAILED"
    assert int(info["end_time"]) == end
    assert backend.update_run(run_id, "FINISHED", None).ok
    assert mlflow_server.reader.get_run(run_id)["info"]["status"] == "FINISHED"


# -- log_batch ------------------------------------------------------------------------------


def _thousand_metrics() -> list[Metric]:
    rng = random.Random(42)
    base = now_ms()
    specials = [math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, -MAX_DOUBLE, 1 / 3]
    metrics = []
    for i in range(1000):
        key = ("loss", "acc", "grad/norm", "lr")[i % 4]
        value = specials[i // 4] if i // 4 < len(specials) else rng.uniform(-1e6, 1e6)
        step = i // 4 if key != "lr" else 10_000_000 + i  # large steps too
        metrics.append(Metric(key, value, base + rng.randint(0, 10_000_000), step))
    return metrics


def _as_stored(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return MAX_DOUBLE if value > 0 else -MAX_DOUBLE
    return value


def _history(reader: Any, run_id: str, key: str) -> list[tuple[int, int, Any]]:
    points = reader.metric_history(run_id, key, page_size=97)  # exercise paging
    return sorted(((int(p["timestamp"]), int(p["step"]), p["value"]) for p in points), key=repr)


def test_log_batch_round_trips_1000_metrics_exactly(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    metrics = _thousand_metrics()
    result = backend.log_batch(run_id, metrics=metrics)
    assert result.ok, result.error
    for key in ("loss", "acc", "grad/norm", "lr"):
        expected = sorted(
            ((m.timestamp, m.step, _as_stored(m.value)) for m in metrics if m.key == key),
            key=repr,
        )
        assert _history(mlflow_server.reader, run_id, key) == expected


# MLflow 2 refuses a whole re-sent batch holding a NaN point (it never finds NaN equal to the
# stored NaN); how delivery copes: test_a_lost_batch_response_with_nan_points_refuses_nothing
@pytest.mark.server_shapes("postgres")
def test_resending_a_batch_does_not_duplicate_points(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    metrics = _thousand_metrics()[:400]
    params = [("lr", "0.1"), ("optimizer", "adam")]
    tags = [("phase", "train")]
    for _ in range(3):
        result = backend.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        assert result.ok, result.error
    for key in ("loss", "acc"):
        assert len(mlflow_server.reader.metric_history(run_id, key)) == 100
    assert mlflow_server.reader.params(run_id) == {"lr": "0.1", "optimizer": "adam"}
    assert mlflow_server.reader.tags(run_id)["phase"] == "train"


def test_param_conflict_is_a_non_retryable_failure(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    assert backend.log_batch(run_id, params=[("lr", "0.1")]).ok
    result = backend.log_batch(
        run_id, metrics=[Metric("loss", 1.0, now_ms(), 0)], params=[("lr", "0.2")]
    )
    assert not result.ok
    assert not result.retryable and not result.too_large and not result.ambiguous
    assert result.status_code == 400
    assert "INVALID_PARAMETER_VALUE" in result.error
    assert "lr" in result.error
    # The server rejects the whole request before storing any of its metrics.
    assert mlflow_server.reader.metric_history(run_id, "loss") == []
    assert mlflow_server.reader.params(run_id) == {"lr": "0.1"}


def test_invalid_key_is_a_non_retryable_400(backend: MlflowRestBackend, experiment_id: str) -> None:
    run_id, _ = make_run(backend, experiment_id)
    result = backend.log_batch(run_id, metrics=[Metric("a@b", 1.0, now_ms(), 0)])
    assert not result.ok and not result.retryable
    assert result.status_code == 400
    assert "INVALID_PARAMETER_VALUE" in result.error


def test_unknown_run_is_a_non_retryable_404(backend: MlflowRestBackend) -> None:
    result = backend.log_batch("0" * 32, metrics=[Metric("x", 1.0, now_ms(), 0)])
    assert not result.ok and not result.retryable
    assert result.status_code == 404
    assert "RESOURCE_DOES_NOT_EXIST" in result.error


def test_non_numeric_metric_value_fails_without_raising(backend: MlflowRestBackend) -> None:
    result = backend.log_batch("0" * 32, metrics=[Metric("x", "abc", 1, 0)])  # type: ignore[arg-type]
    assert not result.ok and not result.retryable


# -- artifacts -------------------------------------------------------------------------------


def test_artifact_upload_is_readable_back(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str, tmp_path: Path
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    payload = bytes(range(256)) * 4096  # 1 MiB of every byte value
    local = tmp_path / "weights.bin"
    local.write_bytes(payload)
    assert backend.log_artifact(run_id, "model/data/weights.bin", str(local)).ok
    assert mlflow_server.reader.download_artifact(run_id, "model/data/weights.bin") == payload

    # Overwriting is allowed (a retried upload), odd names are quoted, empty files work.
    local.write_bytes(b"second")
    assert backend.log_artifact(run_id, "model/data/weights.bin", str(local)).ok
    assert mlflow_server.reader.download_artifact(run_id, "model/data/weights.bin") == b"second"
    odd = tmp_path / "odd.txt"
    odd.write_text("x")
    assert backend.log_artifact(run_id, "plots/a b?c;d=é+f.txt", str(odd)).ok
    assert mlflow_server.reader.download_artifact(run_id, "plots/a b?c;d=é+f.txt") == b"x"
    refused = backend.log_artifact(run_id, "plots/a#b.txt", str(odd))  # MLflow refuses '#'
    assert not refused.ok and not refused.retryable and refused.status_code == 400
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert backend.log_artifact(run_id, "empty.txt", str(empty)).ok
    assert mlflow_server.reader.download_artifact(run_id, "empty.txt") == b""


def test_artifact_upload_for_a_run_created_elsewhere(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str, tmp_path: Path
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    fresh = MlflowRestBackend(mlflow_server.uri, env=NO_ENV)  # no cached artifact URI
    try:
        local = tmp_path / "notes.txt"
        local.write_text("hello")
        assert fresh.log_artifact(run_id, "notes.txt", str(local)).ok
        uri = fresh.get_artifact_uri(run_id).value
        assert uri.startswith("mlflow-artifacts:/") and uri.endswith(f"/{run_id}/artifacts")
    finally:
        fresh.close()
    assert mlflow_server.reader.download_artifact(run_id, "notes.txt") == b"hello"


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../b", "", "/", "a//b"])
def test_artifact_paths_that_escape_are_refused(
    backend: MlflowRestBackend, experiment_id: str, tmp_path: Path, path: str
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    local = tmp_path / "f.txt"
    local.write_text("x")
    result = backend.log_artifact(run_id, path, str(local))
    assert not result.ok and not result.retryable


def test_missing_local_artifact_file_fails_without_raising(
    backend: MlflowRestBackend, experiment_id: str, tmp_path: Path
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    result = backend.log_artifact(run_id, "gone.txt", str(tmp_path / "gone.txt"))
    assert not result.ok and not result.retryable


# -- network failures ---------------------------------------------------------------------------


def test_connection_refused_is_retryable_and_not_ambiguous() -> None:
    rest = MlflowRestBackend(f"http://127.0.0.1:{free_port()}", env=NO_ENV, timeout=5)
    try:
        for result in (
            rest.get_or_create_experiment("x"),
            rest.create_run(RunSpec("c", "0", "n", now_ms())),
            rest.log_batch("r", metrics=[Metric("m", 1.0, 1, 0)]),
        ):
            assert not result.ok
            assert result.retryable
            assert not result.ambiguous  # nothing reached a server: creating again is safe
            assert result.status_code is None
    finally:
        rest.close()


@pytest.mark.server_shapes("mlflow2")  # restarting four workers on PostgreSQL: costly
def test_server_outage_and_recovery(
    mlflow_server: MlflowServer, backend: MlflowRestBackend, experiment_id: str
) -> None:
    run_id, _ = make_run(backend, experiment_id)
    with mlflow_server.outage():
        down = backend.log_batch(run_id, metrics=[Metric("m", 1.0, now_ms(), 0)])
        assert not down.ok and down.retryable
    up = backend.log_batch(run_id, metrics=[Metric("m", 1.0, now_ms(), 0)])
    assert up.ok, up.error
    assert len(mlflow_server.reader.metric_history(run_id, "m")) == 1


# -- a scriptable local HTTP server -------------------------------------------------------------


_json = json_answer


OK_RUN = {"run": {"info": {"run_id": "r1", "artifact_uri": "mlflow-artifacts:/0/r1/artifacts"}}}


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable_with_retry_after(
    fake_server: Callable[..., FakeServer], status: int
) -> None:
    server = fake_server(lambda _: _json(status, {"message": "busy"}, **{"Retry-After": "7"}))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.log_batch("r", metrics=[Metric("m", 1.0, 1, 0)])
    rest.close()
    assert not result.ok and result.retryable and not result.too_large
    assert result.retry_after == 7.0
    assert result.status_code == status
    assert result.ambiguous == (status >= 500 or status == 408)


def test_413_asks_for_smaller_requests(fake_server: Callable[..., FakeServer]) -> None:
    server = fake_server(lambda _: (413, {"Content-Type": "text/html"}, b"<h1>Too large</h1>"))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.log_batch("r", metrics=[Metric("m", 1.0, 1, 0)])
    rest.close()
    assert not result.ok and result.too_large and not result.retryable
    assert result.status_code == 413
    assert "Too large" in result.error


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "INVALID_PARAMETER_VALUE"), (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"),
     (404, "RESOURCE_DOES_NOT_EXIST"), (409, "ABORTED")],
)  # fmt: skip
def test_client_errors_are_final_and_carry_the_server_error(
    fake_server: Callable[..., FakeServer], status: int, code: str
) -> None:
    server = fake_server(lambda _: _json(status, {"error_code": code, "message": "nope here"}))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.update_run("r", "FINISHED", 1)
    rest.close()
    assert not result.ok and not result.retryable and not result.too_large
    assert not result.ambiguous
    assert result.status_code == status
    assert code in result.error and "nope here" in result.error
    assert result.retry_after is None


def test_html_error_pages_are_summarised(fake_server: Callable[..., FakeServer]) -> None:
    page = b"<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>" + b" " * 5000
    server = fake_server(lambda _: (502, {"Content-Type": "text/html"}, page))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.log_batch("r", params=[("a", "b")])
    rest.close()
    assert result.retryable and "502 Bad Gateway" in result.error
    assert len(result.error) <= 500


def test_read_timeout_is_retryable_and_ambiguous(fake_server: Callable[..., FakeServer]) -> None:
    def slow(_: Seen) -> tuple[int, dict[str, str], bytes]:
        time.sleep(1.5)
        return _json(200, OK_RUN)

    server = fake_server(slow)
    rest = MlflowRestBackend(server.uri, env=NO_ENV, timeout=0.3)
    result = rest.create_run(RunSpec("c", "0", "n", now_ms()))
    rest.close()
    assert not result.ok and result.retryable
    assert result.ambiguous  # the run may exist: look it up by client id before re-creating


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # hung up without answering
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",  # cut mid-body
    ],
    ids=["no-response", "truncated-chunked-body"],
)
def test_connection_lost_after_sending_is_retryable_and_ambiguous(
    fake_server: Callable[..., FakeServer], raw: bytes
) -> None:
    server = fake_server(lambda _: raw)
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.create_run(RunSpec("c", "0", "n", now_ms()))
    rest.close()
    assert len(server.seen) == 1  # the request did arrive
    assert not result.ok and result.retryable and result.ambiguous
    assert result.status_code is None


def test_unreadable_success_body_is_retryable(fake_server: Callable[..., FakeServer]) -> None:
    server = fake_server(lambda _: (200, {"Content-Type": "text/html"}, b"<html>login</html>"))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.create_run(RunSpec("c", "0", "n", now_ms()))
    rest.close()
    assert not result.ok and result.retryable and result.ambiguous


@pytest.mark.parametrize("body", [b"<html>Please sign in</html>", b'{"run_id": "cut off'])
def test_a_write_answered_by_a_page_that_is_not_json_is_not_delivered(
    fake_server: Callable[..., FakeServer], body: bytes
) -> None:
    # A login page or another web app answers 200 without passing the request on: the
    # records must stay pending, not be marked delivered.
    server = fake_server(lambda _: (200, {"Content-Type": "text/html"}, body))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.log_batch("r", metrics=[Metric("m", 1.0, 1, 0)])
    rest.close()
    assert not result.ok and result.retryable and result.ambiguous
    assert "not JSON" in result.error


def test_one_backend_serves_several_threads_at_once(
    backend: MlflowRestBackend, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    runs = [make_run(backend, experiment_id)[0] for _ in range(8)]
    barrier = threading.Barrier(len(runs))
    failures: list[str] = []

    def send(run_id: str) -> None:
        barrier.wait()
        for batch in range(20):
            points = [Metric("m", batch + i / 10, now_ms(), batch * 10 + i) for i in range(10)]
            result = backend.log_batch(run_id, metrics=points)
            if not result.ok:
                failures.append(result.error)

    threads = [threading.Thread(target=send, args=(run_id,)) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for run_id in runs:
        steps = sorted(int(p["step"]) for p in mlflow_server.reader.metric_history(run_id, "m"))
        assert steps == list(range(200))


def test_request_body_shapes(fake_server: Callable[..., FakeServer]) -> None:
    server = fake_server(lambda _: _json(200, OK_RUN))
    rest = MlflowRestBackend(server.uri + "/prefix/", env=NO_ENV)
    assert rest.create_run(RunSpec("cid", "7", "", 123, {"a": "b"})).ok
    assert rest.log_batch(
        "r1", metrics=[Metric("m", math.nan, 1, 2), Metric("m", -math.inf, 1, 3)]
    ).ok
    rest.close()
    create, batch = server.seen
    assert create.path == "/prefix/api/2.0/mlflow/runs/create"
    assert create.headers["Content-Type"] == "application/json"
    assert create.headers["User-Agent"].startswith("autolog/")
    body = json.loads(create.body)
    assert body == {
        "experiment_id": "7",
        "start_time": 123,
        "tags": [{"key": "a", "value": "b"}, {"key": CLIENT_ID_TAG, "value": "cid"}],
    }
    assert b"NaN," not in batch.body  # strings, never bare NaN tokens
    sent = json.loads(batch.body)
    assert [m["value"] for m in sent["metrics"]] == ["NaN", "-Infinity"]
    assert "params" not in sent and "tags" not in sent


# -- credentials ---------------------------------------------------------------------------------


SECRET = "hunter2-s3cr3t"
TOKEN = "tok-9f8e7d6c5b4a"


def test_credentials_never_leak_into_errors_repr_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    dead = free_port()
    rests = [
        MlflowRestBackend(f"http://alice:{SECRET}@127.0.0.1:{dead}/", env=NO_ENV),
        MlflowRestBackend(
            f"http://127.0.0.1:{dead}",
            env={"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": SECRET},
        ),
        MlflowRestBackend(f"http://127.0.0.1:{dead}", env={"MLFLOW_TRACKING_TOKEN": TOKEN}),
    ]
    texts = []
    for rest in rests:
        texts.append(repr(rest))
        texts.append(str(rest))
        for result in (
            rest.get_or_create_experiment("e"),
            rest.log_batch("r", metrics=[Metric("m", 1.0, 1, 0)]),
            rest.get_artifact_uri("r"),
        ):
            assert not result.ok and result.retryable
            texts.append(result.error)
            texts.append(repr(result))
        rest.close()
    texts.extend(record.getMessage() for record in caplog.records)
    joined = "\n".join(texts)
    assert SECRET not in joined
    assert TOKEN not in joined
    assert "alice:" not in joined
    assert f"127.0.0.1:{dead}" in joined  # errors still say where


def test_credentials_in_server_error_messages_are_scrubbed(
    fake_server: Callable[..., FakeServer],
) -> None:
    server = fake_server(
        lambda seen: _json(400, {"error_code": "BAD", "message": f"echo {seen.headers}"})
    )
    rest = MlflowRestBackend(server.uri, env={"MLFLOW_TRACKING_TOKEN": TOKEN})
    result = rest.update_run("r", "FINISHED", 1)
    rest.close()
    assert "Bearer" in result.error and TOKEN not in result.error


def test_bearer_token_is_sent_and_wins_over_basic(fake_server: Callable[..., FakeServer]) -> None:
    server = fake_server(lambda _: _json(200, {"experiment": {"experiment_id": "3"}}))
    env = {
        "MLFLOW_TRACKING_TOKEN": TOKEN,
        "MLFLOW_TRACKING_USERNAME": "alice",
        "MLFLOW_TRACKING_PASSWORD": SECRET,
    }
    rest = MlflowRestBackend(server.uri, env=env)
    assert rest.get_or_create_experiment("e").value == "3"
    rest.close()
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_bearer_token_from_a_file_the_user_names(fake_server: Callable[..., FakeServer],
                                                tmp_path) -> None:
    server = fake_server(lambda _: _json(200, {"experiment": {"experiment_id": "3"}}))
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    rest = MlflowRestBackend(server.uri, env={"AUTOLOG_TRACKING_TOKEN_FILE": str(token_file)})
    assert rest.get_or_create_experiment("e").value == "3"
    assert TOKEN not in repr(rest)
    rest.close()
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_unreadable_token_file_warns_without_secrets(fake_server: Callable[..., FakeServer],
                                                        tmp_path) -> None:
    server = fake_server(lambda _: _json(200, {"experiment": {"experiment_id": "3"}}))
    with pytest.warns(AutologWarning, match="AUTOLOG_TRACKING_TOKEN_FILE"):
        rest = MlflowRestBackend(server.uri,
                                 env={"AUTOLOG_TRACKING_TOKEN_FILE": str(tmp_path / "missing")})
    assert rest.get_or_create_experiment("e").ok
    rest.close()
    assert "Authorization" not in server.seen[0].headers


def test_basic_auth_from_env_and_from_the_uri(fake_server: Callable[..., FakeServer]) -> None:
    import base64

    server = fake_server(lambda _: _json(200, {"experiment": {"experiment_id": "3"}}))
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": SECRET}
    for rest in (
        MlflowRestBackend(server.uri, env=env),
        MlflowRestBackend(server.uri.replace("://", f"://alice:{SECRET}@"), env=NO_ENV),
    ):
        assert rest.get_or_create_experiment("e").ok
        rest.close()
    assert [s.headers["Authorization"] for s in server.seen] == [expected, expected]


def test_no_credentials_no_authorization_header(fake_server: Callable[..., FakeServer]) -> None:
    server = fake_server(lambda _: _json(200, {"experiment": {"experiment_id": "3"}}))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    assert rest.get_or_create_experiment("e").ok
    rest.close()
    assert "Authorization" not in server.seen[0].headers


def test_redirect_to_another_host_drops_authorization(
    fake_server: Callable[..., FakeServer],
) -> None:
    target = fake_server(lambda _: _json(200, {}))
    elsewhere = f"http://localhost:{target.port}"  # another host name, same machine

    def redirect(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        return 307, {"Location": elsewhere + seen.path}, b""

    origin = fake_server(redirect)
    rest = MlflowRestBackend(origin.uri, env={"MLFLOW_TRACKING_TOKEN": TOKEN})
    result = rest.log_batch("r", params=[("a", "b")])
    rest.close()
    assert result.ok, result.error
    assert origin.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert len(target.seen) == 1
    assert target.seen[0].method == "POST"
    assert "Authorization" not in target.seen[0].headers
    assert json.loads(target.seen[0].body)["params"] == [{"key": "a", "value": "b"}]


def test_redirect_within_the_same_host_keeps_authorization(
    fake_server: Callable[..., FakeServer],
) -> None:
    def respond(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.path.startswith("/old"):
            return 307, {"Location": seen.path.replace("/old", "/new", 1)}, b""
        return _json(200, {})

    server = fake_server(respond)
    rest = MlflowRestBackend(server.uri + "/old", env={"MLFLOW_TRACKING_TOKEN": TOKEN})
    assert rest.update_run("r", "FINISHED", 1).ok
    rest.close()
    assert [s.headers.get("Authorization") for s in server.seen] == [f"Bearer {TOKEN}"] * 2


def test_a_write_redirected_with_302_is_not_turned_into_a_get(
    fake_server: Callable[..., FakeServer],
) -> None:
    target = fake_server(lambda _: _json(200, {}))
    origin = fake_server(lambda seen: (302, {"Location": target.uri + seen.path}, b""))
    rest = MlflowRestBackend(origin.uri, env=NO_ENV)
    result = rest.log_batch("r", params=[("a", "b")])
    rest.close()
    assert target.seen == []  # following would have sent a GET without the batch
    assert not result.ok and result.retryable  # kept: it waits for the URI to be fixed
    assert result.retry_after == 60.0
    assert f"to {target.uri}/api/2.0/mlflow/runs/log-batch (302)" in result.error


def test_a_read_follows_302_and_an_upload_follows_308_whole(
    fake_server: Callable[..., FakeServer], tmp_path: Path,
) -> None:
    target = fake_server(lambda seen: _json(200, OK_RUN if "runs/get" in seen.path else {}))

    def moved(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        code = 302 if seen.method == "GET" else 308
        return code, {"Location": target.uri + seen.path}, b""

    origin = fake_server(moved)
    payload = bytes(range(256)) * 300
    local = tmp_path / "weights.bin"
    local.write_bytes(payload)
    rest = MlflowRestBackend(origin.uri, env=NO_ENV)
    result = rest.log_artifact("r1", "model/weights.bin", str(local))
    rest.close()
    assert result.ok, result.error
    assert [(seen.method, seen.path.split("?")[0]) for seen in target.seen] == [
        ("GET", "/api/2.0/mlflow/runs/get"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/model/weights.bin")]
    assert target.seen[1].body == payload  # the file again from its start, whole


def test_a_redirect_loop_waits_instead_of_refusing_the_records(
    fake_server: Callable[..., FakeServer],
) -> None:
    server = fake_server(lambda seen: (307, {"Location": seen.path}, b""))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    result = rest.update_run("r", "FINISHED", 1)
    rest.close()
    assert not result.ok and result.retryable and "redirects" in result.error
    assert len(server.seen) == 6  # the request and five redirects followed


def test_a_forked_child_never_shares_the_parents_connections(
    fake_server: Callable[..., FakeServer],
) -> None:
    import os

    server = fake_server(lambda _: _json(200, {}))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    assert rest.update_run("r", "FINISHED", 1).ok  # a kept-alive connection in the pool
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one request, its outcome through the pipe
        try:
            os.write(writing, b"ok" if rest.update_run("r", "FINISHED", 2).ok else b"no")
        finally:
            os._exit(0)
    os.close(writing)
    assert os.read(reading, 2) == b"ok"
    os.waitpid(pid, 0)
    os.close(reading)
    assert rest.update_run("r", "FINISHED", 3).ok
    rest.close()
    parent_first, child, parent_again = (seen.client_port for seen in server.seen)
    assert parent_again == parent_first  # the parent keeps its connection ...
    assert child != parent_first  # ... and the child opened its own


# -- TLS settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "verify", "cert"),
    [
        ({}, True, None),
        ({"MLFLOW_TRACKING_INSECURE_TLS": "true"}, False, None),
        ({"MLFLOW_TRACKING_INSECURE_TLS": "false"}, True, None),
        ({"MLFLOW_TRACKING_SERVER_CERT_PATH": "/ca.pem"}, "/ca.pem", None),
        (
            {"MLFLOW_TRACKING_SERVER_CERT_PATH": "/ca.pem", "MLFLOW_TRACKING_INSECURE_TLS": "1"},
            "/ca.pem",
            None,
        ),
        ({"MLFLOW_TRACKING_CLIENT_CERT_PATH": "/client.pem"}, True, "/client.pem"),
    ],
)
def test_tls_settings_from_env(env: dict[str, str], verify: Any, cert: Any) -> None:
    rest = MlflowRestBackend("https://tracking.example:8443", env=env)
    assert rest.transport.verify == verify
    assert rest.transport.cert == cert
    rest.close()


def test_ca_bundle_from_the_environment_is_honoured() -> None:
    rest = MlflowRestBackend("https://tracking.example:8443",
                             env={"REQUESTS_CA_BUNDLE": "/corp-ca.pem"})
    assert rest.transport.verify == "/corp-ca.pem"
    rest.close()


def test_http_proxy_from_the_environment_carries_the_requests(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = fake_server(lambda _: _json(200, {}))
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy.uri)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    rest = MlflowRestBackend("http://tracking.invalid:5000", env=NO_ENV)
    results = [rest.update_run("r", "FINISHED", 1) for _ in range(2)]  # read once, used each time
    rest.close()
    assert all(result.ok for result in results), results
    assert [seen.path for seen in proxy.seen] == [
        "http://tracking.invalid:5000/api/2.0/mlflow/runs/update"] * 2


def test_proxy_credentials_in_its_url_are_sent_to_the_proxy_and_never_shown(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = fake_server(lambda _: (503, {"Content-Type": "text/plain"}, b"proxy busy"))
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy.uri.replace("://", "://bob:pr%40xy-secret@"))
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    rest = MlflowRestBackend("http://tracking.invalid:5000", env=NO_ENV)
    result = rest.update_run("r", "FINISHED", 1)
    rest.close()
    expected = "Basic " + base64.b64encode(b"bob:pr@xy-secret").decode()
    assert proxy.seen[0].headers["Proxy-Authorization"] == expected
    assert "Authorization" not in proxy.seen[0].headers  # no tracking credentials were set
    assert not result.ok and result.retryable
    scrubbed = rest.transport.scrub(f"via {proxy.uri} as bob:pr@xy-secret, {expected}")
    assert "pr@xy-secret" not in scrubbed and expected.split()[1] not in scrubbed


def test_no_proxy_keeps_the_tracking_server_direct(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = fake_server(lambda _: _json(200, {}))
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1")
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    assert rest.update_run("r", "FINISHED", 1).ok
    rest.close()
    assert [seen.path for seen in server.seen] == ["/api/2.0/mlflow/runs/update"]


def test_netrc_credentials_are_used_when_no_other_auth_is_set(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    server = fake_server(lambda _: _json(200, {}))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    rest = MlflowRestBackend(server.uri, env=NO_ENV)
    assert rest.update_run("r", "FINISHED", 1).ok
    rest.close()
    expected = "Basic " + base64.b64encode(b"alice:s3cret-pass").decode()
    assert server.seen[0].headers["Authorization"] == expected


@pytest.mark.parametrize("uri", ["ftp://host", "not a uri", "http://"])
def test_rejects_non_http_uris(uri: str) -> None:
    with pytest.raises(ValueError):
        MlflowRestBackend(uri, env=NO_ENV)

"""Batching, ordering and delivery rules of the shipper, against the in-memory backend."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
import uuid

import pytest

import autolog
from autolog._runs import shutdown
from autolog.backends.base import Limits, Result
from autolog.backends.local_store import LocalStore
from autolog.backends.memory import named


@pytest.fixture
def backend(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("AUTOLOG_RETRY_BASE", "0.01")
    monkeypatch.setenv("AUTOLOG_RETRY_MAX", "0.05")
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.05")
    name = uuid.uuid4().hex
    memory = named(name)
    memory.uri = f"memory://{name}"
    yield memory
    shutdown(5)


def _batches(backend):
    return [request for method, request in backend.requests if method == "log_batch"]


def test_every_point_delivered_once_with_step_and_timestamp(backend):
    with autolog.start_run(run_name="baseline", tracking_uri=backend.uri) as run:
        for step in range(2500):
            run.log_metrics({"loss": 1 / (step + 1), "acc": step / 2500}, step=step)
    assert autolog.flush(10)
    remote = backend.run_by_client_id(run.run_id)
    assert remote.name == "baseline" and remote.status == "FINISHED"
    assert [m.step for m in remote.metrics["loss"]] == list(range(2500))
    assert all(m.timestamp > 0 for m in remote.metrics["acc"])
    assert remote.metrics["loss"][9].value == pytest.approx(0.1)


def test_requests_stay_within_limits(backend):
    backend.limits = Limits(max_metrics=300, max_params=7, max_tags=5, max_entities=310)
    shutdown(5)  # pipeline caches the backend's limits at creation
    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_params({f"p{i}": i for i in range(50)})
        run.set_tags({f"t{i}": i for i in range(30)})
        for step in range(1000):
            run.log_metrics({"a": step, "b": -step}, step=step)
    assert autolog.flush(10)
    for batch in _batches(backend):
        assert len(batch["metrics"]) <= 300 and len(batch["tags"]) <= 5
        assert len(batch["params"]) <= 7
        assert len(batch["metrics"]) + len(batch["tags"]) + len(batch["params"]) <= 310
    remote = backend.run_by_client_id(run.run_id)
    assert len(remote.params) == 50 and len(remote.metrics["a"]) == 1000
    assert {f"t{i}" for i in range(30)} <= set(remote.tags)


def test_a_small_run_is_three_requests(backend, monkeypatch):
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "60")  # one drain, at flush(): deterministic
    shutdown(5)
    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_params({"lr": 0.1, "layers": 3})
        run.set_tags({"team": "churn"})
        for step in range(10):
            run.log_metrics({"loss": 1 / (step + 1)}, step=step)
    assert autolog.flush(10)
    remote = backend.run_by_client_id(run.run_id)
    calls = [method for method, request in backend.requests
             if request.get("run_id") == remote.run_id or method == "create_run"]
    assert calls == ["create_run", "log_batch", "update_run"]
    assert remote.params == {"lr": "0.1", "layers": "3"} and len(remote.metrics["loss"]) == 10


def test_request_bytes_stay_under_the_limit(backend):
    backend.limits = Limits(max_request_bytes=20_000)
    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_params({f"param_{i}": "x" * 3000 for i in range(20)})
    assert autolog.flush(10)
    sizes = [sum(len(k) + len(v) for k, v in b["params"]) for b in _batches(backend) if b["params"]]
    assert len(sizes) > 1 and max(sizes) < 20_000
    assert len(backend.run_by_client_id(run.run_id).params) == 20


def test_children_nest_under_the_parents_remote_id(backend):
    with autolog.start_run(run_name="search", tracking_uri=backend.uri) as parent:
        with autolog.start_run(run_name="trial-0") as child:
            with autolog.start_run(run_name="model") as grandchild:
                grandchild.log_metric("score", 1.0)
    assert autolog.flush(10)
    remote_parent = backend.run_by_client_id(parent.run_id)
    remote_child = backend.run_by_client_id(child.run_id)
    remote_grandchild = backend.run_by_client_id(grandchild.run_id)
    assert "mlflow.parentRunId" not in remote_parent.tags
    assert remote_child.tags["mlflow.parentRunId"] == remote_parent.run_id
    assert remote_grandchild.tags["mlflow.parentRunId"] == remote_child.run_id
    assert child.remote_id() == remote_child.run_id


def test_status_follows_the_outcome(backend):
    with pytest.raises(ZeroDivisionError):
        with autolog.start_run(run_name="boom", tracking_uri=backend.uri) as failed:
            raise ZeroDivisionError
    with pytest.raises(KeyboardInterrupt):
        with autolog.start_run(run_name="stopped", tracking_uri=backend.uri) as killed:
            raise KeyboardInterrupt
    assert autolog.flush(10)
    assert backend.run_by_client_id(failed.run_id).status == "FAILED"
    assert backend.run_by_client_id(killed.run_id).status == "KILLED"
    assert autolog.active_run() is None


def test_outage_delays_delivery_and_loses_nothing(backend):
    down = {"on": True}
    backend.fail = lambda method, request: (
        Result.failure("connection refused", retryable=True) if down["on"] else None
    )
    with pytest.warns(autolog.AutologWarning, match="delayed"):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            for step in range(500):
                run.log_metric("loss", step, step=step)
        assert not autolog.flush(0.5)
    store = LocalStore(run.pipeline.store.directory)
    assert len(store.run_data(run.run_id)["metrics"]["loss"]) == 500
    down["on"] = False
    assert autolog.flush(10)
    remote = backend.run_by_client_id(run.run_id)
    assert [m.step for m in remote.metrics["loss"]] == list(range(500))
    assert remote.status == "FINISHED"


def test_lost_create_response_never_makes_a_ghost_run(backend):
    lost = {"count": 0}

    def lose_first_create(method, request):
        if method == "create_run" and lost["count"] == 0:
            lost["count"] += 1
            return Result.failure("read timed out", retryable=True, ambiguous=True)
        return None

    backend.lose_response = lose_first_create
    with autolog.start_run(run_name="once", tracking_uri=backend.uri) as run:
        run.log_metric("m", 1.0)
    assert autolog.flush(10)
    assert lost["count"] == 1
    assert [r.name for r in backend.runs.values()] == ["once"]
    assert backend.run_by_client_id(run.run_id).metrics["m"][0].value == 1.0


def test_retry_after_pauses_the_whole_backend(backend):
    calls = []

    def rate_limit_once(method, request):
        calls.append(method)
        if len(calls) == 2:
            return Result.failure("429 too many requests", retryable=True, retry_after=0.3,
                                  status_code=429)
        return None

    backend.fail = rate_limit_once
    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_metric("m", 1.0)
    assert autolog.flush(10)
    assert backend.run_by_client_id(run.run_id).metrics["m"][0].value == 1.0


def test_too_large_shrinks_batches_and_delivers_everything(backend):
    def proxy_limit(method, request):
        if method == "log_batch" and len(request["metrics"]) > 100:
            return Result.failure("413 request entity too large", too_large=True, status_code=413)
        return None

    backend.fail = proxy_limit
    with autolog.start_run(tracking_uri=backend.uri) as run:
        for step in range(1500):
            run.log_metric("m", step, step=step)
    assert autolog.flush(10)
    assert [m.step for m in backend.run_by_client_id(run.run_id).metrics["m"]] == list(range(1500))


def test_a_refused_record_is_set_aside_and_the_rest_delivered(backend):
    def refuse_poison(method, request):
        if method == "log_batch" and any(m.key == "poison" for m in request["metrics"]):
            return Result.failure("INVALID_PARAMETER_VALUE", status_code=400)
        return None

    backend.fail = refuse_poison
    with pytest.warns(autolog.AutologWarning, match="refused"):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_metrics({"good": 1.0, "poison": 2.0}, step=0)
            run.log_metrics({"good": 3.0}, step=1)
        assert autolog.flush(10)
    remote = backend.run_by_client_id(run.run_id)
    assert [m.value for m in remote.metrics["good"]] == [1.0, 3.0]
    assert "poison" not in remote.metrics


@pytest.mark.torch
def test_values_are_converted_and_kept(backend):
    import numpy as np
    import torch

    with pytest.warns(autolog.AutologWarning):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_metrics({
                "nan": float("nan"), "inf": math.inf, "ninf": -math.inf,
                "np": np.float32(0.5), "np_int": np.int64(3), "arr0": np.array(2.5),
                "torch": torch.tensor(1.5), "flag": True, "text": "not a number", "none": None,
            }, step=np.int64(4))
    assert autolog.flush(10)
    metrics = backend.run_by_client_id(run.run_id).metrics
    assert math.isnan(metrics["nan"][0].value)
    assert metrics["inf"][0].value == math.inf and metrics["ninf"][0].value == -math.inf
    assert metrics["np"][0].value == 0.5 and metrics["np_int"][0].value == 3.0
    assert metrics["arr0"][0].value == 2.5 and metrics["torch"][0].value == 1.5
    assert metrics["flag"][0].value == 1.0 and metrics["np"][0].step == 4
    assert "text" not in metrics and "none" not in metrics


def test_invalid_and_colliding_keys_stay_distinct(backend):
    long_a, long_b = "k" * 300 + "a", "k" * 300 + "b"
    with pytest.warns(autolog.AutologWarning):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_metrics({"ndcg@5": 1.0, "ndcg_at_5": 2.0, "a//b/": 3.0, long_a: 4.0,
                             long_b: 5.0, 7: 6.0})
    assert autolog.flush(10)
    metrics = backend.run_by_client_id(run.run_id).metrics
    assert len(metrics) == 6
    # The first key to claim a name keeps it; a later, different key gets a distinct one.
    assert metrics["ndcg_at_5"][0].value == 1.0
    assert [m[0].value for k, m in metrics.items() if k.startswith("ndcg_at_5_")] == [2.0]
    assert {m[0].value for m in metrics.values()} == {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}
    assert all(len(key) <= 250 and "@" not in key and "//" not in key for key in metrics)


def test_params_are_text_immutable_truncated_and_secrets_redacted(backend):
    class Unprintable:
        def __repr__(self):
            raise RuntimeError("no repr")

        __str__ = __repr__

    with pytest.warns(autolog.AutologWarning):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_params({"lr": 0.01, "big": "x" * 100_000, "api_key": "sk-123",
                            "weird": Unprintable(), "layers": [64, 32]})
            run.log_params({"lr": 0.01})
            run.log_params({"lr": 0.5})
    assert autolog.flush(10)
    remote = backend.run_by_client_id(run.run_id)
    assert remote.params["lr"] == "0.01" and remote.params["layers"] == "[64, 32]"
    assert len(remote.params["big"]) == 6000
    assert remote.params["api_key"] == "***" and "sk-123" not in str(backend.requests)
    assert remote.tags["autolog.redacted_params"] == "api_key"
    assert "weird" not in remote.params


def test_system_tags_on_every_run(backend):
    with autolog.start_run(tracking_uri=backend.uri, tags={"team": "churn"}) as run:
        pass
    assert autolog.flush(10)
    tags = backend.run_by_client_id(run.run_id).tags
    assert tags["mlflow.user"] and tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"] and tags["autolog.python_version"]
    assert tags["team"] == "churn" and tags["autolog.clientRunId"] == run.run_id


def test_embedded_store_holds_everything_without_a_server(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("AUTOLOG_TRACKING_URI", raising=False)
    try:
        with autolog.start_run(run_name="baseline") as run:
            autolog.log_params({"lr": 0.01})
            for epoch in range(100):
                autolog.log_metrics({"loss": 1 / (epoch + 1)}, step=epoch)
            with autolog.start_run(run_name="child") as child:
                autolog.set_tags({"team": "churn"})
        assert autolog.flush(5)
    finally:
        shutdown(5)
    store = LocalStore(tmp_path)
    runs = {row["name"]: row for row in store.runs()}
    assert runs["baseline"]["status"] == "FINISHED"
    assert runs["child"]["parent_id"] == run.run_id
    data = store.run_data(run.run_id)
    assert data["params"] == {"lr": "0.01"}
    assert [step for step, _, _ in data["metrics"]["loss"]] == list(range(100))
    assert store.run_data(child.run_id)["tags"]["team"] == "churn"


def test_queue_spills_to_the_store_past_its_cap(backend, monkeypatch):
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "60")  # the writer would not wake by itself
    monkeypatch.setenv("AUTOLOG_QUEUE_WAKE", "100")
    monkeypatch.setenv("AUTOLOG_QUEUE_MAX", "500")
    down = {"on": True}
    backend.fail = lambda method, request: (
        Result.failure("connection refused", retryable=True) if down["on"] else None)
    shutdown(5)
    peak = 0
    with pytest.warns(autolog.AutologWarning, match="delayed"):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            for step in range(20_000):
                run.log_metric("loss", step, step=step)
                peak = max(peak, len(run.pipeline.queue))
        assert peak <= 500
        down["on"] = False
        assert autolog.flush(20)
    assert len(backend.run_by_client_id(run.run_id).metrics["loss"]) == 20_000


def test_later_artifacts_and_metrics_are_built_off_the_caller_thread(backend):
    import threading

    built_on = []

    def render() -> bytes:
        built_on.append(threading.current_thread().name)
        return b"png bytes"

    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_artifact_later("plots/curve.png", render, what="test.plot")
        run.log_metrics_later(lambda: {"training_f1": 0.75}, step=0)
        run.log_artifact_later("skipped.png", lambda: None)
    assert autolog.flush(10)
    remote = backend.run_by_client_id(run.run_id)
    assert remote.artifacts == {"plots/curve.png": b"png bytes"}
    assert remote.metrics["training_f1"][0].value == 0.75
    assert built_on and built_on[0] != threading.current_thread().name


def test_one_record_too_large_for_the_server_is_set_aside(backend):
    def proxy_limit(method, request):
        if method == "log_batch" and any(len(v) > 1000 for _, v in request["params"]):
            return Result.failure("413", too_large=True, status_code=413)
        return None

    backend.fail = proxy_limit
    with pytest.warns(autolog.AutologWarning, match="refused"):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_params({"small": "1", "huge": "x" * 5000, "other": "2"})
        assert autolog.flush(10)
    assert backend.run_by_client_id(run.run_id).params == {"small": "1", "other": "2"}


def test_the_store_reached_by_path_is_the_same_pipeline(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("AUTOLOG_TRACKING_URI", raising=False)
    try:
        runs = []
        for uri in (None, f"file://{tmp_path}", str(tmp_path)) * 3:
            with autolog.start_run(tracking_uri=uri) as run:
                for step in range(2000):
                    run.log_metric("m", step, step=step)
            runs.append(run)
        assert len({id(run.pipeline) for run in runs}) == 1
        assert autolog.flush(20)
        store = LocalStore(tmp_path)
        assert all(len(store.run_data(r.run_id)["metrics"]["m"]) == 2000 for r in runs)
    finally:
        shutdown(5)


def test_an_unservable_uri_from_the_environment_falls_back_to_the_store(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    monkeypatch.delenv("AUTOLOG_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    try:
        with pytest.warns(autolog.AutologWarning, match="cannot send to"):
            with autolog.start_run(run_name="kept") as run:
                run.log_metric("m", 1.0)
        assert autolog.flush(10)
        assert [r["name"] for r in LocalStore(tmp_path).runs()] == ["kept"]
        with pytest.raises(ValueError, match="sqlite"):
            autolog.start_run(tracking_uri="sqlite:///other.db")
    finally:
        shutdown(5)


def test_a_failed_store_write_does_not_answer_flush(backend, monkeypatch):
    with autolog.start_run(tracking_uri=backend.uri) as run:
        store = run.pipeline.store
        original = store.write_records
        failing = {"on": True}

        def write(records, target):
            if failing["on"]:
                raise OSError("disk full")
            return original(records, target)

        monkeypatch.setattr(store, "write_records", write)
        run.log_metric("m", 1.0)
        with pytest.warns(autolog.AutologWarning, match="disk full"):
            assert not autolog.flush(0.5)
        failing["on"] = False
    assert autolog.flush(10)
    assert backend.run_by_client_id(run.run_id).metrics["m"][0].value == 1.0


def test_lower_server_limits_from_the_environment(monkeypatch):
    from autolog.backends import backend_for_uri

    monkeypatch.setenv("AUTOLOG_MAX_REQUEST_BYTES", "65536")
    monkeypatch.setenv("AUTOLOG_MAX_BATCH_METRICS", "200")
    monkeypatch.setenv("AUTOLOG_MAX_BATCH_PARAMS", "5000")  # never above the server's own
    limits = backend_for_uri("http://127.0.0.1:9").limits
    assert limits.max_request_bytes == 65536 and limits.max_metrics == 200
    assert limits.max_params == 100


def test_secret_param_words_are_configurable(backend, monkeypatch):
    monkeypatch.setenv("AUTOLOG_SECRET_PARAM_WORDS", "internal_id")
    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_params({"customer_internal_id": "42", "token_budget": "100"})
    assert autolog.flush(10)
    assert backend.run_by_client_id(run.run_id).params == {
        "customer_internal_id": "***", "token_budget": "100"}


def test_the_store_is_readable_by_the_user_only(backend):
    import stat

    with autolog.start_run(tracking_uri=backend.uri) as run:
        run.log_text("hello", "notes/readme.txt")
    assert autolog.flush(10)
    store = run.pipeline.store
    for path in (store.directory, store.path, store.artifact_root):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_two_processes_sharing_a_store_never_send_a_slow_runs_records_twice(tmp_path,
                                                                            monkeypatch):
    # Two senders on one store directory, as two processes with the same AUTOLOG_DIR have.
    # The server is slow enough that delivering the run outlasts the lease several times over:
    # the first sender must keep it, and the second must not send what the first is sending.
    from autolog.client import _sender

    monkeypatch.setattr(_sender, "LEASE_SECONDS", 1.0)
    name = uuid.uuid4().hex
    memory = named(name)
    memory.limits = Limits(max_metrics=100, max_params=100, max_tags=100, max_entities=300)
    target = f"memory://{name}"

    def slow_batches(method, request):
        if method == "log_batch":
            time.sleep(0.1)
        return None

    memory.fail = slow_batches
    writer = LocalStore(tmp_path)
    run_id = uuid.uuid4().hex
    writer.write_records(
        [("run", run_id, "Default", "slow", None, 1, 0)]
        + [("metric", run_id, "loss", float(step), 1000 + step, step) for step in range(2000)]
        + [("end", run_id, "FINISHED", 5000)],
        target,
    )
    first = _sender.Sender(LocalStore(tmp_path), target, memory)
    second = _sender.Sender(LocalStore(tmp_path), target, memory)
    first_done = threading.Event()
    delivered = threading.Thread(target=lambda: (first.deliver_pass(), first_done.set()))
    delivered.start()
    while not any(method == "log_batch" for method, _ in memory.requests):
        time.sleep(0.01)
    while not first_done.is_set():  # 20 batches of 0.1 s: the lease runs out twice meanwhile
        second.deliver_pass()
        time.sleep(0.05)
    delivered.join()
    while not first.deliver_pass():  # its next passes deliver what a pass leaves (the end)
        time.sleep(0.05)
    remote = memory.run_by_client_id(run_id)
    assert [m.step for m in remote.metrics["loss"]] == list(range(2000))
    assert remote.status == "FINISHED"
    assert sum(method == "create_run" for method, _ in memory.requests) == 1


def test_a_failure_inside_the_sender_thread_is_reported_and_the_thread_lives_on(
        backend, monkeypatch, autolog_errors):
    from autolog.client._sender import Sender

    original = Sender.deliver_pass
    broken = {"passes": 1}

    def failing_once(self, run_ids=None):
        if broken["passes"] and threading.current_thread().name == "autolog-sender":
            broken["passes"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return original(self, run_ids)

    monkeypatch.setattr(Sender, "deliver_pass", failing_once)
    with pytest.warns(autolog.AutologWarning, match="delivery failed .*disk I/O error"):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_metrics({"m": 1.0}, step=0)
        assert autolog.flush(10)  # the same thread delivered it afterwards
    assert backend.run_by_client_id(run.run_id).metrics["m"][0].value == 1.0
    assert any("disk I/O error" in error for error in autolog_errors())  # tests see it


def test_a_failure_inside_the_writer_thread_is_reported_and_the_thread_lives_on(
        backend, monkeypatch, autolog_errors):
    from autolog.client._pipeline import Pipeline

    original = Pipeline.drain
    broken = {"drains": 1}

    def failing_once(self):
        if broken["drains"] and threading.current_thread().name == "autolog-writer":
            broken["drains"] -= 1
            raise RuntimeError("a bug in the writer")
        return original(self)

    monkeypatch.setattr(Pipeline, "drain", failing_once)
    with pytest.warns(autolog.AutologWarning, match="writer thread failed .*a bug in the writer"):
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_metrics({"m": 1.0}, step=0)
        assert autolog.flush(10)  # the same thread wrote it afterwards
    assert backend.run_by_client_id(run.run_id).metrics["m"][0].value == 1.0
    assert any("a bug in the writer" in error for error in autolog_errors())  # tests see it


def test_a_store_that_cannot_be_read_is_not_called_a_delivery_delay(backend, monkeypatch,
                                                                    autolog_errors):
    """The server is fine; the local store fails while the sender reads it. The warning must
    name the store, not claim that delivery to the server is delayed."""
    import warnings

    from autolog.client._sender import Sender

    original = Sender.deliver_pass
    broken = {"passes": 2}

    def failing(self, run_ids=None):
        if broken["passes"] and threading.current_thread().name == "autolog-sender":
            broken["passes"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return original(self, run_ids)

    monkeypatch.setattr(Sender, "deliver_pass", failing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with autolog.start_run(tracking_uri=backend.uri) as run:
            run.log_metrics({"m": 1.0}, step=0)
        assert autolog.flush(10)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "delivery to the tracking server is delayed" in m], messages
    assert [m for m in messages if "local store" in m and "disk I/O error" in m], messages
    assert backend.run_by_client_id(run.run_id).metrics["m"][0].value == 1.0

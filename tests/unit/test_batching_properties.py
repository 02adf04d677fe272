"""Property: any sequence of log calls → every record delivered once, every request within
limits, per-run order kept."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autolog
from autolog._runs import shutdown
from autolog.backends.base import Limits
from autolog.backends.memory import named

keys = st.sampled_from(["loss", "acc", "val/loss", "lr", "x y"])
calls = st.lists(
    st.one_of(
        st.tuples(st.just("metric"), st.integers(0, 2), keys, st.floats(allow_nan=False),
                  st.integers(-5, 10_000)),
        st.tuples(st.just("param"), st.integers(0, 2), st.text(min_size=1, max_size=8,
                  alphabet="abcdefgh_"), st.text(max_size=50)),
        st.tuples(st.just("tag"), st.integers(0, 2), st.text(min_size=1, max_size=8,
                  alphabet="abcdefgh_"), st.text(max_size=50)),
    ),
    max_size=400,
)
limits = st.builds(
    Limits,
    max_metrics=st.integers(1, 50), max_params=st.integers(1, 10), max_tags=st.integers(1, 10),
    max_entities=st.integers(1, 60), max_request_bytes=st.integers(2_000, 50_000),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=calls, backend_limits=limits)
def test_any_log_sequence_is_delivered_once_within_limits_in_order(
    calls, backend_limits, tmp_path, monkeypatch
):
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / uuid.uuid4().hex))
    monkeypatch.setenv("AUTOLOG_FLUSH_INTERVAL", "0.02")
    name = uuid.uuid4().hex
    backend = named(name)
    backend.limits = backend_limits
    expected_metrics: dict[tuple[int, str], list[tuple[float, int]]] = {}
    expected_params: dict[tuple[int, str], str] = {}
    expected_tags: dict[tuple[int, str], str] = {}
    try:
        runs = [autolog.start_run(run_name=f"r{i}", tracking_uri=f"memory://{name}", nested=False)
                for i in range(3)]
        for kind, index, key, value, *rest in calls:
            run = runs[index]
            if kind == "metric":
                run.log_metrics({key: value}, step=rest[0])
                expected_metrics.setdefault((index, key), []).append((value, rest[0]))
            elif kind == "param":
                run.log_params({key: value})
                expected_params.setdefault((index, key), value)
            else:
                run.set_tags({key: value})
                expected_tags[(index, key)] = value
        for run in runs:
            run.end()
        assert autolog.flush(20)
    finally:
        shutdown(5)

    for method, request in backend.requests:
        if method != "log_batch":
            continue
        assert len(request["metrics"]) <= backend_limits.max_metrics
        assert len(request["params"]) <= backend_limits.max_params
        assert len(request["tags"]) <= backend_limits.max_tags
        total = len(request["metrics"]) + len(request["params"]) + len(request["tags"])
        assert total <= backend_limits.max_entities
    remote = [backend.run_by_client_id(run.run_id) for run in runs]
    for (index, key), points in expected_metrics.items():
        got = [(m.value, m.step) for m in remote[index].metrics[key]]
        assert got == points  # every point once, in the order logged
    assert sum(len(v) for r in remote for v in r.metrics.values()) == sum(
        len(v) for v in expected_metrics.values())
    for (index, key), value in expected_params.items():
        assert remote[index].params[key] == value
    for (index, key), value in expected_tags.items():
        assert remote[index].tags[key] == value
    assert all(r.status == "FINISHED" for r in remote)

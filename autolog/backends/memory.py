"""An in-memory backend for unit tests: records every request, can be told to fail.

It enforces the same limits and de-duplication rules as an MLflow server (params immutable,
identical metric points collapse), so the shipper's batching and retry rules can be checked
without a network.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autolog.backends.base import CLIENT_ID_TAG, Limits, Metric, Result, RunSpec


@dataclass
class MemoryRun:
    run_id: str
    experiment_id: str
    name: str
    start_time: int
    status: str = "RUNNING"
    end_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[Metric]] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)


class MemoryBackend:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.experiments: dict[str, str] = {}
        self.runs: dict[str, MemoryRun] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: ``fail(method_name, kwargs) -> Result | None``: a Result to return instead of serving.
        self.fail: Callable[[str, dict[str, Any]], Result | None] | None = None
        #: Serve the request, then pretend the response was lost (returns this Result).
        self.lose_response: Callable[[str, dict[str, Any]], Result | None] | None = None
        self._lock = threading.Lock()

    def _enter(self, method: str, **request: Any) -> Result | None:
        with self._lock:
            self.requests.append((method, request))
        if self.fail is not None:
            return self.fail(method, request)
        return None

    def _exit(self, method: str, request: dict[str, Any], result: Result) -> Result:
        if self.lose_response is not None and result.ok:
            lost = self.lose_response(method, request)
            if lost is not None:
                return lost
        return result

    def get_or_create_experiment(self, name: str) -> Result:
        failed = self._enter("get_or_create_experiment", name=name)
        if failed:
            return failed
        with self._lock:
            experiment_id = self.experiments.setdefault(name, str(len(self.experiments) + 1))
        return Result.success(experiment_id)

    def find_run(self, experiment_id: str, client_id: str) -> Result:
        failed = self._enter("find_run", experiment_id=experiment_id, client_id=client_id)
        if failed:
            return failed
        for run in self.runs.values():
            if run.experiment_id == experiment_id and run.tags.get(CLIENT_ID_TAG) == client_id:
                return Result.success(run.run_id)
        return Result.success(None)

    def create_run(self, spec: RunSpec) -> Result:
        request = {"spec": spec}
        failed = self._enter("create_run", **request)
        if failed:
            return failed
        run = MemoryRun(uuid.uuid4().hex, spec.experiment_id, spec.name, spec.start_time)
        run.tags.update(spec.tags)
        run.tags[CLIENT_ID_TAG] = spec.client_id
        with self._lock:
            self.runs[run.run_id] = run
        return self._exit("create_run", request, Result.success(run.run_id))

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (),
                  params: Sequence[tuple[str, str]] = (),
                  tags: Sequence[tuple[str, str]] = ()) -> Result:
        request = {"run_id": run_id, "metrics": list(metrics), "params": list(params),
                   "tags": list(tags)}
        failed = self._enter("log_batch", **request)
        if failed:
            return failed
        limits = self.limits
        if (len(metrics) > limits.max_metrics or len(params) > limits.max_params
                or len(tags) > limits.max_tags
                or len(metrics) + len(params) + len(tags) > limits.max_entities):
            return Result.failure("batch over the limits", status_code=400)
        run = self.runs.get(run_id)
        if run is None:
            return Result.failure(f"run {run_id} does not exist", status_code=404)
        for key, value in params:
            if run.params.get(key, value) != value:
                return Result.failure(f"param {key} changed", status_code=400)
        for key, value in params:
            run.params[key] = value
        for metric in metrics:  # kept raw, so tests can see a duplicate the server would hide
            run.metrics.setdefault(metric.key, []).append(metric)
        run.tags.update(dict(tags))
        return self._exit("log_batch", request, Result.success())

    def update_run(self, run_id: str, status: str, end_time: int | None) -> Result:
        request = {"run_id": run_id, "status": status, "end_time": end_time}
        failed = self._enter("update_run", **request)
        if failed:
            return failed
        run = self.runs[run_id]
        run.status, run.end_time = status, end_time
        return self._exit("update_run", request, Result.success())

    def log_artifact(self, run_id: str, artifact_path: str, local_file: str) -> Result:
        request = {"run_id": run_id, "artifact_path": artifact_path}
        failed = self._enter("log_artifact", **request)
        if failed:
            return failed
        with open(local_file, "rb") as source:
            self.runs[run_id].artifacts[artifact_path] = source.read()
        return self._exit("log_artifact", request, Result.success())

    def close(self) -> None:
        pass

    # -- helpers for tests --------------------------------------------------------------------
    def run_by_client_id(self, client_id: str) -> MemoryRun:
        for run in self.runs.values():
            if run.tags.get(CLIENT_ID_TAG) == client_id:
                return run
        raise KeyError(client_id)


_named: dict[str, MemoryBackend] = {}


def named(name: str) -> MemoryBackend:
    """The shared backend behind ``tracking_uri="memory://<name>"``."""
    backend = _named.get(name)
    if backend is None:
        backend = _named[name] = MemoryBackend()
    return backend

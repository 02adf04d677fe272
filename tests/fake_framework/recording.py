"""What autolog handed to the recorder: which runs it opened, how they ended, their data.

Patches ``Pipeline.append`` / ``extend`` (the one hot path every record goes through) to
keep a copy of each record, then passes it on unchanged; and the writer's expansion of
deferred records (metrics and artifacts computed off the training thread), to keep what they
built once the writer built it (after ``autolog.flush()``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from autolog.client import _pipeline
from autolog.client._pipeline import Pipeline


@dataclass
class RecordedRun:
    run_id: str
    name: str
    parent_id: str | None
    status: str = "RUNNING"
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)


class RunRecorder:
    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._saved: tuple[Any, Any, Any] | None = None

    def __enter__(self) -> RunRecorder:
        recorder = self
        original_append, original_extend = Pipeline.append, Pipeline.extend

        def append(pipeline: Pipeline, record: tuple) -> None:
            with recorder._lock:
                recorder.records.append(record)
            original_append(pipeline, record)

        def extend(pipeline: Pipeline, records: list[tuple]) -> None:
            with recorder._lock:
                recorder.records.extend(records)
            original_extend(pipeline, records)

        original_expand = _pipeline.expand_deferred

        def expand_deferred(records: list[tuple]) -> list[tuple]:
            expanded = original_expand(records)
            queued = {id(record) for record in records}
            with recorder._lock:
                recorder.records.extend(record for record in expanded
                                        if id(record) not in queued)
            return expanded

        self._saved = (original_append, original_extend, original_expand)
        Pipeline.append, Pipeline.extend = append, extend  # type: ignore[method-assign]
        _pipeline.expand_deferred = expand_deferred
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._saved is not None:
            Pipeline.append, Pipeline.extend, _pipeline.expand_deferred = self._saved  # type: ignore[method-assign]
            self._saved = None

    def runs(self) -> dict[str, RecordedRun]:
        """Runs opened while recording, by run id, in the order they were opened."""
        runs: dict[str, RecordedRun] = {}
        with self._lock:
            records = list(self.records)
        for record in records:
            kind, run_id = record[0], record[1]
            if kind == "run":
                runs[run_id] = RecordedRun(run_id, record[3], record[4])
                continue
            run = runs.get(run_id)
            if run is None:
                continue
            if kind == "tag":
                run.tags[record[2]] = record[3]
            elif kind == "param":
                run.params[record[2]] = record[3]
            elif kind == "metric":
                run.metrics.append((record[2], record[3], record[5]))
            elif kind == "end":
                run.status = record[2]
        return runs

    def tagged(self, key: str) -> list[RecordedRun]:
        return [run for run in self.runs().values() if key in run.tags]

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

"""Runs: client-side ids, a per-thread stack of active runs, and the logging hot path.

A run's id is generated here, so nothing on the caller's thread waits for a server. Every
``log_*`` call converts values, maps keys, and appends records to the pipeline's queue.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from autolog import _config, _lifecycle, _nesting
from autolog._context import process_tags
from autolog._guard import report_failure
from autolog._records import ARTIFACT, DEFERRED, END, METRIC, PARAM, RUN, TAG
from autolog._redaction import (
    REDACTED,
    looks_secret,
    may_hold_secrets,
    redact_structure,
    redact_text,
    secret_words,
)
from autolog._values import (
    INT64_MAX,
    INT64_MIN,
    MAX_PARAM_LENGTH,
    MAX_TAG_LENGTH,
    KeyRegistry,
    checked_step,
    checked_timestamp,
    is_number,
    is_storable_text,
    is_valid_key,
    metric_value,
    storable_text,
    text_value,
)
from autolog._warnings import warn_once

if TYPE_CHECKING:  # the store and pipeline (sqlite3, threads) load with the first run
    from autolog.backends.local_store import LocalStore
    from autolog.client._pipeline import Pipeline

logger = logging.getLogger("autolog")

STATUSES = ("FINISHED", "FAILED", "KILLED")
_run_seq = itertools.count()
_local = threading.local()
_open_runs: dict[str, Run] = {}
_open_lock = threading.Lock()
_pipelines: dict[tuple[str, str], Pipeline] = {}
_pipelines_lock = threading.Lock()
_stores: dict[str, LocalStore] = {}
_INFINITIES = (math.inf, -math.inf)
#: Tags autolog and MLflow define: their names are never redacted.
_SYSTEM_TAG_PREFIXES = ("mlflow.", "autolog.")


class Run:
    """A tracked run. Use as a context manager, or call :meth:`end`.

    ``run_id`` is autolog's own id (also the local store's); :meth:`remote_id` is the tracking
    server's id once the run exists there.
    """

    def __init__(self, pipeline: Pipeline, run_id: str, name: str, experiment: str,
                 parent: Run | None, start_time: int) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.name = name
        self.experiment = experiment
        self.parent = parent
        self.start_time = start_time
        self.end_time: int | None = None
        self.status = "RUNNING"
        #: Scratch space for integrations (e.g. "this run already holds a model").
        self.integration_state: dict[str, Any] = {}
        #: A handle on a run another process (or an earlier one) created: see ``attach_run``.
        self.attached = False
        self._metric_keys = KeyRegistry("metric")
        self._param_keys = KeyRegistry("param")
        self._tag_keys = KeyRegistry("tag")
        self._params: dict[str, str] = {}
        self._redacted: list[str] = []
        self._redacted_tags: list[str] = []

    def __repr__(self) -> str:
        return f"<autolog.Run {self.name!r} id={self.run_id} status={self.status}>"

    @property
    def parent_id(self) -> str | None:
        return self.parent.run_id if self.parent is not None else None

    # -- logging --------------------------------------------------------------------------------
    def log_metrics(self, metrics: Mapping[Any, Any], step: Any = None,
                    timestamp: int | None = None) -> None:
        """Numbers (floats, ints, bools, numpy/torch scalars); NaN and ±inf included."""
        records = self._metric_records(metrics, step, timestamp)
        if records:
            self.pipeline.extend(records)

    def _metric_records(self, metrics: Mapping[Any, Any], step: Any,
                        timestamp: int | None) -> list[tuple]:
        ts = int(time.time() * 1000) if timestamp is None else checked_timestamp(timestamp,
                                                                                 metrics)
        if step is None:
            step = 0
        elif type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
            step = checked_step(step, metrics)
        run_id = self.run_id
        keys = self._metric_keys
        records = []
        for key, value in metrics.items():
            if type(value) is float:
                converted = value
            else:
                converted = metric_value(value)
                if not is_number(converted):
                    warn_once(f"metric-value:{key}", f"autolog: metric {key!r} has a non-numeric "
                              f"value of type {type(value).__name__}; it was not recorded")
                    continue
                if converted in _INFINITIES and isinstance(value, int):
                    warn_once(f"metric-huge:{key}", f"autolog: metric {key!r} is an integer "
                              f"beyond a float's range; recorded as {converted}")
            records.append((METRIC, run_id, keys.get(key), converted, ts, step))
        return records

    def log_metric(self, key: Any, value: Any, step: Any = None,
                   timestamp: int | None = None) -> None:
        self.log_metrics({key: value}, step=step, timestamp=timestamp)

    def log_params(self, params: Mapping[Any, Any]) -> None:
        """Params are immutable per run: the first value of a key wins, with a warning."""
        records = []
        words = secret_words()
        keys, logged, run_id = self._param_keys, self._params, self.run_id
        for key, value in params.items():
            final_key = keys.get(key)
            kind = type(value)
            if kind is str and len(value) <= MAX_PARAM_LENGTH and value.isascii():
                text = value
            elif kind is float or kind is bool or value is None:
                text = str(value)  # (an int may be too long for str(): the checked path)
            else:
                text, redacted = _text_of(value, MAX_PARAM_LENGTH, "param value", final_key,
                                          words)
                if text is None:
                    continue
                if redacted:
                    self._note_redacted(final_key)
            if text != REDACTED and looks_secret(final_key, words):
                text = REDACTED
                self._note_redacted(final_key)
            elif may_hold_secrets(text):
                cleaned = redact_text(text, words)
                if cleaned != text:
                    text = cleaned
                    self._note_redacted(final_key)
            previous = logged.get(final_key)
            if previous is not None:
                if previous != text:
                    warn_once(f"param-conflict:{run_id}:{final_key}",
                              f"autolog: param {final_key!r} was already logged in run "
                              f"{self.name!r} with another value ({previous!r}); params cannot "
                              f"change, so {text[:100]!r} was not recorded")
                continue
            logged[final_key] = text
            records.append((PARAM, run_id, final_key, text))
        if records:
            self.pipeline.extend(records)

    def _note_redacted(self, param_key: str) -> None:
        if param_key not in self._redacted:
            self._redacted.append(param_key)
            self.set_tags({"autolog.redacted_params": ",".join(self._redacted)})

    def log_param(self, key: Any, value: Any) -> None:
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[Any, Any]) -> None:
        records = self._tag_records(tags)
        if records:
            self.pipeline.extend(records)

    def _tag_records(self, tags: Mapping[Any, Any]) -> list[tuple]:
        records = []
        words = secret_words()
        redacted = False
        for key, value in tags.items():
            final_key = self._tag_keys.get(key)
            if type(value) is str and len(value) <= MAX_TAG_LENGTH and value.isascii():
                text = value
            else:
                text, inner = _text_of(value, MAX_TAG_LENGTH, "tag value", final_key, words)
                if text is None:
                    continue
                if inner:
                    redacted = self._note_redacted_tag(final_key) or redacted
            if (text != REDACTED and not final_key.startswith(_SYSTEM_TAG_PREFIXES)
                    and looks_secret(final_key, words)):  # autolog's, MLflow's names: never
                text = REDACTED
                redacted = self._note_redacted_tag(final_key) or redacted
            elif may_hold_secrets(text):
                cleaned = redact_text(text, words)
                if cleaned != text:
                    text = cleaned
                    redacted = self._note_redacted_tag(final_key) or redacted
            records.append((TAG, self.run_id, final_key, text))
        if redacted:
            records.append((TAG, self.run_id, "autolog.redacted_tags",
                            ",".join(self._redacted_tags)))
        return records

    def _note_redacted_tag(self, tag_key: str) -> bool:
        if tag_key in self._redacted_tags:
            return False
        self._redacted_tags.append(tag_key)
        return True

    def set_tag(self, key: Any, value: Any) -> None:
        self.set_tags({key: value})

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a file into the run's artifacts (``artifact_path`` is a folder, like MLflow)."""
        import os

        name = os.path.basename(local_path)
        target = f"{artifact_path.strip('/')}/{name}" if artifact_path else name
        with open(local_path, "rb") as source:  # frozen now: the user may change the file later
            self.pipeline.append((ARTIFACT, self.run_id, _artifact_name(target),
                                  source.read()))

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store ``data`` as the artifact ``artifact_file`` (a path inside the run's artifacts)."""
        self.pipeline.append((ARTIFACT, self.run_id, _artifact_name(artifact_file.strip("/")),
                              bytes(data)))

    def log_text(self, text: str, artifact_file: str) -> None:
        # Lone surrogates (text read with errors="surrogateescape") become \udcXX escapes.
        self.log_bytes(text.encode("utf-8", "backslashreplace"), artifact_file)

    def log_artifact_later(self, artifact_file: str, build: Callable[[], bytes | None], *,
                           what: str = "artifact") -> None:
        """Store the bytes ``build()`` returns as ``artifact_file``, computed off the caller's
        thread (by the writer, in order with the run's other records; ``flush()`` covers it).

        For work the training thread should not wait for, e.g. rendering a plot. ``build`` runs
        once; returning None stores nothing; an exception in it is one AutologWarning (``what``
        names it)."""
        run_id, path = self.run_id, _artifact_name(artifact_file.strip("/"))

        def records() -> list[tuple]:
            data = build()
            return [] if data is None else [(ARTIFACT, run_id, path, bytes(data))]

        self.pipeline.append((DEFERRED, records, what))

    def log_metrics_later(self, build: Callable[[], Mapping[str, Any] | None], step: Any = None,
                          *, what: str = "metrics") -> None:
        """Like :meth:`log_artifact_later`, for metrics whose computation can wait (e.g. training
        scores from predictions already made). The timestamp is the time of this call."""
        timestamp = int(time.time() * 1000)

        def records() -> list[tuple]:
            metrics = build()
            return self._metric_records(metrics, step, timestamp) if metrics else []

        self.pipeline.append((DEFERRED, records, what))

    def set_tags_later(self, build: Callable[[], Mapping[str, Any] | None], *,
                       what: str = "tags") -> None:
        """Like :meth:`log_metrics_later`, for tags (e.g. a fingerprint of data copied now)."""
        def records() -> list[tuple]:
            tags = build()
            return self._tag_records(tags) if tags else []

        self.pipeline.append((DEFERRED, records, what))

    # -- lifecycle ----------------------------------------------------------------------------
    def end(self, status: str = "FINISHED") -> None:
        """Close the run (idempotent). ``status``: FINISHED, FAILED or KILLED."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        if self.status != "RUNNING":
            return
        self.status = status
        self.end_time = int(time.time() * 1000)
        self.pipeline.append((END, self.run_id, status, self.end_time))
        stack = _stack()
        if self in stack:
            stack.remove(self)
        with _open_lock:
            _open_runs.pop(self.run_id, None)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.end(status_for(exc_type))

    def remote_id(self, timeout: float | None = 30.0) -> str | None:
        """The tracking server's id for this run (waits for its creation, up to ``timeout``)."""
        sender = self.pipeline.sender
        if sender is None:
            return self.run_id
        known = sender.remote_ids.get(self.run_id)
        if known is not None:
            return known
        self.pipeline.flush(0 if timeout is None else min(timeout, 5.0))
        return sender.wait_remote_id(self.run_id, timeout)


def _text_of(value: Any, limit: int, what: str, key: str,
             words: tuple[str, ...]) -> tuple[str | None, bool]:
    """The checked path of a param or tag value: containers lose their secret-looking keys'
    values before they become text (True when they had some); the text is storable and at
    most ``limit`` long (None when the value has no text form)."""
    redacted = False
    if isinstance(value, (Mapping, list, tuple)):
        value, redacted = redact_structure(value, words)
    return text_value(value, limit=limit, what=what, key=key), redacted


def _artifact_name(path: str) -> str:
    return path if path.isascii() else storable_text(path, what=f"artifact path {path!r}")


def status_for(exc_type: type[BaseException] | None) -> str:
    if exc_type is None:
        return "FINISHED"
    if issubclass(exc_type, KeyboardInterrupt):
        return "KILLED"
    return "FAILED"


def _stack() -> list[Run]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def active_run() -> Run | None:
    """The innermost run this thread opened and has not ended."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


def activate(run: Run) -> bool:
    """Make ``run`` this thread's active run; False (and nothing done) if it is on the
    thread's stack already. Undo with :func:`deactivate`."""
    stack = _stack()
    if run in stack:
        return False
    stack.append(run)
    return True


def deactivate(run: Run) -> None:
    """Take ``run`` off this thread's stack of active runs (it stays open)."""
    stack = _stack()
    if run in stack:
        stack.remove(run)


def open_run(run_id: str) -> Run | None:
    """The run ``run_id`` if this process opened it and has not ended it."""
    with _open_lock:
        return _open_runs.get(run_id)


def store_for(directory: str) -> LocalStore:
    """The process's one writing store for ``directory`` (opened on first use)."""
    from autolog.backends.local_store import LocalStore

    store = _stores.get(directory)
    if store is None:
        store = _stores[directory] = LocalStore(directory, recover=True)
    return store


def _redact_uri(uri: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def get_pipeline(tracking_uri: str | None = None) -> Pipeline:
    """The pipeline for a tracking URI (``None``: configured default), created once."""
    from autolog.backends import backend_for_uri
    from autolog.backends.local_store import LOCAL_TARGET, LocalStore
    from autolog.client._pipeline import Pipeline

    uri = _config.tracking_uri(tracking_uri)
    directory = str(_config.store_dir())
    requested = (LOCAL_TARGET if uri is None else _redact_uri(uri), directory)
    with _pipelines_lock:
        pipeline = _pipelines.get(requested)
        if pipeline is None:
            store = store_for(directory)
            backend, target = None, requested[0]
            if uri is not None:
                try:
                    backend = backend_for_uri(uri)
                except ValueError:
                    if tracking_uri is not None:
                        raise
                    # From the environment (often MLflow's own sqlite: or databricks URI, set
                    # by mlflow.set_tracking_uri): say so once and keep recording locally.
                    warn_once(f"uri:{target}", f"autolog: the tracking URI {target!r} from the "
                              "environment has a scheme autolog cannot send to (http, https, "
                              "file); runs go to the embedded store instead")
                    target = LOCAL_TARGET
                if isinstance(backend, LocalStore) and backend.path.resolve() == store.path.resolve():
                    backend, target = None, LOCAL_TARGET
            # The same store reached two ways (no URI, or file:// to it) is one pipeline.
            pipeline = _pipelines.get((target, directory))
            if pipeline is None:
                pipeline = Pipeline(store, target, backend)
                if backend is not None:
                    pipeline.deliver_leftovers()
            _pipelines[(target, directory)] = _pipelines[requested] = pipeline
        return pipeline


_process_tags_checked: tuple[dict[str, str], list[tuple[str, str]], dict[str, str]] | None = None


def _process_tags_split() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The process's tags that are valid as they are (checked once, not for every run), and
    the others, which go through ``set_tags`` like the user's."""
    global _process_tags_checked
    tags = process_tags()
    checked = _process_tags_checked
    if checked is None or checked[0] is not tags:
        shared = [(key, value) for key, value in tags.items()
                  if type(key) is str and is_valid_key(key) and type(value) is str
                  and len(value) <= MAX_TAG_LENGTH and is_storable_text(value)]
        unusual = {key: value for key, value in tags.items() if (key, value) not in shared}
        checked = _process_tags_checked = (tags, shared, unusual)
    return checked[1], checked[2]


def start_run(
    run_name: str | None = None,
    *,
    parent: Run | None = None,
    tags: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    description: str | None = None,
    tracking_uri: str | None = None,
    nested: bool = True,
    run_id: str | None = None,
    activate: bool = True,
) -> Run:
    """Open a run and make it this thread's active run.

    Inside another active run it becomes a child (``mlflow.parentRunId``); worker threads attach
    to a run explicitly with ``parent=``. ``nested=False`` opens a top-level run regardless.
    ``run_id``: an id agreed on beforehand (e.g. through an Optuna study's storage) instead of
    a new one; the caller makes sure only one process creates it. ``activate=False`` opens the
    run without making it the active run (see :func:`activate`); it still ends at exit.
    """
    if parent is not None and not isinstance(parent, Run):
        raise ValueError(f"parent must be an autolog Run, not {type(parent).__name__}")
    if run_id is not None and (type(run_id) is not str or not run_id.isascii()
                               or not run_id.isalnum()):
        raise ValueError(f"run_id must be a string of letters and digits, not {run_id!r}")
    if parent is None and nested:
        parent = active_run()
    if parent is not None and tracking_uri is None:
        pipeline = parent.pipeline
        experiment = experiment or parent.experiment
    else:
        pipeline = get_pipeline(tracking_uri)
    experiment = _storable_name(_config.experiment_name(experiment), "experiment name")
    if run_id is None:
        import uuid  # here, not at import: it loads platform

        run_id = uuid.uuid4().hex
    name = _storable_name(run_name, "run name") if run_name else f"run-{run_id[:8]}"
    start = int(time.time() * 1000)
    run = Run(pipeline, run_id, name, experiment, parent, start)
    pipeline.append((RUN, run_id, experiment, name, run.parent_id, start, next(_run_seq)))
    shared, unusual = _process_tags_split()
    pipeline.extend([(TAG, run_id, key, value) for key, value in shared])
    given = dict(unusual)
    if description:
        given["mlflow.note.content"] = description
    if tags:
        given.update(tags)
    if given:
        run.set_tags(given)
    if activate:
        _stack().append(run)
    with _open_lock:
        _open_runs[run_id] = run
    return run


def _storable_name(name: Any, what: str) -> str:
    if type(name) is str and name.isascii():
        return name
    text = text_value(name, limit=MAX_TAG_LENGTH, what=what)
    return text if text is not None else f"<{type(name).__name__}>"


def end_run(status: str = "FINISHED") -> None:
    """End this thread's active run, if any."""
    run = active_run()
    if run is not None:
        run.end(status)


def _run_for_logging() -> Run:
    run = active_run()
    if run is None:  # like MLflow: logging with no active run opens one, ended at exit
        run = start_run()
    return run


def log_metrics(metrics: Mapping[Any, Any], step: Any = None, timestamp: int | None = None) -> None:
    _run_for_logging().log_metrics(metrics, step=step, timestamp=timestamp)


def log_metric(key: Any, value: Any, step: Any = None, timestamp: int | None = None) -> None:
    _run_for_logging().log_metrics({key: value}, step=step, timestamp=timestamp)


def log_params(params: Mapping[Any, Any]) -> None:
    _run_for_logging().log_params(params)


def log_param(key: Any, value: Any) -> None:
    _run_for_logging().log_params({key: value})


def set_tags(tags: Mapping[Any, Any]) -> None:
    _run_for_logging().set_tags(tags)


def set_tag(key: Any, value: Any) -> None:
    _run_for_logging().set_tags({key: value})


def log_artifact(local_path: str, artifact_path: str | None = None) -> None:
    _run_for_logging().log_artifact(local_path, artifact_path)


def all_pipelines() -> list[Pipeline]:
    """Every pipeline this process opened, each once."""
    with _pipelines_lock:
        return list({id(p): p for p in _pipelines.values()}.values())


def flush(timeout: float | None = None) -> bool:
    """Wait until everything logged so far is stored and, for a server, delivered.

    Integrations' background work (e.g. Optuna's PNG history plots) is waited for first, so
    what it logs is covered too. Returns False if ``timeout`` (seconds) passed first; nothing
    is lost either way.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    done = not _lifecycle.wait_for_background_work(timeout)
    pipelines = all_pipelines()
    for pipeline in pipelines:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        done = pipeline.flush(remaining) and done
    return done


def shutdown(timeout: float | None = 5.0) -> None:
    """End open runs, flush and stop every pipeline (tests, and ``autolog`` reconfiguration)."""
    for run in sorted(open_runs(), key=lambda r: -r.start_time):
        run.end("FINISHED")
    with _pipelines_lock:
        pipelines = list({id(p): p for p in _pipelines.values()}.values())
        _pipelines.clear()
    for pipeline in pipelines:
        pipeline.close(timeout)
    with _pipelines_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:  # its file descriptors; a late user would reopen it
        store.close()
    _local.stack = []


def open_runs() -> Iterable[Run]:
    with _open_lock:
        return list(_open_runs.values())


def _end_open_runs_at_exit() -> None:
    last = getattr(sys, "last_value", None)  # set when the script died of an uncaught exception
    status = status_for(type(last)) if last is not None else "FINISHED"
    for run in sorted(open_runs(), key=lambda r: -r.start_time):  # children first
        try:
            run.end(status)
        except Exception as error:
            report_failure(f"ending run {run.run_id} at exit", error)


def _close_at_exit(timeout: float) -> None:
    """The core's exit stage (after the background work, see ``autolog._lifecycle``): open
    runs end, then a bounded final flush. Pipelines that never started their threads drain
    and deliver inline (no thread starts at exit)."""
    _end_open_runs_at_exit()
    if "autolog.client._pipeline" in sys.modules:  # else nothing was ever logged
        from autolog.client._pipeline import close_all

        close_all(timeout)


def _after_fork_in_child() -> None:
    # The child logs into the parent's runs if it wants to, but never ends them; locks another
    # parent thread held at fork time would never be released in the child.
    global _open_lock, _pipelines_lock
    _open_lock = threading.Lock()
    _pipelines_lock = threading.Lock()
    _open_runs.clear()
    _nesting.training.reset_after_fork()


_lifecycle.on_exit("runs", _close_at_exit)
_lifecycle.on_fork("runs", "open runs", after_in_child=_after_fork_in_child)

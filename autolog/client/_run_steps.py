"""The steps that deliver one run: create it, send its records, its files, its models, its end.

:func:`deliver_run` is called by the sender's loop for each run it holds, and reaches the
backend only through the sender's public surface (:class:`DeliveryContext`): ``call`` (one
backend call; retryable failures end the pass), ``reject`` (set a refused record aside),
``experiment_id``, ``hold_lease``, ``parallel`` (independent jobs at once). The loop that
decides when and which runs to deliver is the sender's; these steps keep no state of their own
between calls. One thread delivers a run from its creation to its end, so its steps stay in
order; only its files go up in parallel.

Requests per run: a run's creation carries everything ``CreateRun`` accepts (name, start
time, parent, the tags recorded by then), so a run whose records are all stored by the time it
is delivered costs three requests: create, one ``log-batch``, the end (plus one per file).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from autolog.backends.base import Backend, Limits, Metric, ModelBackend, Result, RunSpec
from autolog.backends.local_store import LocalStore
from autolog.client._batching import take_batch

_PAGE = 5000  # rows read from the store at a time
_BATCHES_PER_PASS = 20  # per run and pass, so one busy run cannot starve the others
_FILES_PER_PAGE = 100

T = TypeVar("T")
R = TypeVar("R")


class DeliveryPaused(Exception):
    """The backend is unavailable for now: end this pass, keep everything pending."""


class LeaseLost(Exception):
    """Another live process took over the run this sender was delivering: leave it to it."""


class DeliveryContext(Protocol):
    """What the steps use of the sender delivering the run."""

    store: LocalStore
    backend: Backend
    target: str
    limits: Limits

    def call(self, method: Callable[..., Result], *args: Any) -> Result: ...

    def reject(self, run_id: str, kind: str, key: str | None, error: str) -> None: ...

    def experiment_id(self, name: str) -> str: ...

    def hold_lease(self, run: dict[str, Any], upload_bytes: int = 0) -> None: ...

    def remember_remote_id(self, run_id: str, remote_id: str, **fields: Any) -> str: ...

    def count_delivered(self, run_id: str, records: int) -> None: ...

    def count_created(self) -> None: ...

    def shrink_limits(self, used: Limits | None = None) -> None: ...

    def parallel(self, function: Callable[[T], R], items: list[T]) -> list[R]: ...

    #: The backend as a model store (see ``autolog.models._delivery``), or None.
    models: ModelBackend | None


def deliver_run(sender: DeliveryContext, run: dict[str, Any]) -> bool:
    """Deliver what ``run`` (a store row, as a dict) has pending; True when nothing is left."""
    run_id = run["run_id"]
    remote_id = run["remote_id"] or _create(sender, run)
    if remote_id is None:
        return False  # parent not created yet; retried on the next pass
    if remote_id == "":
        return True  # the backend refused this run for good; already reported
    for _ in range(_BATCHES_PER_PASS):
        sender.hold_lease(run)
        if not _send_batch(sender, run, remote_id):
            break
    else:
        return False
    _send_artifacts(sender, run, remote_id)
    from autolog.models._delivery import send_models  # models above this layer: loaded late

    if not send_models(sender, run, remote_id):  # models after their files, before the end
        return False
    if run["status"] != "RUNNING" and not run["end_sent"]:
        sender.hold_lease(run)
        result = sender.call(sender.backend.update_run, remote_id, run["status"], run["end_time"])
        if result.ok:
            sender.store.mark(run_id, end_sent=1)
    return True


def _create(sender: DeliveryContext, run: dict[str, Any]) -> str | None:
    run_id = run["run_id"]
    parent_remote = None
    if run["parent_id"]:
        parent = sender.store.run_row(run["parent_id"])
        if parent is not None and parent["target"] == sender.target:
            parent_remote = parent["remote_id"]
            if not parent_remote:
                return None
    experiment_id = sender.experiment_id(run["experiment"])
    if run["create_attempted"]:
        # A previous attempt may have reached the server: look before creating again.
        found = sender.call(sender.backend.find_run, experiment_id, run_id)
        if not found.ok:
            raise DeliveryPaused
        if found.value:
            return sender.remember_remote_id(run_id, str(found.value))
    # The tags recorded so far travel with the creation: one request less for most runs.
    # Never the system tags the creation sets itself (a recorded one goes in a batch later).
    tag_rows = _leading_tags(sender.store.pending("tags", run_id, run["tags_sent"],
                                                  sender.limits.max_tags),
                             sender.limits) if _behind(run, "tags") else []
    tags = {key: value for _, key, value in tag_rows}
    tags["mlflow.runName"] = run["name"]
    if parent_remote:
        tags["mlflow.parentRunId"] = parent_remote
    user = tags.get("mlflow.user", "")  # the run's own user field (search, the UI's column)
    spec = RunSpec(run_id, experiment_id, run["name"], run["start_time"], tags, user)
    sender.store.mark(run_id, create_attempted=1)
    result = sender.call(sender.backend.create_run, spec)
    if not result.ok and tag_rows:
        # Refused: perhaps for one of the tags. Without them (they follow in a batch, where
        # a culprit is found and set aside on its own).
        tag_rows = []
        tags = {key: value for key, value in tags.items() if key in _CREATE_TAGS}
        spec = RunSpec(run_id, experiment_id, run["name"], run["start_time"], tags, user)
        result = sender.call(sender.backend.create_run, spec)
    if not result.ok:
        sender.reject(run_id, "run", None, result.error)
        sender.store.mark(run_id, remote_id="", end_sent=1)
        return ""
    sender.count_created()
    sent = _watermarks(tags=tag_rows)
    remote_id = sender.remember_remote_id(run_id, str(result.value), **sent)  # one write
    _advanced(sender, run, sent, tags=tag_rows)
    return remote_id


#: Tags the creation sets itself.
_CREATE_TAGS = frozenset({"mlflow.runName", "mlflow.parentRunId"})


def _leading_tags(rows: list[tuple], limits: Limits) -> list[tuple]:
    """The leading tag rows one request may carry, up to the first the creation sets itself
    (the watermark advances over a contiguous prefix only)."""
    prefix = []
    for row in rows:
        if row[1] in _CREATE_TAGS:
            break
        prefix.append(row)
    if not prefix:
        return []
    return take_batch([], [], prefix, limits)[2]


def _send_batch(sender: DeliveryContext, run: dict[str, Any], remote_id: str) -> bool:
    """One request of the run's pending params, tags and metrics; False when none wait after
    it (as far as this pass knows: records stored meanwhile are the next pass's)."""
    run_id = run["run_id"]
    limits = sender.limits
    store = sender.store
    param_rows = store.pending("params", run_id, run["params_sent"],
                               limits.max_params) if _behind(run, "params") else []
    tag_rows = store.pending("tags", run_id, run["tags_sent"],
                             limits.max_tags) if _behind(run, "tags") else []
    metric_rows = store.pending("metrics", run_id, run["metrics_sent"],
                                _PAGE) if _behind(run, "metrics") else []
    if not param_rows and not metric_rows and not tag_rows:
        return False
    params, metrics, tags = take_batch(param_rows, metric_rows, tag_rows, limits)
    # Everything pending fit in this request (no read came back full, the batch took all it
    # read): no second look, three reads, after it.
    full_read = (len(param_rows) == limits.max_params or len(tag_rows) == limits.max_tags
                 or len(metric_rows) == _PAGE)
    took_all = not full_read and len(params) + len(metrics) + len(tags) == (
        len(param_rows) + len(metric_rows) + len(tag_rows))

    def send(param_part: list[tuple], metric_part: list[tuple], tag_part: list[tuple]) -> Result:
        return sender.backend.log_batch(
            remote_id,
            params=[(key, value) for _, key, value in param_part],
            metrics=[Metric(key, float("nan") if value is None else value, ts, step)
                     for _, key, value, ts, step in metric_part],
            tags=[(key, value) for _, key, value in tag_part],
        )

    result = sender.call(send, params, metrics, tags)
    if result.ok:
        _advance(sender, run, params=params, metrics=metrics, tags=tags)
        return not took_all
    if result.too_large and len(params) + len(metrics) + len(tags) > 1:
        sender.shrink_limits(limits)
    elif not params:
        _send_refused(sender, run, metrics, tags, send)
    else:
        # Refused on its own merits. A param that conflicts with the one already on the
        # server is the usual cause: params alone first (split if need be), then the rest.
        _send_rows(sender, run, "params", params, lambda part: send(part, [], []))
        if metrics or tags:
            retry = sender.call(send, [], metrics, tags)
            if retry.ok:
                _advance(sender, run, metrics=metrics, tags=tags)
            elif not (retry.too_large and len(metrics) + len(tags) > 1):
                _send_refused(sender, run, metrics, tags, send)
            else:
                sender.shrink_limits()
    return True


def _send_refused(sender: DeliveryContext, run: dict[str, Any], metrics: list[tuple],
                  tags: list[tuple], send: Callable[..., Result]) -> None:
    """Metrics and tags a backend refused together: find the culprits one at a time."""
    _send_rows(sender, run, "metrics", metrics, lambda part: send([], part, []), split=True)
    _send_rows(sender, run, "tags", tags, lambda part: send([], [], part), split=True)


def _send_artifacts(sender: DeliveryContext, run: dict[str, Any], remote_id: str) -> None:
    """Upload a page of the run's pending files, several at once. The watermark moves over
    the leading files that went up (or were set aside), so a pause costs only re-uploading
    the others, which overwrites them with the same bytes."""
    from autolog.models._delivery import files_the_logged_model_holds, upload_to_run

    run_id = run["run_id"]
    if not _behind(run, "artifacts"):
        return
    rows = sender.store.pending("artifacts", run_id, run["artifacts_sent"], _FILES_PER_PAGE)
    if not rows:
        return
    # The store keeps one file per path: a path logged twice in the page goes up once.
    last_of_path = {path: row_id for row_id, path, _ in rows}
    elsewhere = files_the_logged_model_holds(sender, run)
    uploads = [row for row in rows if last_of_path[row[1]] == row[0] and row[1] not in elsewhere]
    finished = {row[0] for row in rows} - {row[0] for row in uploads}
    sender.hold_lease(run, sum(size or 0 for _, _, size in uploads))

    def upload(row: tuple) -> None:
        upload_to_run(sender, run_id, remote_id, row[1])
        finished.add(row[0])

    try:
        sender.parallel(upload, uploads)
    finally:
        leading = None
        for row_id, _, _ in rows:
            if row_id not in finished:
                break
            leading = row_id
        if leading is not None:
            sender.store.mark(run_id, artifacts_sent=leading)
            run["artifacts_sent"] = leading


def _send_rows(sender: DeliveryContext, run: dict[str, Any], table: str, rows: list[tuple],
               send: Callable[[list[tuple]], Result], *, split: bool = False) -> None:
    if not rows:
        return
    if not split:
        result = sender.call(send, rows)
        if result.ok:
            _advance(sender, run, **{table: rows})
            return
        if result.too_large and len(rows) > 1:
            sender.shrink_limits()
            return
    for row in rows:
        result = sender.call(send, [row])
        if not result.ok and not result.too_large:
            sender.reject(run["run_id"], table, row[1], result.error)
        elif result.too_large:
            sender.reject(run["run_id"], table, row[1], "too large for the server")
        _advance(sender, run, **{table: [row]})


def _advance(sender: DeliveryContext, run: dict[str, Any], **sent: list[tuple]) -> None:
    """Move the watermarks of the tables named over the rows sent, in one store write."""
    fields = _watermarks(**sent)
    if fields:
        sender.store.mark(run["run_id"], **fields)
        _advanced(sender, run, fields, **sent)


def _watermarks(**sent: list[tuple]) -> dict[str, int]:
    """The store fields that mark ``sent`` (rows by table) as delivered."""
    return {f"{table}_sent": rows[-1][0] for table, rows in sent.items() if rows}


def _advanced(sender: DeliveryContext, run: dict[str, Any], fields: dict[str, int],
              **sent: list[tuple]) -> None:
    """The watermarks ``fields`` were written: the run's row and the counts follow."""
    if fields:
        run.update(fields)
        sender.count_delivered(run["run_id"], sum(len(rows) for rows in sent.values()))


def _behind(run: dict[str, Any], table: str) -> bool:
    """Whether ``table`` may hold records of ``run`` not yet delivered, as far as the run's
    row knows (a row without the maxima of the claim: read to find out)."""
    newest = run.get(f"{table}_max")
    return newest is None or run[f"{table}_sent"] < newest

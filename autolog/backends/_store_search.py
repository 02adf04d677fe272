"""Run search on the embedded store: a parsed MLflow filter as SQL with bound parameters.

Every piece of SQL text here comes from constants; keys, values and patterns from the user are
bound parameters, never formatted into the query. The semantics follow the MLflow tracking
server's SQL store, so a filter gives the same runs on both:

- a metric clause compares the run's latest value of that metric (highest step, then latest
  timestamp); a run without the metric never matches; NaN matches ``!=`` only;
- params keep their first value, tags their last; ``mlflow.runName`` and ``mlflow.parentRunId``
  are the run's name and parent, as the server shows them;
- ``LIKE`` is case-sensitive (as MLflow makes SQLite's), ``ILIKE`` is not;
- sorting puts runs lacking the key last (for metrics: present, then NaN, then missing), then
  newest first.

Runs are matched in one query (ids only), then read in pages, so the store's lock is never
held while the caller consumes a page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autolog.backends.local_store import LocalStore
    from autolog.search._filter import Clause, RunQuery, SortKey

PAGE_SIZE = 500  # runs read per page (bound parameters per IN list stay well under SQLite's cap)
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"

_COMPARISONS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LATEST_METRIC = ("(SELECT m.value FROM metrics m WHERE m.run_id = r.run_id AND m.key = ? "
                  "ORDER BY m.step DESC, m.timestamp DESC, m.value DESC LIMIT 1)")
_HAS_METRIC = "EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = r.run_id AND m.key = ?)"
_FIRST_PARAM = ("(SELECT p.value FROM params p WHERE p.run_id = r.run_id AND p.key = ? "
                "ORDER BY p.id LIMIT 1)")
_LAST_TAG = ("(SELECT t.value FROM tags t WHERE t.run_id = r.run_id AND t.key = ? "
             "ORDER BY t.id DESC LIMIT 1)")
_RUN_COLUMNS = {"run_id": "r.run_id", "status": "r.status", "start_time": "r.start_time",
                "end_time": "r.end_time"}


def search_runs(store: LocalStore, query: RunQuery) -> Iterator[list[dict[str, Any]]]:
    """Pages of matching runs (dicts with :class:`autolog.search.RunRecord`'s fields)."""
    artifact_prefix = store.artifact_root.absolute().as_uri() + "/"
    sql, args = _select(query, artifact_prefix)
    if not store.path.exists():
        return
    conn = store.connect()
    with store._lock:
        run_ids = [run_id for (run_id,) in conn.execute(sql, args)]
    for start in range(0, len(run_ids), PAGE_SIZE):
        yield _load(store, run_ids[start:start + PAGE_SIZE], artifact_prefix)


# -- matching ---------------------------------------------------------------------------------
def _select(query: RunQuery, artifact_prefix: str) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    args: list[Any] = []
    if query.experiments is not None:
        conditions.append(f"r.experiment IN ({_marks(query.experiments)})" if query.experiments
                          else "0")
        args.extend(query.experiments)
    for clause in query.clauses:
        condition, condition_args = _condition(clause, artifact_prefix)
        conditions.append(condition)
        args.extend(condition_args)
    sql = "SELECT r.run_id FROM runs r"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    order, order_args = _order(query.order_by, artifact_prefix)
    sql += " ORDER BY " + ", ".join(order) + " LIMIT ?"
    args.extend(order_args)
    args.append(-1 if query.max_results is None else query.max_results)
    return sql, args


def _condition(clause: Clause, artifact_prefix: str) -> tuple[str, list[Any]]:
    from autolog.search._filter import DATASET, METRIC

    comparator = clause.comparator
    if clause.kind == DATASET:  # the embedded store records no dataset inputs: nothing matches
        return "0", []
    if clause.kind == METRIC:
        key = clause.key
        if comparator == "!=":  # NaN (stored as NULL) differs from every number
            return (f"({_HAS_METRIC} AND ({_LATEST_METRIC} IS NULL OR {_LATEST_METRIC} != ?))",
                    [key, key, key, clause.value])
        return (f"({_HAS_METRIC} AND {_LATEST_METRIC} {_COMPARISONS[comparator]} ?)",
                [key, key, clause.value])
    expression, args = _value_of(clause.kind, clause.key, artifact_prefix)
    if comparator == "IS NULL":
        return f"{expression} IS NULL", args
    if comparator == "IS NOT NULL":
        return f"{expression} IS NOT NULL", args
    if comparator == "LIKE":
        return f"{expression} GLOB ?", [*args, like_to_glob(str(clause.value))]
    if comparator == "ILIKE":
        return f"lower({expression}) LIKE lower(?)", [*args, clause.value]
    if comparator in ("IN", "NOT IN"):
        values = list(clause.value or ())
        negation = "NOT " if comparator == "NOT IN" else ""
        return f"{expression} {negation}IN ({_marks(values)})", [*args, *values]
    return f"{expression} {_COMPARISONS[comparator]} ?", [*args, clause.value]


def _value_of(kind: str, key: str, artifact_prefix: str) -> tuple[str, list[Any]]:
    """SQL for the value a param, tag or attribute has on run ``r`` (NULL when it has none)."""
    from autolog.search._filter import PARAM, TAG

    if kind == PARAM:
        return _FIRST_PARAM, [key]
    if kind == TAG:
        if key == RUN_NAME_TAG:
            return f"COALESCE({_LAST_TAG}, r.name)", [key]
        if key == PARENT_TAG:
            return f"COALESCE({_LAST_TAG}, r.parent_id)", [key]
        return _LAST_TAG, [key]
    if key == "run_name":
        return f"COALESCE({_LAST_TAG}, r.name)", [RUN_NAME_TAG]
    if key == "user_id":
        return _LAST_TAG, [USER_TAG]
    if key == "artifact_uri":
        return "(? || r.run_id)", [artifact_prefix]
    return _RUN_COLUMNS[key], []


def _order(keys: Sequence[SortKey], artifact_prefix: str) -> tuple[list[str], list[Any]]:
    from autolog.search._filter import METRIC

    terms: list[str] = []
    args: list[Any] = []
    direction = {True: "", False: " DESC"}
    for key in keys:
        if key.kind == METRIC:
            terms.append(f"CASE WHEN NOT {_HAS_METRIC} THEN 2 WHEN {_LATEST_METRIC} IS NULL THEN 1 "
                         "ELSE 0 END")
            terms.append(_LATEST_METRIC + direction[key.ascending])
            args.extend([key.key, key.key, key.key])
            continue
        expression, expression_args = _value_of(key.kind, key.key, artifact_prefix)
        terms.append(f"CASE WHEN {expression} IS NULL THEN 1 ELSE 0 END")
        terms.append(expression + direction[key.ascending])
        args.extend(expression_args * 2)
    if not any(key.kind != METRIC and key.key == "start_time" for key in keys):
        terms.append("r.start_time DESC")
    terms.extend(["r.seq DESC", "r.run_id"])
    return terms, args


def like_to_glob(pattern: str) -> str:
    """A case-sensitive SQL LIKE pattern (``%``, ``_``; no escape character) as a GLOB pattern."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in pattern)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


# -- reading ----------------------------------------------------------------------------------
def _load(store: LocalStore, run_ids: list[str], artifact_prefix: str) -> list[dict[str, Any]]:
    marks = _marks(run_ids)
    conn = store.connect()
    with store._lock:
        rows = conn.execute(
            "SELECT run_id, experiment, name, parent_id, status, start_time, end_time FROM runs "
            f"WHERE run_id IN ({marks})", run_ids).fetchall()
        params = conn.execute(
            f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks}) ORDER BY id",
            run_ids).fetchall()
        tags = conn.execute(
            f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks}) ORDER BY id",
            run_ids).fetchall()
        metrics = conn.execute(
            "SELECT run_id, key, value FROM (SELECT run_id, key, value, ROW_NUMBER() OVER ("
            "PARTITION BY run_id, key ORDER BY step DESC, timestamp DESC, value DESC) AS place "
            f"FROM metrics WHERE run_id IN ({marks})) WHERE place = 1 ORDER BY run_id, key",
            run_ids).fetchall()
    found: dict[str, dict[str, Any]] = {}
    for run_id, experiment, name, parent_id, status, start_time, end_time in rows:
        found[run_id] = {
            "run_id": run_id, "name": name, "experiment": experiment, "experiment_id": experiment,
            "parent_id": parent_id, "status": status, "start_time": start_time,
            "end_time": end_time, "artifact_uri": artifact_prefix + run_id,
            "params": {}, "metrics": {}, "tags": {},
        }
    for run_id, key, value in params:
        found[run_id]["params"].setdefault(key, value)
    for run_id, key, value in tags:
        found[run_id]["tags"][key] = value
    for run_id, key, value in metrics:
        found[run_id]["metrics"][key] = float("nan") if value is None else value
    for record in found.values():
        tags_of = record["tags"]
        record["name"] = tags_of.setdefault(RUN_NAME_TAG, record["name"])
        if record["parent_id"]:
            record["parent_id"] = tags_of.setdefault(PARENT_TAG, record["parent_id"])
        record["user"] = tags_of.get(USER_TAG, "")
    return [found[run_id] for run_id in run_ids if run_id in found]

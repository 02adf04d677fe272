"""Reading runs from an MLflow tracking server through its REST API (``runs/search`` & co.).

Searches page through the server's results (at most :data:`PAGE_SIZE` runs a request, MLflow's
default page), so a large experiment streams to the caller page by page. Requests go through
:func:`_send`, the one place that touches the HTTP client; momentary failures (connection
errors, 408/429/5xx) are retried a few times with backoff, honouring ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from autolog.backends._mlflow_models import ready_logged_model
from autolog.backends.base import Result
from autolog.client._retry import Backoff
from autolog.search._filter import ATTRIBUTE, NULL_COMPARATORS, Clause, RunQuery, SortKey
from autolog.search._readers import pick_one, prefix_clause
from autolog.search._records import RunRecord

logger = logging.getLogger("autolog.search")

PAGE_SIZE = 1000
_API = "/api/2.0/mlflow/"
_ATTEMPTS = 4
_LONGEST_WAIT = 10.0  # seconds; an interactive read does not wait out a long Retry-After


def accepts(client: Any) -> bool:
    """Whether ``client`` (from ``backend_for_uri``) reaches an MLflow tracking server."""
    from autolog.backends._transport import HttpTransport

    return isinstance(getattr(client, "transport", None), HttpTransport)


def _send(client: Any, method: str, path: str, *, body: Any = None,
          params: Mapping[str, Any] | None = None) -> Result:
    """One HTTP request to the server, through the REST backend's transport."""
    return client.transport.request(method, _API + path, json_body=body, params=params)


class RestReader:
    """Runs on an MLflow tracking server."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.where = client.base_url
        self._experiment_names: dict[str, str] = {}

    # -- requests -----------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, body: Any = None,
                 params: Mapping[str, Any] | None = None, missing_ok: bool = False) -> Any:
        backoff = Backoff(base=0.5, cap=_LONGEST_WAIT)
        for attempt in range(_ATTEMPTS):
            result = _send(self.client, method, path, body=body, params=params)
            if result.ok:
                return result.value or {}
            if missing_ok and result.status_code == 404:
                return None
            if not result.retryable or attempt == _ATTEMPTS - 1:
                break
            delay = min(backoff.next_delay(result.retry_after), _LONGEST_WAIT)
            logger.debug("retrying %s %s in %.1f s: %s", method, path, delay, result.error)
            time.sleep(delay)
        if result.status_code is not None and 400 <= result.status_code < 500 \
                and result.status_code not in (408, 429):
            raise ValueError(f"{self.where} refused the request: {result.error}")
        raise ConnectionError(f"cannot read runs from {self.where}: {result.error}")

    # -- experiments --------------------------------------------------------------------------
    def _experiment_ids(self, names: tuple[str, ...] | None) -> list[str]:
        if names is None:
            self.experiment_names()
            return list(self._experiment_names)
        ids = []
        for name in names:
            found = self._request("GET", "experiments/get-by-name",
                                  params={"experiment_name": name}, missing_ok=True)
            if found is None:
                logger.info("no experiment named %r on %s", name, self.where)
                continue
            experiment_id = str(found["experiment"]["experiment_id"])
            self._experiment_names[experiment_id] = name
            ids.append(experiment_id)
        return ids

    def experiment_names(self) -> list[str]:
        token = None
        while True:
            body: dict[str, Any] = {"max_results": PAGE_SIZE}
            if token:
                body["page_token"] = token
            page = self._request("POST", "experiments/search", body=body)
            for experiment in page.get("experiments") or []:
                self._experiment_names[str(experiment["experiment_id"])] = experiment["name"]
            token = page.get("next_page_token")
            if not token:
                return sorted(set(self._experiment_names.values()))

    # -- runs ---------------------------------------------------------------------------------
    def search(self, query: RunQuery) -> Iterator[list[RunRecord]]:
        experiment_ids = self._experiment_ids(query.experiments)
        if not experiment_ids:
            return
        remaining = query.max_results
        token = None
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            body: dict[str, Any] = {"experiment_ids": experiment_ids, "max_results": size,
                                    "filter": render_filter(query.clauses),
                                    "order_by": render_order_by(query.order_by)}
            if token:
                body["page_token"] = token
            page = self._request("POST", "runs/search", body=body)
            runs = [self._record(run) for run in page.get("runs") or []]
            if runs:
                yield runs
            if remaining is not None:
                remaining -= len(runs)
            token = page.get("next_page_token")
            if not token or not runs:
                return

    def run(self, run_id: str) -> RunRecord:
        found = self._request("GET", "runs/get", params={"run_id": run_id}, missing_ok=True)
        if found is not None and found.get("run"):
            return self._record(found["run"])
        query = RunQuery(None, (prefix_clause(run_id),), max_results=6)
        return pick_one(run_id, [r for page in self.search(query) for r in page], self.where)

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        points: list[tuple[int, float, int]] = []
        token = None
        while True:
            params = {"run_id": run_id, "metric_key": key}
            if token:
                params["page_token"] = token
            page = self._request("GET", "metrics/get-history", params=params)
            points.extend((int(point.get("step") or 0), _number(point.get("value")),
                           int(point.get("timestamp") or 0))
                          for point in page.get("metrics") or [])
            token = page.get("next_page_token")
            if not token:
                return points

    def metric_histories(self, record: RunRecord) -> dict[str, list[tuple[int, float, int]]]:
        return {key: self.metric_history(record.run_id, key) for key in record.metrics}

    def artifacts(self, run_id: str, path: str = "") -> list[str]:
        params = {"run_id": run_id}
        if path:
            params["path"] = path
        listed = self._request("GET", "artifacts/list", params=params, missing_ok=True) or {}
        return [entry["path"] + ("/" if entry.get("is_dir") else "")
                for entry in listed.get("files") or []]

    def has_model(self, run_id: str, artifact_path: str = "model") -> bool:
        """Whether ``runs:/<run>/<artifact_path>`` loads: the run's own copy, or (MLflow 3, a
        top-level path) the run's READY logged model of that name, which MLflow resolves."""
        if f"{artifact_path}/MLmodel" in self.artifacts(run_id, artifact_path):
            return True
        if "/" in artifact_path:
            return False
        run = self._request("GET", "runs/get", params={"run_id": run_id}, missing_ok=True)
        experiment_id = ((run or {}).get("run") or {}).get("info", {}).get("experiment_id")
        return experiment_id is not None and ready_logged_model(
            self.client, str(experiment_id), run_id, artifact_path) is not None

    def model_uri(self, run_id: str, artifact_path: str = "model") -> str:
        return f"runs:/{run_id}/{artifact_path}"

    def fed_by(self, pipeline: Any) -> bool:
        return getattr(pipeline.backend, "base_url", None) == self.client.base_url

    def close(self) -> None:
        self.client.close()

    # -- conversion ---------------------------------------------------------------------------
    def _record(self, run: Mapping[str, Any]) -> RunRecord:
        info = run.get("info") or {}
        data = run.get("data") or {}
        tags = {tag["key"]: tag.get("value", "") for tag in data.get("tags") or []}
        experiment_id = str(info.get("experiment_id", ""))
        if experiment_id not in self._experiment_names:
            found = self._request("GET", "experiments/get", missing_ok=True,
                                  params={"experiment_id": experiment_id}) or {}
            self._experiment_names[experiment_id] = (found.get("experiment") or {}).get("name", "")
        end_time = info.get("end_time")
        return RunRecord(
            run_id=str(info.get("run_id") or info.get("run_uuid")),
            name=info.get("run_name") or tags.get("mlflow.runName", ""),
            experiment=self._experiment_names[experiment_id],
            experiment_id=experiment_id,
            status=info.get("status", ""),
            start_time=int(info.get("start_time") or 0),
            end_time=int(end_time) if end_time is not None else None,
            parent_id=tags.get("mlflow.parentRunId"),
            artifact_uri=info.get("artifact_uri", ""),
            user=info.get("user_id") or tags.get("mlflow.user", ""),
            params={param["key"]: param.get("value", "") for param in data.get("params") or []},
            metrics={metric["key"]: _number(metric.get("value"))
                     for metric in sorted(data.get("metrics") or [], key=lambda m: m["key"])},
            tags=tags,
        )


# -- filters and sort keys as the server reads them -------------------------------------------
def render_filter(clauses: Sequence[Clause]) -> str:
    """The clauses in MLflow's canonical form (typed, backticked keys), joined by AND."""
    parts = []
    for clause in clauses:
        text = f"{_render_key(clause.kind, clause.key)} {clause.comparator}"
        if clause.comparator not in NULL_COMPARATORS:
            text += f" {clause.literal}"
        parts.append(text)
    return " AND ".join(parts)


def render_order_by(keys: Sequence[SortKey]) -> list[str]:
    return [f"{_render_key(key.kind, key.key)} {'ASC' if key.ascending else 'DESC'}"
            for key in keys]


def _render_key(kind: str, key: str) -> str:
    if kind == ATTRIBUTE:
        return f"attributes.{key}"
    return f"{kind}.`{key}`"


def _number(value: Any) -> float:
    """A metric value as JSON carries it: a number, or ``"NaN"`` / ``"Infinity"`` strings."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

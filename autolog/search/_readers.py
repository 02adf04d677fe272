"""Where runs are read from: the embedded store, or an MLflow tracking server.

Both readers answer the same questions (search, one run by id or prefix, a metric's history,
whether a run holds a model) with the same types, so the Python API and the command line work
alike on either. :func:`open_reader` picks one the way runs are written: ``tracking_uri=`` >
``AUTOLOG_TRACKING_URI`` > ``MLFLOW_TRACKING_URI`` > the embedded store in ``AUTOLOG_DIR``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from autolog.search._filter import ATTRIBUTE, Clause, RunQuery
from autolog.search._records import RunRecord

_ID_PREFIX = re.compile(r"[0-9A-Za-z-]+")


class Reader(Protocol):
    #: Where the runs are, for messages: "the embedded store at …" or the server's URL.
    where: str

    def search(self, query: RunQuery) -> Iterator[list[RunRecord]]:
        """Pages of matching runs, in the query's order."""

    def experiment_names(self) -> list[str]: ...

    def run(self, run_id: str) -> RunRecord:
        """The run with this id, or the only one it is a prefix of; ``LookupError`` otherwise."""

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        """``(step, value, timestamp)`` of every point, in logging order."""

    def metric_histories(self, record: RunRecord) -> dict[str, list[tuple[int, float, int]]]:
        """Every metric's history of one run."""

    def artifacts(self, run_id: str) -> list[str]: ...

    def has_model(self, run_id: str, artifact_path: str = "model") -> bool: ...

    def model_uri(self, run_id: str, artifact_path: str = "model") -> str:
        """What ``mlflow.pyfunc.load_model`` takes to load the model (a path or a URI)."""

    def fed_by(self, pipeline: Any) -> bool:
        """Whether this process's ``pipeline`` records runs into what this reader reads."""

    def close(self) -> None: ...


def prefix_clause(prefix: str) -> Clause:
    """``attributes.run_id LIKE '<prefix>%'`` for an id prefix (ids are letters, digits, '-')."""
    if not _ID_PREFIX.fullmatch(prefix):
        raise LookupError(f"{prefix!r} is not a run id")
    return Clause(ATTRIBUTE, "run_id", "LIKE", prefix + "%", f"'{prefix}%'", 0)


def pick_one(prefix: str, found: list[RunRecord], where: str) -> RunRecord:
    exact = [record for record in found if record.run_id == prefix]
    if exact:
        return exact[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise LookupError(f"no run {prefix!r} in {where}")
    names = ", ".join(f"{record.run_id} ({record.name})" for record in found[:5])
    raise LookupError(f"{prefix!r} matches several runs in {where}: {names}; give more of the id")


class LocalReader:
    """Runs of an embedded store (the SQL is the store's: :mod:`autolog.backends._store_search`)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.where = f"the embedded store at {store.directory}"

    def search(self, query: RunQuery) -> Iterator[list[RunRecord]]:
        for page in self.store.search_runs(query):
            yield [RunRecord(**row) for row in page]

    def experiment_names(self) -> list[str]:
        if not self.store.path.exists():
            return []
        return sorted({run["experiment"] for run in self.store.runs()})

    def run(self, run_id: str) -> RunRecord:
        query = RunQuery(None, (prefix_clause(run_id),), max_results=6)
        return pick_one(run_id, [r for page in self.search(query) for r in page], self.where)

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        return list(self.store.run_data(run_id)["metrics"].get(key, []))

    def metric_histories(self, record: RunRecord) -> dict[str, list[tuple[int, float, int]]]:
        return self.store.run_data(record.run_id)["metrics"]

    def artifacts(self, run_id: str) -> list[str]:
        return list(self.store.run_data(run_id)["artifacts"])

    def has_model(self, run_id: str, artifact_path: str = "model") -> bool:
        return f"{artifact_path}/MLmodel" in self.artifacts(run_id)

    def model_uri(self, run_id: str, artifact_path: str = "model") -> str:
        return str(self.store.artifact_path(run_id, artifact_path))

    def delivery(self) -> dict[str, tuple[str, str | None]]:
        """Run id -> (target, the server's id) for runs recorded here for a tracking server."""
        if not self.store.path.exists():
            return {}
        return {run["run_id"]: (run["target"], run["remote_id"]) for run in self.store.runs()
                if run["target"] != "local"}

    def fed_by(self, pipeline: Any) -> bool:
        return pipeline.sender is None and _same_file(pipeline.store.path, self.store.path)

    def close(self) -> None:
        self.store.close()


def _same_file(one: Path, other: Path) -> bool:
    return one.absolute().resolve() == other.absolute().resolve()


def open_reader(tracking_uri: str | None = None, *, store_dir: str | Path | None = None) -> Any:
    """The reader for where runs go (see the module docs). ``store_dir`` names an embedded
    store explicitly (the CLI's ``--dir``), winning over the environment but not over
    ``tracking_uri``."""
    from autolog import _config
    from autolog._warnings import warn_once
    from autolog.backends import backend_for_uri
    from autolog.backends.local_store import LocalStore

    uri = tracking_uri if tracking_uri else (None if store_dir else _config.tracking_uri())
    if uri is None:
        return LocalReader(LocalStore(Path(store_dir or _config.store_dir()).absolute()))
    try:
        backend = backend_for_uri(uri.strip())
    except ValueError:
        if tracking_uri:
            raise
        # As when writing: a URI from the environment that autolog cannot send to (MLflow's
        # sqlite: or databricks) means runs went to the embedded store.
        warn_once(f"search-uri:{uri}", f"autolog: the tracking URI {uri!r} from the environment "
                  "has a scheme autolog cannot read; reading the embedded store instead")
        return LocalReader(LocalStore(_config.store_dir()))
    if isinstance(backend, LocalStore):
        return LocalReader(backend)
    from autolog.search import _rest

    if _rest.accepts(backend):
        return _rest.RestReader(backend)
    backend.close()
    raise ValueError(f"tracking_uri: runs can be searched on an MLflow tracking server "
                     f"(http, https) or an embedded store (file:// or a path), not {uri!r}")

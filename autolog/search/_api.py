"""``autolog.search_runs``: find, filter and sort recorded runs, on whichever backend is configured."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from autolog.search._filter import RunQuery, parse_filter, parse_order_by
from autolog.search._readers import open_reader
from autolog.search._records import Runs

#: As ``mlflow.search_runs``: enough for any study, bounded for the caller's memory.
DEFAULT_MAX_RESULTS = 100_000
#: Seconds to wait for this process's own records to be stored (and delivered) first.
FLUSH_TIMEOUT = 30.0


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,  # noqa: A002 - the name mlflow.search_runs users know
    order_by: str | Iterable[str] | None = None,
    max_results: int | None = DEFAULT_MAX_RESULTS,
    *,
    tracking_uri: str | None = None,
    output_format: str = "list",
) -> Any:
    """Runs recorded by autolog, as MLflow's search finds them, on the embedded store or a
    tracking server (``tracking_uri=`` > ``AUTOLOG_TRACKING_URI`` > ``MLFLOW_TRACKING_URI`` >
    the embedded store).

    ``experiment``: a name or a list of names (default: the configured experiment).
    ``filter``: MLflow's search syntax, e.g. ``"metrics.accuracy > 0.9 and params.model =
    'rf'"``; a filter that cannot be read raises ``ValueError`` naming the position.
    ``order_by``: ``"metrics.accuracy DESC"`` or a list of such keys (default: newest first).
    Returns :class:`~autolog.search.Runs`, a list of :class:`~autolog.search.RunRecord` with
    ``.to_pandas()``; ``output_format="pandas"`` returns that DataFrame directly, with
    ``mlflow.search_runs``'s columns. What this process logged there is stored (and, for a
    server, delivered) first, waiting up to 30 s.
    """
    query = build_query(experiment, filter, order_by, max_results)
    if output_format not in ("list", "pandas"):
        raise ValueError(f"output_format must be 'list' or 'pandas', not {output_format!r}")
    reader = open_reader(tracking_uri)
    try:
        _store_own_records(reader)
        runs = Runs(record for page in reader.search(query) for record in page)
    finally:
        reader.close()
    return runs.to_pandas() if output_format == "pandas" else runs


def build_query(experiment: str | Sequence[str] | None, filter: str | None,  # noqa: A002
                order_by: str | Iterable[str] | None, max_results: int | None,
                *, every_experiment: bool = False) -> RunQuery:
    """Check and parse every argument before anything is read."""
    from autolog import _config

    if every_experiment and experiment is None:
        experiments = None
    elif experiment is None:
        experiments = (_config.experiment_name(),)
    elif isinstance(experiment, str):
        experiments = (experiment,)
    else:
        experiments = tuple(experiment)
        if not experiments or not all(isinstance(name, str) and name for name in experiments):
            raise ValueError(f"experiment must be a name or a list of names, not {experiment!r}")
    if max_results is not None and (isinstance(max_results, bool) or not isinstance(max_results, int)
                                    or max_results < 1):
        raise ValueError(f"max_results must be a positive integer or None, not {max_results!r}")
    return RunQuery(experiments, parse_filter(filter), parse_order_by(order_by), max_results)


def _store_own_records(reader: Any) -> None:
    """Wait until what this process logged to the place searched is there: written to that
    store, or delivered to that server. Pipelines to other places are left alone (one to a
    server that is down must not stall a search of the embedded store)."""
    from autolog import _runs
    from autolog._warnings import warn_once

    for pipeline in [p for p in _runs.all_pipelines() if reader.fed_by(p)]:
        if not pipeline.flush(FLUSH_TIMEOUT):
            warn_once("search-undelivered", f"autolog: some records of this process are not "
                      f"yet delivered to {reader.where}; search results may lack them")

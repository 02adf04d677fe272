"""Cutting pending records into requests a backend accepts.

Pure functions over rows read from the store, so every limit rule has a unit test. Sizes are
estimated from the JSON the REST backend sends, with a margin, so a request never crosses a
proxy's body limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from autolog.backends.base import Limits

REQUEST_OVERHEAD = 200
METRIC_OVERHEAD = 90  # {"key": "", "value": -1.2345678901234567e+308, "timestamp": …, "step": …}
TEXT_OVERHEAD = 40  # {"key": "", "value": ""}


def text_size(key: str, value: str) -> int:
    # JSON escaping can grow non-ASCII text up to 6 bytes per character ("\uXXXX").
    return TEXT_OVERHEAD + _encoded(key) + _encoded(value)


def _encoded(text: str) -> int:
    return len(text) if text.isascii() else 6 * len(text)


def metric_size(key: str) -> int:
    return METRIC_OVERHEAD + _encoded(key)


def take_batch(
    param_rows: Sequence[tuple], metric_rows: Sequence[tuple], tag_rows: Sequence[tuple],
    limits: Limits,
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Leading param and tag rows ``(id, key, value)`` and metric rows ``(id, key, value, ts,
    step)`` for one request, at least one record in all. Params go first, then tags (few, and
    they describe the run); metrics fill the rest. A small run (a fit, a trial) is then one
    request between its creation and its end."""
    budget = limits.max_request_bytes - REQUEST_OVERHEAD
    entities = limits.max_entities
    taken: list[list[tuple]] = []
    for rows, cap, size_of in (
        (param_rows, limits.max_params, _text_row_size),
        (tag_rows, limits.max_tags, _text_row_size),
        (metric_rows, limits.max_metrics, _metric_row_size),
    ):
        part: list[tuple] = []
        for row in rows[: max(0, min(cap, entities))]:
            size = size_of(row)
            if size > budget and (part or any(taken)):
                break
            budget -= size
            part.append(row)
        entities -= len(part)
        taken.append(part)
    params, tags, metrics = taken
    return params, metrics, tags


def _text_row_size(row: tuple) -> int:
    return text_size(row[1], row[2])


def _metric_row_size(row: tuple) -> int:
    return metric_size(row[1])


def shrink(limits: Limits) -> Limits:
    """Halve what one request may carry, after a backend said a request was too large."""
    from dataclasses import replace

    return replace(
        limits,
        max_request_bytes=max(512, limits.max_request_bytes // 2),
        max_metrics=max(1, limits.max_metrics // 2),
        max_params=max(1, limits.max_params // 2),
        max_tags=max(1, limits.max_tags // 2),
        max_entities=max(1, limits.max_entities // 2),
    )

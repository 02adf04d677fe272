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


def take_params(rows: Sequence[tuple], limits: Limits) -> list[tuple]:
    """Leading param rows ``(id, key, value)`` that fit one params-only request (at least one)."""
    budget = limits.max_request_bytes - REQUEST_OVERHEAD
    cap = min(limits.max_params, limits.max_entities)
    taken: list[tuple] = []
    for row in rows[:cap]:
        budget -= text_size(row[1], row[2])
        if budget < 0 and taken:
            break
        taken.append(row)
    return taken


def take_metrics_and_tags(
    metric_rows: Sequence[tuple], tag_rows: Sequence[tuple], limits: Limits
) -> tuple[list[tuple], list[tuple]]:
    """Leading metric rows ``(id, key, value, ts, step)`` and tag rows ``(id, key, value)`` for one
    request. Tags go first (few, and they describe the run); metrics fill the rest."""
    budget = limits.max_request_bytes - REQUEST_OVERHEAD
    entities = limits.max_entities
    tags: list[tuple] = []
    for row in tag_rows[: min(limits.max_tags, entities)]:
        size = text_size(row[1], row[2])
        if size > budget and tags:
            break
        budget -= size
        tags.append(row)
    entities -= len(tags)
    metrics: list[tuple] = []
    for row in metric_rows[: max(0, min(limits.max_metrics, entities))]:
        size = metric_size(row[1])
        if size > budget and (metrics or tags):
            break
        budget -= size
        metrics.append(row)
    return metrics, tags


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

"""Feature importance: a JSON artifact now, a bar plot later and elsewhere.

The scores are read on the training thread (``Booster.get_score`` is a C call, about 0.1 ms
per type for a few hundred trees), so they describe exactly the model ``train()`` returned
even if the user goes on to change it. The plot goes through ``Run.log_artifact_later``:
autolog's writer thread draws it when it next drains the queue, so ``autolog.flush()`` and
the exit flush cover it like any other record. By default it is SVG written directly
(:mod:`integrations._svg`, a few tenths of a millisecond); with ``plot_format="png"``
matplotlib's object API (``Figure`` + Agg canvas: no pyplot, no GUI, no global state),
about 40 ms.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from autolog.plugin import Run

JSON_ARTIFACT = "feature_importance.json"
PLOT_ARTIFACT = "feature_importance.{format}"
TOP_FEATURES = 20


def importance_scores(booster: Any, types: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{type: {feature: score}}``, features sorted by score, highest first (a multi-output
    model has a list of scores per feature, sorted by their mean)."""
    from xgboost.core import XGBoostError

    scores = {}
    for importance_type in types:
        try:
            raw = booster.get_score(importance_type=importance_type)
        except XGBoostError:  # e.g. gblinear defines "weight" only
            continue
        ranked = sorted(raw.items(), key=lambda item: (-_scalar(item[1]), str(item[0])))
        scores[importance_type] = {feature: _plain(value) for feature, value in ranked}
    return scores


def log_importance(run: Run, booster: Any, types: Sequence[str], *,
                   plot_format: str | None) -> None:
    """The JSON artifact now; the plot (``plot_format`` "svg" or "png"; None: no plot) drawn
    by the writer thread."""
    if not types:
        return
    scores = importance_scores(booster, types)
    run.log_text(json.dumps(scores, indent=2), JSON_ARTIFACT)
    if plot_format is None or not any(scores.values()):
        return
    render = render_plot if plot_format == "png" else render_svg
    run.log_artifact_later(PLOT_ARTIFACT.format(format=plot_format), lambda: render(scores),
                           what="xgboost.importance_plot")


def render_svg(scores: dict[str, dict[str, Any]]) -> bytes | None:
    """The bar charts as SVG (see :func:`integrations._svg.importance_svg`)."""
    from integrations._svg import importance_svg

    return importance_svg({kind: [(str(name), _scalar(value))
                                  for name, value in list(values.items())[:TOP_FEATURES]]
                           for kind, values in scores.items()})


def render_plot(scores: dict[str, dict[str, Any]]) -> bytes:
    """One horizontal bar chart per importance type, top features first; PNG bytes (with
    ``plot_format="png"``).

    Axes are placed by hand from the longest feature name: ``tight_layout`` would lay every
    label out twice, the larger part of the rendering time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    shown = {kind: list(values.items())[:TOP_FEATURES] for kind, values in scores.items()
             if values}
    rows = max(len(items) for items in shown.values())
    longest = max(len(str(name)) for items in shown.values() for name, _ in items)
    label_in, bars_in, gap_in = 0.2 + 0.065 * min(longest, 40), 3.0, 0.35
    panel_in = label_in + bars_in + gap_in
    width_in, height_in = panel_in * len(shown), 0.9 + 0.2 * rows
    figure = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(figure)
    for index, (kind, items) in enumerate(shown.items()):
        ax = figure.add_axes((
            (index * panel_in + label_in) / width_in, 0.45 / height_in,
            bars_in / width_in, (height_in - 0.85) / height_in))
        names = [str(name) for name, _ in reversed(items)]
        ax.barh(range(len(items)), [_scalar(value) for _, value in reversed(items)],
                color="#1f77b4")
        ax.set_yticks(range(len(items)), labels=names, fontsize=8)
        ax.set_ylim(-0.6, len(items) - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(f"Feature importance ({kind})", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _plain(value: Any) -> float | list[float]:
    if isinstance(value, (list, tuple)):
        return [float(item) for item in value]
    return float(value)


def _scalar(value: Any) -> float:
    # Multi-output models give one score per target; they are ranked and drawn by the mean.
    if isinstance(value, (list, tuple)):
        return float(sum(value) / len(value)) if value else 0.0
    return float(value)

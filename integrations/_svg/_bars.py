"""Feature importance: one horizontal bar chart per importance type, side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from integrations._svg._axes import AXIS_COLOR, GRID_COLOR, TICK_SIZE, Scale, nice_ticks, tick_labels
from integrations._svg._document import Document, escape, number, shorten, text_width

#: Features shown per importance type (the highest scores).
TOP_FEATURES = 20
#: Feature names longer than this are cut (with an ellipsis).
LABEL_CHARS = 32
LABEL_SIZE = 11
ROW = 18.0
BARS_WIDTH = 240.0
BAR_COLOR = "#1f77b4"
TOP, BOTTOM = 44.0, 40.0


def importance_svg(scores: Mapping[str, Sequence[tuple[str, float]]],
                   title: str = "Feature importance") -> bytes | None:
    """``scores``: importance type → ``(feature, score)`` pairs, highest first; the first
    :data:`TOP_FEATURES` of each are drawn, each bar labelled with its score. None when no
    type has a score."""
    panels = {kind: [(shorten(str(name), LABEL_CHARS), float(value))
                     for name, value in pairs[:TOP_FEATURES]]
              for kind, pairs in scores.items() if pairs}
    if not panels:
        return None
    rows = max(len(pairs) for pairs in panels.values())
    layouts = []
    offset = 0.0
    for kind, pairs in panels.items():
        label_room = 10 + max(text_width(name, LABEL_SIZE) for name, _ in pairs)
        ticks = _ticks([value for _, value in pairs])
        value_room = 8 + max(text_width(f"{value:.3g}", 10) for _, value in pairs)
        panel_width = max(label_room + BARS_WIDTH + value_room + 16,
                          text_width(f"{title} ({kind})", 13) + 16)
        layouts.append((kind, pairs, offset + label_room, ticks))
        offset += panel_width
    height = TOP + rows * ROW + BOTTOM
    document = Document(offset, height, title)
    for kind, pairs, left, ticks in layouts:
        _panel(document, f"{title} ({kind})", pairs, left, ticks, rows)
    return document.to_bytes()


def _panel(document: Document, title: str, pairs: Sequence[tuple[str, float]], left: float,
           ticks: Sequence[float], rows: int) -> None:
    bottom = TOP + rows * ROW
    x = Scale(min(ticks[0], 0.0), ticks[-1], left, left + BARS_WIDTH)
    document.text(left + BARS_WIDTH / 2, 20, title, size=13, bold=True)
    grid = "".join(f"M{number(x(tick))} {number(TOP)}V{number(bottom)}" for tick in ticks)
    document.add(f'<path d="{grid}" stroke="{GRID_COLOR}" stroke-width="1"/>')
    bars, labels = [], []
    zero = x(0.0)
    for row, (name, value) in enumerate(pairs):
        middle = TOP + row * ROW + ROW / 2
        end = x(value) if math.isfinite(value) else zero  # NaN or inf: no bar
        bars.append(f'<rect x="{number(min(zero, end))}" y="{number(middle - ROW * 0.35)}" '
                    f'width="{number(abs(end - zero))}" height="{number(ROW * 0.7)}"/>')
        labels.append(f'<text x="{number(left - 6)}" y="{number(middle)}" dy=".35em" '
                      f'text-anchor="end">{escape(name)}</text>')
        labels.append(f'<text x="{number(max(zero, end) + 4)}" y="{number(middle)}" '
                      f'dy=".35em" font-size="10">{escape(f"{value:.3g}")}</text>')
    document.add(f'<g fill="{BAR_COLOR}">{"".join(bars)}</g>')
    document.add(f'<g font-size="{LABEL_SIZE}">{"".join(labels)}</g>')
    document.line(zero, TOP, zero, bottom, stroke=AXIS_COLOR)
    document.line(left, bottom, left + BARS_WIDTH, bottom, stroke=AXIS_COLOR)
    marks = "".join(f"M{number(x(tick))} {number(bottom)}v5" for tick in ticks)
    document.add(f'<path d="{marks}" stroke="{AXIS_COLOR}" stroke-width="1"/>')
    for tick, label in zip(ticks, tick_labels(ticks), strict=True):
        document.text(x(tick), bottom + 14, label, size=TICK_SIZE)


def _ticks(values: Sequence[float]) -> list[float]:
    """Ticks from 0 (or the lowest negative score) to the highest score."""
    finite = [value for value in values if math.isfinite(value)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    return nice_ticks(low, high if high > low else low + 1.0, 4)

"""An Optuna study's optimization history: each trial's value, and the best value so far.

One panel per objective. A single-objective study draws the best value so far as a step
line; a multi-objective one marks its Pareto-front trials instead. Trials whose value is not
finite are left out of the scatter (they have no place on a linear axis).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from integrations._svg._axes import Scale, draw_frame, left_margin, legend_row, nice_ticks
from integrations._svg._document import Document, number, text_width
from integrations._svg._thin import points, thin

PANEL_WIDTH, PANEL_HEIGHT = 640.0, 280.0
TITLE_ROOM, TOP, RIGHT, BOTTOM = 30.0, 26.0, 16.0, 48.0
TRIAL_COLOR = "#1f77b4"
BEST_COLOR = "#d62728"


def optimization_history_svg(trials: Sequence[tuple[int, Sequence[float]]],
                             directions: Sequence[str], value_names: Sequence[str],
                             title: str, pareto: Collection[int] = ()) -> bytes | None:
    """``trials``: ``(number, values)`` of the complete trials; ``directions``:
    "minimize" / "maximize" per objective. None without trials."""
    if not trials or not directions:
        return None
    ordered = sorted(trials, key=lambda trial: trial[0])
    numbers = np.array([trial_number for trial_number, _ in ordered], dtype=np.float64)
    values = np.array([[float(value) for value in values[: len(directions)]]
                       for _, values in ordered], dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(directions):
        return None
    width = max(PANEL_WIDTH, text_width(title, 14) + 20)
    height = TITLE_ROOM + PANEL_HEIGHT * len(directions)
    document = Document(width, height, title)
    document.text(width / 2, 18, title, size=14, bold=True)
    x_ticks = nice_ticks(float(numbers[0]), float(numbers[-1]), 6, integers=True)
    y_ticks = [_value_ticks(values[:, objective]) for objective in range(len(directions))]
    left = max(left_margin(ticks) for ticks in y_ticks)  # the panels' plot areas aligned
    x = Scale(x_ticks[0], x_ticks[-1], left, width - RIGHT)
    front = np.array([trial_number in pareto for trial_number, _ in ordered], dtype=bool)
    for objective, direction in enumerate(directions):
        offset = TITLE_ROOM + objective * PANEL_HEIGHT
        y = Scale(y_ticks[objective][0], y_ticks[objective][-1],
                  offset + PANEL_HEIGHT - BOTTOM, offset + TOP)
        draw_frame(document, x, y, x_ticks, y_ticks[objective], x_label="trial",
                   y_label=value_names[objective] if objective < len(value_names) else "value")
        _panel(document, x, y, numbers, values[:, objective], direction,
               value_names[objective] if objective < len(value_names) else "value",
               front if len(directions) > 1 else None)
    return document.to_bytes()


def _value_ticks(values: np.ndarray) -> list[float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return nice_ticks(0.0, 1.0, 5)
    return nice_ticks(float(finite.min()), float(finite.max()), 5)


def _panel(document: Document, x: Scale, y: Scale, numbers: np.ndarray, values: np.ndarray,
           direction: str, name: str, front: np.ndarray | None) -> None:
    finite = np.isfinite(values)
    shown_numbers, shown_values = numbers[finite], values[finite]
    entries = [("dot", TRIAL_COLOR, name)]
    _dots(document, x.many(shown_numbers), y.many(shown_values), TRIAL_COLOR, 3.0, 0.6)
    if front is None:
        best_x, best_y = _best_so_far(shown_numbers, shown_values, direction)
        if best_x.size:
            kept_x, kept_y = thin(x.many(best_x), y.many(best_y), abs(x.end - x.start))
            document.polyline(points(kept_x, kept_y), stroke=BEST_COLOR)
            entries.append(("line", BEST_COLOR, "best value"))
    else:
        on_front = front[finite]
        if on_front.any():
            _dots(document, x.many(shown_numbers[on_front]), y.many(shown_values[on_front]),
                  BEST_COLOR, 4.0, 1.0)
            entries.append(("dot", BEST_COLOR, "Pareto front"))
    legend_row(document, x.end, y.end - 12, entries)


def _dots(document: Document, pixels_x: np.ndarray, pixels_y: np.ndarray, color: str,
          radius: float, opacity: float) -> None:
    """One circle per distinct whole-pixel position (thousands of trials at one spot draw as
    one), in trial order."""
    if not pixels_x.size:
        return
    x = np.rint(pixels_x).astype(np.int64)
    y = np.rint(pixels_y).astype(np.int64)
    _, first = np.unique(x * 1_000_003 + y, return_index=True)
    first.sort()
    size = number(radius)
    circles = "".join(f'<circle cx="{cx}" cy="{cy}" r="{size}"/>'
                      for cx, cy in zip(x[first].tolist(), y[first].tolist(), strict=True))
    faded = f' fill-opacity="{opacity}"' if opacity < 1 else ""
    document.add(f'<g fill="{color}"{faded}>{circles}</g>')


def _best_so_far(numbers: np.ndarray, values: np.ndarray, direction: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The best value after each trial, as steps: it holds until a trial improves on it."""
    if not values.size:
        return values, values
    best = (np.maximum.accumulate(values) if direction == "maximize"
            else np.minimum.accumulate(values))
    return np.repeat(numbers, 2)[1:], np.repeat(best, 2)[:-1]

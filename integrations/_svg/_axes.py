"""Linear scales, "nice" tick positions and the frame of a chart: axes, ticks, grid, labels.

Ticks are 1, 2, 2.5 or 5 times a power of ten, about five per axis, and printed with as many
decimals as their step needs (``0.2`` rather than ``0.20000000000000004``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from integrations._svg._document import Fragment, number, text_width

AXIS_COLOR = "#333333"
GRID_COLOR = "#e5e5e5"
TICK_SIZE = 10


@dataclass(frozen=True)
class Scale:
    """Maps data values in ``[low, high]`` to pixels in ``[start, end]`` (``end < start``
    for a vertical axis, whose pixels grow downwards)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        factor = self._factor  # scaled before subtracting: no overflow near the float limits
        return self.start + value * factor - self.low * factor

    def many(self, values: np.ndarray) -> np.ndarray:
        factor = self._factor
        return self.start + np.asarray(values, dtype=np.float64) * factor - self.low * factor

    @property
    def _factor(self) -> float:
        span = self.high - self.low
        return (self.end - self.start) / span if span else 0.0


def nice_ticks(low: float, high: float, count: int = 5, *, integers: bool = False
               ) -> list[float]:
    """About ``count`` round values covering ``[low, high]``, the first <= low and the last
    >= high (so the ticks can be the axis' limits)."""
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(high - low)):
        low, high = (low, high) if math.isfinite(low) and math.isfinite(high) else (0.0, 1.0)
        if not math.isfinite(high - low):  # beyond what a float can span: the two ends only
            return [min(low, high), max(low, high)]
    if high < low:
        low, high = high, low
    if high - low <= max(abs(low), abs(high)) * 1e-9:  # equal, or equal but for float noise
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step((high - low) / max(1, count))
    if integers:
        step = max(1.0, round(step))
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    steps = round((last - first) / step)
    return [_clean(first + index * step, step) for index in range(steps + 1)]


def _nice_step(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= multiple * magnitude * (1 + 1e-9):
            return multiple * magnitude
    return 10.0 * magnitude


def _clean(value: float, step: float) -> float:
    """``value`` rounded to the step's decimals (removes float noise from ``first + i*step``)."""
    return round(value, _decimals(step)) + 0.0  # + 0.0: no negative zero


def _decimals(step: float) -> int:
    return max(0, min(20, -math.floor(math.log10(step) + 1e-9) + (1 if _two_digits(step) else 0)))


def _two_digits(step: float) -> bool:
    """2.5 x 10^k needs one decimal more than its power of ten."""
    mantissa = step / 10.0 ** math.floor(math.log10(step) + 1e-9)
    return abs(mantissa - 2.5) < 1e-6


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """The same number of decimals for every tick; scientific notation for huge or tiny."""
    if len(ticks) < 2:
        return [f"{tick:.3g}" for tick in ticks]
    step = abs(ticks[1] - ticks[0])
    largest = max(abs(tick) for tick in ticks)
    if largest >= 1e6 or (largest and step < 1e-4):  # scientific, with the digits that differ
        ratio = largest / step if step else math.inf
        digits = max(3, min(17, math.ceil(math.log10(ratio)) + 1)) if 1 < ratio < math.inf else 3
        return [f"{tick:.{digits}g}" for tick in ticks]
    decimals = _decimals(step)
    return [f"{tick:.{decimals}f}" for tick in ticks]


def draw_frame(document: Fragment, x: Scale, y: Scale, x_ticks: Sequence[float],
               y_ticks: Sequence[float], *, x_label: str, y_label: str,
               grid: bool = True) -> None:
    """Grid lines, the plot area's box, ticks with their labels, and the two axis titles.

    The same frame (ROC and precision-recall charts share theirs across fits) is drawn once
    and its markup reused."""
    document.add(_frame(x, y, tuple(x_ticks), tuple(y_ticks), x_label, y_label, grid))


@functools.lru_cache(maxsize=64)
def _frame(x: Scale, y: Scale, x_ticks: tuple[float, ...], y_ticks: tuple[float, ...],
           x_label: str, y_label: str, grid: bool) -> str:
    frame = Fragment()
    left, right = min(x.start, x.end), max(x.start, x.end)
    top, bottom = min(y.start, y.end), max(y.start, y.end)
    lines = []
    if grid:
        for tick in x_ticks:
            position = number(x(tick))
            lines.append(f"M{position} {number(top)}V{number(bottom)}")
        for tick in y_ticks:
            position = number(y(tick))
            lines.append(f"M{number(left)} {position}H{number(right)}")
        frame.add(f'<path d="{"".join(lines)}" stroke="{GRID_COLOR}" stroke-width="1" '
                  'fill="none"/>')
    frame.rect(left, top, right - left, bottom - top, fill="none", stroke=AXIS_COLOR)
    marks = []
    for tick, label in zip(x_ticks, tick_labels(x_ticks), strict=True):
        position = x(tick)
        marks.append(f"M{number(position)} {number(bottom)}v5")
        frame.text(position, bottom + 14, label, size=TICK_SIZE)
    for tick, label in zip(y_ticks, tick_labels(y_ticks), strict=True):
        position = y(tick)
        marks.append(f"M{number(left)} {number(position)}h-5")
        frame.text(left - 8, position, label, anchor="end", size=TICK_SIZE)
    frame.add(f'<path d="{"".join(marks)}" stroke="{AXIS_COLOR}" stroke-width="1"/>')
    frame.text((left + right) / 2, bottom + 34, x_label)
    label_x = left - 8 - _widest(y_ticks) - 14
    frame.text(label_x, (top + bottom) / 2, y_label, rotate=-90)
    return frame.markup()


def left_margin(y_ticks: Sequence[float]) -> float:
    """Room left of the plot area for the y ticks' labels and the y axis' title."""
    return 8 + _widest(y_ticks) + 14 + 12


def _widest(ticks: Sequence[float]) -> float:
    return max((text_width(label, TICK_SIZE) for label in tick_labels(ticks)), default=0.0)


def legend(document: Fragment, x: float, top: float,
           entries: Sequence[tuple[str, str, str]], *, align: str = "right") -> None:
    """A boxed legend with its top edge at ``top`` and its right edge (``align="right"``) or
    left edge (``"left"``) at ``x``; ``entries``: (kind, color, text), kind "line", "dash"
    or "dot"."""
    width = 34 + max(text_width(text, 11) for _, _, text in entries) + 8
    height = 8 + 16 * len(entries)
    left = x - width if align == "right" else x
    document.rect(left, top, width, height, fill="#ffffff", stroke="#cccccc")
    for index, entry in enumerate(entries):
        _legend_entry(document, left + 6, top + 12 + 16 * index, entry)


def legend_row(document: Fragment, right: float, middle: float,
               entries: Sequence[tuple[str, str, str]]) -> None:
    """The same entries in one row ending at ``right``, outside the plot area (above it)."""
    widths = [28 + text_width(text, 11) + 14 for _, _, text in entries]
    left = right - sum(widths)
    for width, entry in zip(widths, entries, strict=True):
        _legend_entry(document, left, middle, entry)
        left += width


def _legend_entry(document: Fragment, left: float, middle: float,
                  entry: tuple[str, str, str]) -> None:
    kind, color, text = entry
    if kind == "dot":
        document.add(f'<circle cx="{number(left + 11)}" cy="{number(middle)}" r="3.5" '
                     f'fill="{color}"/>')
    else:
        document.line(left, middle, left + 22, middle, stroke=color, width=2,
                      dash="5,4" if kind == "dash" else None)
    document.text(left + 28, middle, text, anchor="start", size=11)

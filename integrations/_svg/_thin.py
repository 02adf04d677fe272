"""A polyline of any length cut to the points a pixel grid can show, without changing its look.

A ROC curve of a large training set has a point per distinct score, tens of thousands of them,
nearly all inside the same few pixels as their neighbours. Thinning works in pixel space, on
a line whose x never decreases (ROC, precision-recall, best-so-far):

1. Above :data:`POINTS_PER_COLUMN` points per pixel column on average, each column keeps its
   first and last point and its lowest and highest (the "M4" aggregation of time-series
   charts): a line drawn through those covers exactly the pixels the full line covers.
2. Coordinates are rounded to whole pixels (no vertex moves by more than half a pixel);
   repeated points, and the middle points of straight runs, are dropped.

Cutting by index instead (every k-th point) loses the corners that make a curve's shape.
"""

from __future__ import annotations

import numpy as np

#: Thinning by column starts above this many points per pixel column.
POINTS_PER_COLUMN = 2


def thin(x: np.ndarray, y: np.ndarray, width_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``x`` (non-decreasing) and ``y`` → the points worth drawing, as
    whole pixels (int64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size > POINTS_PER_COLUMN * max(1.0, width_px):
        x, y = _per_column(x, y)
    return _drop_redundant(np.rint(x).astype(np.int64), np.rint(y).astype(np.int64))


def _per_column(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    column = np.floor(x)
    starts = np.flatnonzero(_first_of_runs(column))
    ends = np.append(starts[1:], x.size) - 1
    lowest = np.minimum.reduceat(y, starts)
    highest = np.maximum.reduceat(y, starts)
    first, last = y[starts], y[ends]
    rising = first <= last  # within one pixel column the order of the extremes is invisible
    kept_y = np.column_stack((first, np.where(rising, lowest, highest),
                              np.where(rising, highest, lowest), last)).ravel()
    kept_x = np.column_stack((x[starts], x[starts], x[ends], x[ends])).ravel()
    return kept_x, kept_y


def _drop_redundant(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size < 3:
        return x, y
    moved = _first_of_runs(x) | _first_of_runs(y)
    x, y = x[moved], y[moved]
    if x.size < 3:
        return x, y
    dx_before, dx_after = x[1:-1] - x[:-2], x[2:] - x[1:-1]
    dy_before, dy_after = y[1:-1] - y[:-2], y[2:] - y[1:-1]
    # A point in the middle of a straight run that goes on in the same direction adds
    # nothing (exact: the coordinates are integers).
    straight = ((dx_before * dy_after == dy_before * dx_after)
                & (dx_before * dx_after + dy_before * dy_after > 0))
    keep = np.ones(x.size, dtype=bool)
    keep[1:-1] = ~straight
    return x[keep], y[keep]


def _first_of_runs(values: np.ndarray) -> np.ndarray:
    """True where a value differs from the one before it (and at the start)."""
    first = np.empty(values.size, dtype=bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return first


def points(x: np.ndarray, y: np.ndarray) -> str:
    """``"x y x y ..."`` (a polyline's ``points``; SVG allows spaces between the two
    coordinates of a pair) from whole-pixel coordinates."""
    return " ".join(map(str, np.column_stack((x, y)).ravel().tolist()))

"""The confusion matrix: one shaded cell per (true, predicted) pair, its count written in it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from integrations._svg._document import Document, escape, number, shorten, text_width

#: Above this many classes the matrix is unreadable: not drawn (the metrics still are logged).
MAX_CLASSES = 30
#: Class names longer than this are cut (with an ellipsis) on the axes.
LABEL_CHARS = 24
LABEL_SIZE = 11

#: ColorBrewer's sequential "Blues", light to dark; cells are shaded along it by value.
_BLUES = np.array([(0xF7, 0xFB, 0xFF), (0xDE, 0xEB, 0xF7), (0xC6, 0xDB, 0xEF),
                   (0x9E, 0xCA, 0xE1), (0x6B, 0xAE, 0xD6), (0x42, 0x92, 0xC6),
                   (0x21, 0x71, 0xB5), (0x08, 0x51, 0x9C), (0x08, 0x30, 0x6B)], dtype=np.float64)


def confusion_matrix_svg(matrix: np.ndarray, labels: Sequence[str], title: str
                         ) -> bytes | None:
    """Rows: true class, columns: predicted class (scikit-learn's layout). Counts are printed
    as integers, weighted sums with three significant digits. None above
    :data:`MAX_CLASSES` classes or for a matrix that does not match ``labels``."""
    matrix = np.asarray(matrix, dtype=np.float64)
    classes = len(labels)
    if classes == 0 or classes > MAX_CLASSES or matrix.shape != (classes, classes):
        return None
    shown = [shorten(str(label), LABEL_CHARS) for label in labels]
    cell = float(max(22, min(80, 360 // classes)))
    value_size = min(12.0, cell * 0.38)
    longest = max(text_width(label, LABEL_SIZE) for label in shown)
    slanted = classes > 4 or longest > cell - 4
    left = 20 + 14 + longest + 8
    top = 44.0
    side = cell * classes
    below = (longest * 0.72 + 12) if slanted else 20
    width = max(left + side + 20, text_width(title, 14) + 20)
    height = top + side + below + 34
    document = Document(width, height, title)
    document.text(width / 2, 20, title, size=14, bold=True)

    fractions = _fractions(matrix)
    colors = _colors(fractions)
    texts = _cell_texts(matrix)
    # Each row's and column's coordinates printed once, not once per cell.
    starts = [number(left + index * cell) for index in range(classes)]
    tops = [number(top + index * cell) for index in range(classes)]
    centers = [number(left + index * cell + cell / 2) for index in range(classes)]
    middles = [number(top + index * cell + cell / 2) for index in range(classes)]
    size = number(cell)
    cells, values = [], []
    for row in range(classes):
        for column in range(classes):
            index = row * classes + column
            cells.append(f'<rect x="{starts[column]}" y="{tops[row]}" width="{size}" '
                         f'height="{size}" fill="{colors[index]}"/>')
            ink = ' fill="#ffffff"' if fractions[index] > 0.5 else ""
            values.append(f'<text x="{centers[column]}" y="{middles[row]}" dy=".35em"{ink}>'
                          f'{texts[index]}</text>')
    document.add("".join(cells))
    document.rect(left, top, side, side, fill="none", stroke="#333333")
    document.add(f'<g font-size="{number(value_size)}" text-anchor="middle">'
                 f'{"".join(values)}</g>')

    for position, label in enumerate(shown):
        middle = top + position * cell + cell / 2
        document.text(left - 6, middle, label, anchor="end", size=LABEL_SIZE)
        center = left + position * cell + cell / 2
        if slanted:
            document.text(center, top + side + 8, label, anchor="end", size=LABEL_SIZE,
                          rotate=-45)
        else:
            document.text(center, top + side + 12, label, size=LABEL_SIZE)
    document.text(left + side / 2, top + side + below + 14, "Predicted label")
    document.text(16, top + side / 2, "True label", rotate=-90)
    return document.to_bytes()


def _fractions(matrix: np.ndarray) -> list[float]:
    largest = float(matrix.max()) if matrix.size else 0.0
    if not np.isfinite(largest) or largest <= 0:
        return [0.0] * matrix.size
    return np.clip(matrix / largest, 0.0, 1.0).ravel().tolist()


def _colors(fractions: list[float]) -> list[str]:
    """Each fraction's color, interpolated between the palette's neighbouring stops."""
    position = np.asarray(fractions) * (len(_BLUES) - 1)
    below = np.minimum(np.floor(position).astype(np.intp), len(_BLUES) - 2)
    weight = (position - below)[:, None]
    rgb = np.rint(_BLUES[below] * (1 - weight) + _BLUES[below + 1] * weight).astype(np.int64)
    return [f"#{red:02x}{green:02x}{blue:02x}" for red, green, blue in rgb.tolist()]


def _cell_texts(matrix: np.ndarray) -> list[str]:
    flat = matrix.ravel()
    if np.all(np.isfinite(flat)) and np.array_equal(flat, np.round(flat)):
        return [str(value) for value in np.round(flat).astype(np.int64).tolist()]
    return [escape(f"{value:.3g}") for value in flat.tolist()]

"""PNG plots of a classifier's training predictions (``plot_format="png"``): confusion
matrix, ROC and PR curves. The default, SVG, is drawn by :mod:`integrations._svg`.

Rendered by autolog's writer thread (deferred records) from arrays computed at fit time.
Built with ``matplotlib.figure.Figure`` and the Agg canvas directly, never ``pyplot``:
pyplot keeps global state (current figure, backend) that the user's own plotting on another
thread would race with. About 40 ms a plot.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np

from integrations._metrics import Curves

logger = logging.getLogger("autolog.integrations.sklearn")

#: Above this many classes a confusion matrix is unreadable (and slow to draw): not plotted.
MAX_MATRIX_CLASSES = 30
#: Points kept per curve (matplotlib's time grows with them; large training sets have many).
CURVE_POINTS = 1000


def _figure(width: float = 5.0, height: float = 4.5) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(figure)
    # Fixed margins: tight_layout measures every text, which costs a third of the render.
    figure.subplots_adjust(left=0.15, right=0.95, bottom=0.14, top=0.9)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def confusion_matrix_png(matrix: np.ndarray, labels: list[str], title: str) -> bytes | None:
    if len(labels) > MAX_MATRIX_CLASSES:
        return None
    size = 3.5 + 0.35 * len(labels)
    figure = _figure(size + 1.0, size)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(labels))
    axes.set_xticks(ticks, labels=labels, rotation=45 if len(labels) > 4 else 0, ha="right"
                    if len(labels) > 4 else "center")
    axes.set_yticks(ticks, labels=labels)
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")
    axes.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    integral = np.allclose(matrix, np.round(matrix))
    for (row, column), value in np.ndenumerate(matrix):
        text = f"{int(round(value))}" if integral else f"{value:.3g}"
        axes.text(column, row, text, ha="center", va="center", fontsize=8,
                  color="white" if value > threshold else "black")
    figure.subplots_adjust(left=0.22, bottom=0.22, right=0.95)
    return _png(figure)


def roc_curve_png(curves: Curves, title: str) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    keep = _thin(len(curves.fpr))
    axes.plot(curves.fpr[keep], curves.tpr[keep], label=f"AUC = {curves.auc:.3f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set_xlabel(f"False positive rate (positive label: {curves.positive_label})")
    axes.set_ylabel("True positive rate")
    axes.set_title(title)
    axes.legend(loc="lower right")
    return _png(figure)


def precision_recall_png(curves: Curves, title: str) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    keep = _thin(len(curves.recall))
    # "pre": each precision holds over the recall gained to reach it (the area is the AP).
    axes.step(curves.recall[keep], curves.precision[keep], where="pre",
              label=f"AP = {curves.average_precision:.3f}")
    axes.set_xlabel(f"Recall (positive label: {curves.positive_label})")
    axes.set_ylabel("Precision")
    axes.set_ylim(0.0, 1.05)
    axes.set_title(title)
    axes.legend(loc="lower left")
    return _png(figure)


def _thin(length: int) -> np.ndarray:
    if length <= CURVE_POINTS:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, CURVE_POINTS).round().astype(np.intp))

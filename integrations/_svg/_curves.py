"""ROC and precision-recall curves of a binary classifier, with AUC / AP in the legend."""

from __future__ import annotations

import numpy as np

from integrations._svg._axes import Scale, draw_frame, left_margin, legend
from integrations._svg._document import Document, shorten
from integrations._svg._thin import points, thin

WIDTH, HEIGHT = 460.0, 420.0
TOP, RIGHT, BOTTOM = 40.0, 16.0, 56.0
CURVE_COLOR = "#1f77b4"
CHANCE_COLOR = "#888888"
UNIT_TICKS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
#: A positive label longer than this is cut in the axis title.
LABEL_CHARS = 30


def roc_curve_svg(fpr: np.ndarray, tpr: np.ndarray, auc: float, positive_label: str,
                  title: str) -> bytes:
    """True against false positive rate, the chance diagonal dashed; ``fpr`` non-decreasing."""
    document, x, y = _chart(title, f"False positive rate (positive label: "
                            f"{shorten(positive_label, LABEL_CHARS)})", "True positive rate")
    document.line(x(0.0), y(0.0), x(1.0), y(1.0), stroke=CHANCE_COLOR, width=1, dash="5,4")
    _curve(document, x.many(fpr), y.many(tpr), x)
    legend(document, x.end - 8, y.start - 8 - 40,
           [("line", CURVE_COLOR, f"ROC curve (AUC = {auc:.3f})"),
            ("dash", CHANCE_COLOR, "chance")])
    return document.to_bytes()


def precision_recall_svg(recall: np.ndarray, precision: np.ndarray, average_precision: float,
                         prevalence: float, positive_label: str, title: str) -> bytes:
    """Precision against recall (``recall`` non-decreasing) as steps whose area is the
    average precision: each precision holds over the recall gained to reach it, as in
    ``sklearn.metrics.average_precision_score``. The dashed line is a classifier that
    guesses (precision = the positive class' share)."""
    document, x, y = _chart(title, f"Recall (positive label: "
                            f"{shorten(positive_label, LABEL_CHARS)})", "Precision")
    if np.isfinite(prevalence):
        document.line(x(0.0), y(prevalence), x(1.0), y(prevalence), stroke=CHANCE_COLOR,
                      width=1, dash="5,4")
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    # Steps: from each point straight up or down to the next precision, then across to it.
    step_x = np.repeat(recall, 2)[:-1]
    step_y = np.concatenate((precision[:1], np.repeat(precision[1:], 2)))
    _curve(document, x.many(step_x), y.many(step_y), x)
    legend(document, x.start + 8, y.start - 8 - 40, align="left", entries=
           [("line", CURVE_COLOR, f"PR curve (AP = {average_precision:.3f})"),
            ("dash", CHANCE_COLOR, f"chance (positives = {prevalence:.3f})")])
    return document.to_bytes()


def _chart(title: str, x_label: str, y_label: str) -> tuple[Document, Scale, Scale]:
    document = Document(WIDTH, HEIGHT, title)
    document.text(WIDTH / 2, 20, title, size=14, bold=True)
    left = left_margin(UNIT_TICKS)
    x = Scale(0.0, 1.0, left, WIDTH - RIGHT)
    y = Scale(0.0, 1.0, HEIGHT - BOTTOM, TOP)
    draw_frame(document, x, y, UNIT_TICKS, UNIT_TICKS, x_label=x_label, y_label=y_label)
    return document, x, y


def _curve(document: Document, pixels_x: np.ndarray, pixels_y: np.ndarray, x: Scale) -> None:
    finite = np.isfinite(pixels_x) & np.isfinite(pixels_y)
    kept_x, kept_y = thin(pixels_x[finite], pixels_y[finite], abs(x.end - x.start))
    if kept_x.size:
        document.polyline(points(kept_x, kept_y), stroke=CURVE_COLOR)

"""Charts as SVG text, written directly: no matplotlib, no fonts, no rendering.

Why: matplotlib costs ~40 ms a plot (and about a second to import), on the training
process's GIL; writing the SVG markup of the same chart costs well under a millisecond, so
every fit that asks for plots gets them. MLflow's artifact viewer shows ``.svg`` files as
images. Output is deterministic (the same input gives the same bytes) and every text that
comes from the user (class names, feature names, study names) is escaped.

One module per chart kind, each with one ``*_svg`` function returning UTF-8 bytes:
:mod:`._confusion` (confusion matrix), :mod:`._curves` (ROC and precision-recall curves),
:mod:`._bars` (feature importance), :mod:`._history` (optimization history). They share
:mod:`._document` (the markup and its escaping), :mod:`._axes` (scales, ticks, frames) and
:mod:`._thin` (long curves cut to what a pixel grid can show).
"""

from __future__ import annotations

from integrations._svg._bars import importance_svg
from integrations._svg._confusion import confusion_matrix_svg
from integrations._svg._curves import precision_recall_svg, roc_curve_svg
from integrations._svg._history import optimization_history_svg

__all__ = ["confusion_matrix_svg", "importance_svg", "optimization_history_svg",
           "precision_recall_svg", "roc_curve_svg"]

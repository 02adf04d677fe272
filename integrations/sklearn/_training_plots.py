"""A classifier fit's plots: the confusion matrix, and for a binary classifier the ROC and
precision-recall curves, as ``training_*.svg`` (or ``.png`` with ``plot_format="png"``).

Every fit that asks for plots gets them, whatever the pace of the fits. They are deferred
records (``Run.log_artifact_later``): the training thread only appends three closures to the
queue; autolog's writer computes the matrix and the curves from the arrays captured at fit
time and writes the SVG, about 0.1-0.3 ms a plot on a few hundred rows (see
``benchmarks/bench_plots.py``), so a loop of fits never queues more drawing than it trains.
matplotlib's PNGs cost ~40 ms each on the same writer; a user who asks for them gets them
all, and pays that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from integrations import _svg
from integrations._metrics import (
    ClassifierArrays,
    Curves,
    binary_curves,
    confusion_matrix,
)
from integrations.sklearn import _plots

if TYPE_CHECKING:
    from autolog.plugin import Run


def queue_plots(run: Run, arrays: ClassifierArrays, plot_format: str) -> None:
    """Queue the fit's plots for the writer thread (``flush()`` waits for them)."""
    matrix_plot, roc_plot, precision_recall_plot = _renderers(plot_format)
    labels = [str(label) for label in arrays.classes]
    name = run.name
    builds: list[tuple[str, Callable[[], bytes | None]]] = [
        ("confusion_matrix", lambda: matrix_plot(
            confusion_matrix(arrays.y_true, arrays.y_pred, len(labels)), labels,
            f"{name}: training confusion matrix")),
    ]
    if len(labels) == 2 and arrays.scores is not None and arrays.pos_index is not None:
        known: dict[str, Curves | None] = {}

        def curves() -> Curves | None:  # computed by the first of the two plots that needs it
            if "curves" not in known:
                known["curves"] = binary_curves(arrays)
            return known["curves"]

        builds += [
            ("roc_curve", lambda: _draw(roc_plot, curves(), f"{name}: training ROC curve")),
            ("precision_recall_curve", lambda: _draw(
                precision_recall_plot, curves(), f"{name}: training precision-recall curve")),
        ]
    for kind, build in builds:
        path = f"training_{kind}.{plot_format}"
        run.log_artifact_later(path, build, what=f"sklearn: {path}")


def _renderers(plot_format: str) -> tuple[Callable[..., bytes | None], ...]:
    """(confusion matrix, ROC curve, precision-recall curve) drawing functions."""
    if plot_format == "png":
        return _plots.confusion_matrix_png, _plots.roc_curve_png, _plots.precision_recall_png
    return _svg.confusion_matrix_svg, _roc_svg, _precision_recall_svg


def _draw(plot: Callable[[Curves, str], bytes], curves: Curves | None, title: str
          ) -> bytes | None:
    return None if curves is None else plot(curves, title)


def _roc_svg(curves: Curves, title: str) -> bytes:
    return _svg.roc_curve_svg(curves.fpr, curves.tpr, curves.auc, curves.positive_label, title)


def _precision_recall_svg(curves: Curves, title: str) -> bytes:
    return _svg.precision_recall_svg(curves.recall, curves.precision, curves.average_precision,
                                     curves.prevalence, curves.positive_label, title)

"""The SVG charts: well-formed, readable (titles, axes, values, legends), deterministic, and
safe with any label a user's data holds."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from integrations._svg import (
    confusion_matrix_svg,
    importance_svg,
    optimization_history_svg,
    precision_recall_svg,
    roc_curve_svg,
)
from integrations._svg._axes import nice_ticks, tick_labels
from integrations._svg._confusion import MAX_CLASSES
from integrations._svg._thin import thin
from tests import svg

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ['<script>alert("x")</script>', "R&D ]]> 'quoted'", "café 日本 ✓", "tab\tnul\x00esc\x1b",
           "lone \ud800 surrogate"]


def _binary(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    return truth, truth + rng.normal(0, 0.9, n)


def _points(polyline) -> np.ndarray:
    numbers = [float(value) for value in polyline.get("points").replace(",", " ").split()]
    return np.array(numbers).reshape(-1, 2)


# -- confusion matrix -------------------------------------------------------------------------
def test_confusion_matrix_has_every_count_and_both_axes_labelled() -> None:
    matrix = np.arange(100).reshape(10, 10)
    labels = [f"class {index}" for index in range(10)]
    root = svg.parse(confusion_matrix_svg(matrix, labels, "clf: training confusion matrix"))
    texts = svg.texts(root)
    assert svg.title(root) == "clf: training confusion matrix"
    assert texts[0] == "clf: training confusion matrix"  # drawn as well as named
    assert texts[1:101] == [str(value) for value in range(100)]  # row by row
    assert all(texts.count(label) == 2 for label in labels)  # true and predicted axes
    assert {"True label", "Predicted label"} <= set(texts)
    assert len(svg.elements(root, "rect")) >= 100
    # the largest count is the darkest cell, the smallest the lightest
    fills = [rect.get("fill") for rect in svg.elements(root, "rect")[1:101]]
    assert fills[-1] == "#08306b" and fills[0] == "#f7fbff"


def test_confusion_matrix_of_weights_prints_three_digits() -> None:
    root = svg.parse(confusion_matrix_svg(np.array([[1.23456, 0.5], [2 / 3, 10.0]]),
                                          ["a", "b"], "weighted"))
    assert svg.texts(root)[1:5] == ["1.23", "0.5", "0.667", "10"]


def test_confusion_matrix_edge_cases() -> None:
    assert svg.parse(confusion_matrix_svg(np.zeros((2, 2)), ["a", "b"], "empty"))
    assert confusion_matrix_svg(np.ones((MAX_CLASSES + 1,) * 2),
                                [str(i) for i in range(MAX_CLASSES + 1)], "t") is None
    assert confusion_matrix_svg(np.ones((3, 3)), ["a", "b"], "mismatch") is None
    long_name = "x" * 200
    root = svg.parse(confusion_matrix_svg(np.eye(2), [long_name, "b"], "long"))
    assert long_name not in svg.texts(root) and "x" * 23 + "…" in svg.texts(root)


# -- ROC and precision-recall -----------------------------------------------------------------
def test_roc_curve_has_axes_ticks_and_the_auc_in_its_legend() -> None:
    truth, scores = _binary()
    fpr, tpr, _ = skm.roc_curve(truth, scores)
    auc = skm.roc_auc_score(truth, scores)
    root = svg.parse(roc_curve_svg(fpr, tpr, auc, "yes", "clf: training ROC curve"))
    texts = svg.texts(root)
    assert f"ROC curve (AUC = {auc:.3f})" in texts and "chance" in texts
    assert {"False positive rate (positive label: yes)", "True positive rate"} <= set(texts)
    assert texts.count("0.0") == 2 and texts.count("1.0") == 2 and "0.6" in texts  # ticks
    (curve,) = svg.elements(root, "polyline")
    drawn = _points(curve)
    assert drawn[0].tolist() != drawn[-1].tolist() and len(drawn) <= len(fpr)


def test_precision_recall_steps_enclose_the_average_precision() -> None:
    truth, scores = _binary(400, seed=1)
    precision, recall, _ = skm.precision_recall_curve(truth, scores)
    average_precision = skm.average_precision_score(truth, scores)
    root = svg.parse(precision_recall_svg(recall[::-1], precision[::-1], average_precision,
                                          truth.mean(), "1", "clf: training PR curve"))
    assert f"PR curve (AP = {average_precision:.3f})" in svg.texts(root)
    assert f"chance (positives = {truth.mean():.3f})" in svg.texts(root)
    # Back from pixels to data: the curve starts at (recall 0, precision 1) and ends at
    # (recall 1, precision = the positives' share).
    (curve,) = svg.elements(root, "polyline")
    drawn = _points(curve)
    prevalence = truth.mean()
    drawn_recall = (drawn[:, 0] - drawn[0, 0]) / (drawn[-1, 0] - drawn[0, 0])
    drawn_precision = 1 - (1 - prevalence) * (drawn[:, 1] - drawn[0, 1]) / (
        drawn[-1, 1] - drawn[0, 1])
    area = float(np.sum(np.diff(drawn_recall) * drawn_precision[1:]))
    assert area == pytest.approx(average_precision, abs=0.01)  # the steps' area is the AP


def test_precision_recall_steps_go_down_to_a_precision_then_across() -> None:
    root = svg.parse(precision_recall_svg(np.array([0.0, 0.5, 1.0]), np.array([1.0, 1.0, 0.5]),
                                          0.75, 0.5, "1", "steps"))
    drawn = _points(svg.elements(root, "polyline")[0])
    recall = (drawn[:, 0] - drawn[0, 0]) / (drawn[-1, 0] - drawn[0, 0])
    precision = 1 - 0.5 * (drawn[:, 1] - drawn[0, 1]) / (drawn[-1, 1] - drawn[0, 1])
    assert np.round(np.column_stack((recall, precision)), 2).tolist() == [
        [0.0, 1.0], [0.5, 1.0], [0.5, 0.5], [1.0, 0.5]]


def test_a_large_curve_is_thinned_and_keeps_its_shape() -> None:
    truth, scores = _binary(100_000, seed=2)
    fpr, tpr, _ = skm.roc_curve(truth, scores, drop_intermediate=False)
    pixels_x, pixels_y = 50 + fpr * 400, 350 - tpr * 300
    kept_x, kept_y = thin(pixels_x, pixels_y, 400)
    assert len(kept_x) < 2500 < len(fpr)
    # Every original point lies within a pixel of the drawn line.
    sample = np.random.default_rng(0).choice(len(fpr), 3000, replace=False)
    assert _distance_to_polyline(pixels_x[sample], pixels_y[sample], kept_x, kept_y).max() <= 1.0
    document = roc_curve_svg(fpr, tpr, 0.8, "1", "big")
    assert len(document) < 40_000  # small files, whatever the training set's size


def _distance_to_polyline(px: np.ndarray, py: np.ndarray, x: np.ndarray, y: np.ndarray
                          ) -> np.ndarray:
    ax, ay, bx, by = x[:-1], y[:-1], x[1:], y[1:]
    dx, dy = bx - ax, by - ay
    length = np.maximum(dx * dx + dy * dy, 1e-12)
    t = np.clip(((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / length, 0, 1)
    return np.hypot(ax + t * dx - px[:, None], ay + t * dy - py[:, None]).min(axis=1)


def test_thinning_keeps_corners_and_drops_straight_runs() -> None:
    x = np.array([0, 0, 0, 0, 5, 10, 10, 20.0])
    y = np.array([100, 90, 80, 50, 50, 50, 0, 0.0])
    kept_x, kept_y = thin(x, y, 400)
    assert list(zip(kept_x.tolist(), kept_y.tolist(), strict=True)) == [
        (0, 100), (0, 50), (10, 50), (10, 0), (20, 0)]
    # a spike inside one pixel column survives column thinning
    x = np.linspace(0, 10, 1000)
    y = np.zeros(1000)
    y[500] = 80.0
    assert 80 in thin(x, y, 10)[1].tolist()


# -- feature importance ---------------------------------------------------------------------
def test_importance_bars_show_the_top_features_with_their_scores() -> None:
    gain = [(f"f{index}", 100.0 - index) for index in range(100)]
    root = svg.parse(importance_svg({"gain": gain, "weight": [("f3", 7.0), ("f1", 2.0)]}))
    texts = svg.texts(root)
    assert {"Feature importance (gain)", "Feature importance (weight)"} <= set(texts)
    assert [f"f{index}" for index in range(20)] == [t for t in texts if t.startswith("f")][:20]
    assert "f20" not in texts and "100" in texts and "81" in texts
    assert importance_svg({"gain": []}) is None


def test_importance_with_odd_scores() -> None:
    root = svg.parse(importance_svg({"gain": [("a", math.inf), ("b", math.nan), ("c", 0.0),
                                              ("d", -1.5)]}))
    assert {"inf", "nan", "0", "-1.5"} <= set(svg.texts(root))
    assert svg.parse(importance_svg({"weight": [("a", 0.0)]}))


# -- optimization history ---------------------------------------------------------------------
def test_history_of_a_minimization_shows_trials_and_the_best_so_far() -> None:
    values = [5.0, 3.0, 4.0, math.inf, 1.0, 2.0]
    trials = [(number, (value,)) for number, value in enumerate(values)]
    root = svg.parse(optimization_history_svg(trials, ["minimize"], ["loss"],
                                              "Optimization history: <study & co>"))
    assert svg.title(root) == "Optimization history: <study & co>"
    assert {"trial", "loss", "best value"} <= set(svg.texts(root))
    assert len(svg.elements(root, "circle")) == 5 + 1  # finite trials + the legend's marker
    (best,) = svg.elements(root, "polyline")
    heights = _points(best)[:, 1]
    assert np.all(np.diff(heights) >= 0)  # minimizing: the best line only goes down the chart


def test_history_of_a_multi_objective_study_marks_the_pareto_front() -> None:
    trials = [(0, (1.0, 5.0)), (1, (2.0, 9.0)), (2, (3.0, 1.0))]
    root = svg.parse(optimization_history_svg(trials, ["minimize", "maximize"],
                                              ["error", "speed"], "mo", pareto={0, 1}))
    texts = svg.texts(root)
    assert {"error", "speed"} <= set(texts) and texts.count("Pareto front") == 2
    assert not svg.elements(root, "polyline")
    assert optimization_history_svg([], ["minimize"], ["v"], "none") is None
    assert svg.parse(optimization_history_svg([(7, (2.0,))], ["maximize"], ["v"], "one"))


# -- every chart --------------------------------------------------------------------------------
#: Builds one chart of each kind around ``label``; run here and, for determinism, in a fresh
#: process (only numpy and the chart modules imported, so it starts fast).
EVERY_CHART = """
import numpy as np
from integrations._svg import (confusion_matrix_svg, importance_svg, optimization_history_svg,
                               precision_recall_svg, roc_curve_svg)

def every_chart(label):
    rng = np.random.default_rng(0)
    fpr = np.r_[0.0, np.sort(rng.random(300)), 1.0]
    tpr = np.sqrt(fpr)
    precision = np.r_[1.0, 1 - 0.5 * np.sort(rng.random(300))]
    recall = np.linspace(0.0, 1.0, precision.size)
    return {
        "confusion": confusion_matrix_svg(np.array([[3, 1], [2, 4]]), [label, "other"],
                                          label + ": matrix"),
        "roc": roc_curve_svg(fpr, tpr, 0.7, label, label + ": ROC"),
        "pr": precision_recall_svg(recall, precision, 0.6, 0.5, label, label + ": PR"),
        "importance": importance_svg({"gain": [(label, 2.0), ("b", 1.0)]}, title=label),
        "history": optimization_history_svg([(0, (1.0,)), (1, (0.5,))], ["minimize"], [label],
                                            "Optimization history: " + label),
    }
"""
_namespace: dict[str, Any] = {}
exec(EVERY_CHART, _namespace)
every_chart = _namespace["every_chart"]


@pytest.mark.parametrize("label", HOSTILE)
def test_user_labels_are_escaped_and_read_back_as_written(label: str) -> None:
    readable = "".join("\ufffd" if (ord(c) < 32 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF
                       else c for c in label)
    for kind, document in every_chart(label).items():
        root = svg.parse(document)  # well-formed whatever the label holds
        assert not svg.elements(root, "script"), kind
        everything = " ".join([svg.title(root), *svg.texts(root)])
        assert readable[:20] in everything, (kind, readable)


def test_the_same_input_gives_the_same_bytes_in_any_process() -> None:
    charts = every_chart("same")
    assert charts == every_chart("same")
    script = EVERY_CHART + (
        "\nimport hashlib\n"
        "print(hashlib.sha256(b''.join(every_chart('same').values())).hexdigest())\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONHASHSEED": "7"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == hashlib.sha256(b"".join(charts.values())).hexdigest()


# -- ticks --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.0, 1.0, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    (0.0, 96.7, ["0", "20", "40", "60", "80", "100"]),
    (-13.2, 31.9, ["-20", "-10", "0", "10", "20", "30", "40"]),
    (0.0012, 0.0037, ["0.0010", "0.0015", "0.0020", "0.0025", "0.0030", "0.0035", "0.0040"]),
    (5.0, 5.0, ["4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"]),
])
def test_ticks_are_round_and_cover_the_values(low: float, high: float,
                                              expected: list[str]) -> None:
    ticks = nice_ticks(low, high, 5)
    assert tick_labels(ticks) == expected
    assert ticks[0] <= low and ticks[-1] >= high


@pytest.mark.parametrize(("low", "high"), [
    (1.0, 1.0 + 1e-15), (1e-5, 1e-5 + 1e-18), (1_000_000.0, 1_000_400.0), (-1e308, 1e308),
    (2e-7, 9e-7), (0.0, 1e300)])
def test_extreme_value_ranges_still_give_distinct_ticks(low: float, high: float) -> None:
    ticks = nice_ticks(low, high, 5)
    labels = tick_labels(ticks)
    assert len(set(labels)) == len(labels) >= 2, labels
    assert ticks[0] <= low and ticks[-1] >= high
    trials = [(0, (low,)), (1, (high,))]
    assert svg.parse(optimization_history_svg(trials, ["minimize"], ["v"], "extreme"))

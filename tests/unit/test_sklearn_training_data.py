"""A ``fit`` the user wrapped before ``autolog.autolog()``: its training data is still found
where scikit-learn puts it, and when it cannot be, the user is told once which entry point and
why (not a run that silently lacks its training metrics)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression

import autolog
from autolog import _discovery
from tests.fake_framework.recording import RunRecorder

X, Y = make_classification(80, 4, n_informative=2, random_state=0)


def _enable() -> None:
    others = {name: False for name in _discovery.discover() if name != "sklearn"}
    autolog.autolog(**others, log_models=False, sklearn={"log_plots": False})


def _metric_names(recorder: RunRecorder) -> set[str]:
    assert autolog.flush(30)
    (run,) = recorder.runs().values()
    return {key for key, _, _ in run.metrics}


def test_a_fit_wrapped_before_autolog_still_gets_its_training_metrics(
        recorded_runs: RunRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    original_fit = LogisticRegression.fit
    calls = []

    def counted_fit(self: Any, *args: Any, **kwargs: Any) -> Any:  # no functools.wraps
        calls.append(1)
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", counted_fit)
    _enable()
    with warnings.catch_warnings():
        warnings.simplefilter("error", autolog.AutologWarning)
        LogisticRegression().fit(X, Y)
        LogisticRegression().fit(X=X, y=Y)
    assert calls == [1, 1]
    assert autolog.flush(30)
    for run in recorded_runs.runs().values():
        metrics = {key for key, _, _ in run.metrics}
        assert {"training_accuracy_score", "training_f1_score"} <= metrics
        assert run.tags["dataset.n_samples"] == "80"


def test_training_data_autolog_cannot_find_is_said_once_naming_the_entry_point(
        recorded_runs: RunRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    original_fit = LinearRegression.fit

    def fit_from_frame(self: Any, **columns: Any) -> Any:
        return original_fit(self, columns["features"], columns["target"])

    monkeypatch.setattr(LinearRegression, "fit", fit_from_frame)
    _enable()
    with pytest.warns(autolog.AutologWarning) as caught:
        LinearRegression().fit(features=X, target=Y)
        LinearRegression().fit(features=X, target=Y)
    messages = [str(w.message) for w in caught if issubclass(w.category, autolog.AutologWarning)]
    assert len(messages) == 1, messages
    assert "LinearRegression.fit" in messages[0]
    assert "features, target" in messages[0] and "X" in messages[0]
    assert autolog.flush(30)
    runs = list(recorded_runs.runs().values())
    assert len(runs) == 2 and all(run.status == "FINISHED" for run in runs)
    assert all({key for key, _, _ in run.metrics} == {"fit_duration_s"} for run in runs)
    assert all(run.tags["autolog.training_data"].startswith("not found") for run in runs)


def test_labels_autolog_cannot_find_are_said_once(recorded_runs: RunRecorder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    original_fit = LogisticRegression.fit

    def fit_with_labels(self: Any, X: Any, **kwargs: Any) -> Any:
        return original_fit(self, X, kwargs["labels"])

    monkeypatch.setattr(LogisticRegression, "fit", fit_with_labels)
    _enable()
    with pytest.warns(autolog.AutologWarning, match=r"LogisticRegression\.fit.*labels"):
        LogisticRegression().fit(X, labels=Y)
    assert _metric_names(recorded_runs) == {"fit_duration_s"}

"""Options are validated once, and a bad one names itself."""

from __future__ import annotations

from typing import Any

import pytest

from autolog._options import COMMON_OPTIONS, Options, disabled_by_env, resolve, validate_common
from autolog._warnings import AutologWarning
from tests.fake_framework.sample_plugins import BadOption, Good

INTEGRATIONS: dict[str, Any] = {"good": Good, "badoption": BadOption, "broken": None}


def test_defaults() -> None:
    choices = resolve({}, INTEGRATIONS)
    assert choices["good"].options == Options()
    assert not choices["good"].requested
    assert choices["badoption"].options.specific == {"threshold": 0.5}
    assert "broken" not in choices


@pytest.mark.parametrize(("key", "value"), [
    ("log_models", "yes"),
    ("log_models", 1),
    ("log_every_n_epochs", 0),
    ("log_every_n_epochs", 2.0),
    ("log_every_n_epochs", True),
    ("log_every_n_steps", -1),
    ("exclusive", "false"),
    ("silent", 1),
    ("extra_tags", ["team"]),
    ("extra_tags", {"team": 1}),
    ("extra_tags", {"": "x"}),
    ("experiment", ""),
    ("experiment", 3),
    ("tracking_uri", " "),
    ("disable_for_unsupported_versions", None),
    ("plot_format", "jpeg"),
    ("plot_format", "SVG"),
    ("plot_format", None),
])
def test_a_bad_value_names_the_option(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        resolve({key: value}, INTEGRATIONS)


@pytest.mark.parametrize(("key", "value"), [
    ("log_models", "all"),
    ("log_models", False),
    ("log_every_n_epochs", None),
    ("log_every_n_epochs", 5),
    ("log_every_n_steps", 100),
    ("extra_tags", {"team": "churn"}),
    ("experiment", "churn-weekly"),
    ("tracking_uri", "http://localhost:5000"),
    ("silent", True),
    ("plot_format", "svg"),
    ("plot_format", "png"),
])
def test_a_good_value_is_kept(key: str, value: Any) -> None:
    options = resolve({key: value}, INTEGRATIONS)["good"].options
    assert getattr(options, key) == value


def test_unknown_option_is_named() -> None:
    with pytest.raises(ValueError, match="unknown option 'log_model'"):
        resolve({"log_model": True}, INTEGRATIONS)


def test_per_integration_false_true_and_dict() -> None:
    choices = resolve({"good": False, "badoption": {"threshold": 0.9, "log_models": False},
                       "log_models": "all"}, INTEGRATIONS)
    assert choices["good"].options is None and choices["good"].requested
    bad = choices["badoption"]
    assert bad.requested and bad.options.specific == {"threshold": 0.9}
    assert bad.options.log_models is False
    assert resolve({"good": True}, INTEGRATIONS)["good"].requested


@pytest.mark.parametrize(("value", "message"), [
    ("on", "must be True, False or a dict"),
    ({"threshold": "high"}, r"badoption\['threshold'\] must be of type float"),
    ({"treshold": 0.1}, r"unknown option badoption\['treshold'\]"),
    ({"log_every_n_steps": 0}, r"badoption\['log_every_n_steps'\]"),
])
def test_per_integration_errors_name_the_option(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve({"badoption": value}, INTEGRATIONS)


def test_an_int_is_a_valid_float_option_but_a_bool_is_not() -> None:
    assert resolve({"badoption": {"threshold": 1}}, INTEGRATIONS)[
        "badoption"].options.specific["threshold"] == 1
    with pytest.raises(ValueError):
        resolve({"badoption": {"threshold": True}}, INTEGRATIONS)


def test_extra_tags_are_copied_and_read_only() -> None:
    tags = {"team": "churn"}
    options = resolve({"extra_tags": tags}, INTEGRATIONS)["good"].options
    tags["team"] = "changed"
    assert options.extra_tags == {"team": "churn"}
    with pytest.raises(TypeError):
        options.extra_tags["x"] = "y"  # type: ignore[index]


def test_the_common_options_are_the_documented_ones() -> None:
    documented = {
        "log_models", "log_every_n_epochs", "log_every_n_steps", "exclusive", "silent",
        "extra_tags", "experiment", "tracking_uri", "disable_for_unsupported_versions",
        "registered_model_name", "max_model_mb", "plot_format"}
    assert documented == COMMON_OPTIONS


def test_plots_default_to_svg_and_png_per_integration() -> None:
    choices = resolve({"badoption": {"plot_format": "png"}}, INTEGRATIONS)
    assert choices["good"].options.plot_format == "svg"
    assert choices["badoption"].options.plot_format == "png"


def test_png_without_matplotlib_is_refused_with_the_way_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "matplotlib" else found(name, *args))
    with pytest.raises(ValueError, match=r"plot_format='png'.*pip install matplotlib"):
        resolve({"plot_format": "png"}, INTEGRATIONS)
    assert resolve({"plot_format": "svg"}, INTEGRATIONS)["good"].options.plot_format == "svg"


@pytest.mark.parametrize(("raw", "expected"), [
    ("", None), ("0", None), ("false", None), ("1", {"good", "badoption"}),
    ("TRUE", {"good", "badoption"}), ("good", {"good"}), (" good , badoption ", {
        "good", "badoption"}),
])
def test_autolog_disable_env(raw: str, expected: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLOG_DISABLE", raw)
    result = disabled_by_env({"good", "badoption"})
    assert (set(result) if result is not None else None) == expected


def test_autolog_disable_env_with_unknown_names_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLOG_DISABLE", "good,sklearn_typo")
    with pytest.warns(AutologWarning, match="sklearn_typo"):
        assert disabled_by_env({"good"}) == {"good"}


@pytest.mark.parametrize(("key", "bad"), [("registered_model_name", ""),
                                          ("registered_model_name", 3),
                                          ("max_model_mb", 0), ("max_model_mb", True)])
def test_model_options_are_validated(key: str, bad: object) -> None:
    with pytest.raises(ValueError, match=key):
        validate_common(key, bad)

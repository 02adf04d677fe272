"""An AutologWarning about what the user passed points at the user's line, not autolog's.

``python -W error::autolog.AutologWarning`` or a plain run shows ``file:line``; a line inside
autolog tells the user nothing about which of their calls to fix.
"""

from __future__ import annotations

import warnings

import autolog
from autolog import AutologWarning


def _caught(action) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [w for w in caught if issubclass(w.category, AutologWarning)]


def test_a_step_out_of_range_is_reported_at_the_users_call():
    with autolog.start_run(run_name="steps"):
        caught = _caught(lambda: autolog.log_metrics({"loss": 0.5}, step=2**70))
    assert caught, "an out-of-range step warns"
    assert caught[0].filename == __file__


def test_a_value_without_text_form_is_reported_at_the_users_call():
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

        __repr__ = __str__

    with autolog.start_run(run_name="params"):
        caught = _caught(lambda: autolog.log_params({"p": Unprintable()}))
    assert caught, "a param without a text form warns"
    assert caught[0].filename == __file__


def test_a_long_tag_is_reported_at_the_users_call():
    with autolog.start_run(run_name="tags"):
        caught = _caught(lambda: autolog.set_tags({"note": "x" * 100_000}))
    assert caught, "a truncated tag warns"
    assert caught[0].filename == __file__

"""The guard: Exception only, one typed warning per kind, re-raise under AUTOLOG_TESTING."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from autolog._guard import guarded, is_silenced
from autolog._warnings import AutologWarning

ROOT = Path(__file__).resolve().parents[2]


class Boom(Exception):
    pass


def test_swallows_warns_and_records(autolog_errors: Any) -> None:
    with pytest.warns(AutologWarning, match=r"autolog: unit\.kind failed \(Boom: bad\)"):
        with guarded("unit.kind") as guard:
            raise Boom("bad")
    assert guard.failed
    assert autolog_errors() == ["unit.kind: Boom: bad"]


def test_one_warning_per_kind(autolog_errors: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for kind in ("a", "a", "b", "a"):
            with guarded(kind):
                raise Boom(kind)
    assert [str(w.message).split(" failed")[0] for w in caught] == ["autolog: a", "autolog: b"]
    assert all(issubclass(w.category, AutologWarning) for w in caught)
    assert len(autolog_errors()) == 4


def test_warnings_are_filterable_by_category(autolog_errors: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=AutologWarning)
        with guarded("filtered"):
            raise Boom


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_base_exceptions_are_never_caught(exc_type: type, autolog_errors: Any) -> None:
    with pytest.raises(exc_type), guarded("base"):
        raise exc_type()
    assert autolog_errors() == []


def test_reraises_under_autolog_testing() -> None:
    with pytest.raises(Boom), guarded("testing"):
        raise Boom


def test_reraise_false_swallows_even_under_testing(autolog_errors: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLOG_TESTING", "1")
    with pytest.warns(AutologWarning), guarded("hook", reraise=False):
        raise Boom
    assert autolog_errors() == ["hook: Boom: "]


def test_decorator_returns_none_on_failure(autolog_errors: Any) -> None:
    @guarded("decorated")
    def compute(value: int) -> int:
        if value < 0:
            raise Boom("negative")
        return value * 2

    assert compute(2) == 4
    with pytest.warns(AutologWarning):
        assert compute(-1) is None
    assert compute.__name__ == "compute"


def test_nothing_happens_without_an_error() -> None:
    with guarded("fine") as guard:
        pass
    assert not guard.failed and not is_silenced()


SWALLOWING_TEST = textwrap.dedent("""
    import os
    from autolog._guard import guarded

    def test_swallows():
        os.environ["AUTOLOG_TESTING"] = "0"
        with guarded("swallowed.here"):
            raise RuntimeError("hidden")
""")


def test_the_suite_fails_a_test_in_which_autolog_swallowed_an_error(tmp_path: Path) -> None:
    (tmp_path / "test_swallowing.py").write_text(SWALLOWING_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", str(tmp_path / "test_swallowing.py")],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "autolog swallowed an error" in done.stdout
    assert "swallowed.here: RuntimeError: hidden" in done.stdout


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "AUTOLOG_TESTING")}
    env["PYTHONPATH"] = str(ROOT)
    return env

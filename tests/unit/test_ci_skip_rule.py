"""Under CI=true a skipped test is a failure: a skip there means the setup is incomplete."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SKIPPING = textwrap.dedent("""
    import pytest

    def test_skips_in_the_body():
        pytest.skip("no server")

    @pytest.mark.skipif(True, reason="no gpu")
    def test_skipped_by_a_mark():
        pass

    @pytest.mark.xfail(reason="known bug", strict=True)
    def test_expected_failure():
        assert False

    def test_passes():
        pass
""")

SKIPPED_MODULE = "import pytest\npytest.importorskip('module_that_is_not_installed')\n"


def run_pytest(tmp_path: Path, ci: str | None, source: str = SKIPPING
               ) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_example.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", "-rA", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_skips_fail_under_ci(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "true")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "skipped under CI=true" in output
    assert "no server" in output and "no gpu" in output
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in output  # a skipif skips in setup


def test_a_skipped_module_fails_under_ci(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "true", SKIPPED_MODULE)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "skipped under CI=true" in output and "module_that_is_not_installed" in output
    assert run_pytest(tmp_path, None, SKIPPED_MODULE).returncode == 5  # all skipped: no tests


@pytest.mark.parametrize("ci", [None, "false"])
def test_skips_are_skips_elsewhere(tmp_path: Path, ci: str | None) -> None:
    done = run_pytest(tmp_path, ci)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "1 passed, 2 skipped, 1 xfailed" in output

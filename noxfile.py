"""The Python matrix: the suite on every Python the package supports besides 3.11.

    python -m nox                     # 3.10, 3.12 and 3.13, one after the other
    python -m nox -s tests-3.12       # one of them
    python -m nox -R -s tests-3.12    # again, reusing its environment (no install)
    python -m nox -s tests-3.13 -- -k optuna   # arguments after -- go to pytest too

3.11 runs the whole suite (the README's test command, which ``.ci/run`` runs). The others
install the project without Lightning (the ``test-core`` extra: torch's CPU build lies on this
machine for Python 3.11 only, and ``torch==2.13.0`` elsewhere resolves to a multi-GB CUDA
build) and run the unit and contract suites, the integration tests of each integration but
Lightning, and the exit and process-lifecycle tests, against the one MLflow server the suite
starts. Tests that need torch are left out by their marker, never skipped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.12", "3.13"]

#: What the other Pythons run (``-m "not torch"`` on top).
CORE_TESTS = [
    "tests/unit",
    "--ignore=tests/unit/test_bench_smoke.py",  # a benchmark's smoke run: once, on 3.11
    "tests/contract",
    "tests/integration/test_sklearn.py",
    "tests/integration/test_xgboost.py",
    "tests/integration/test_optuna.py",
    "tests/integration/test_interpreter_exit.py",
    "tests/integration/test_process_lifecycle.py",
]

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True  # a Python that is missing fails the run
nox.options.download_python = "never"  # no interpreter downloads: use the machine's


def _select_pyenv_versions() -> None:
    """pyenv's shims run only the selected versions; select every installed one for nox."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = sorted(path.name for path in (root / "versions").glob("3.*"))
    if installed and "PYENV_VERSION" not in os.environ:
        current = ".".join(map(str, sys.version_info[:3]))
        ordered = sorted(installed, key=lambda version: version != current)
        os.environ["PYENV_VERSION"] = ":".join(ordered)


_select_pyenv_versions()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The unit, contract and per-integration suites, without torch."""
    session.install("-q", "-c", "constraints.txt", "-e", ".[test-core]")
    session.run("python", "-c", VERSIONS)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not torch",
                *CORE_TESTS, *session.posargs,
                env={"AUTOLOG_TEST_SERVER_SHAPES": "sqlite"})  # the extra shapes run on 3.11


#: What this Python resolved to, one line in the log (the README's table comes from these).
VERSIONS = """
import importlib.metadata as m, platform
names = ["mlflow", "scikit-learn", "xgboost-cpu", "optuna", "matplotlib", "numpy", "pandas"]
print("python", platform.python_version(), "|", ", ".join(f"{n} {m.version(n)}" for n in names))
"""

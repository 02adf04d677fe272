"""Older MLflow server versions for the server matrix, each in a virtual environment of its own.

The test environment keeps one mlflow (3.x, which the tests also use to load models); an
MLflow 2.x *server* runs from its own environment, built once with pip into a cache folder and
reused by every later test session (and by every checkout on the machine):

- ``AUTOLOG_TEST_MLFLOW2_ENV``: the environment's folder (default
  ``~/.cache/autolog-tests/mlflow-2.22``, built with the Python running the tests). A folder
  that holds a finished build whose interpreter still exists is used as it is; otherwise it is
  built there.
- A build takes about a minute and ~850 MB; a file lock lets concurrent test sessions wait for
  one build instead of racing, and a stamp written last marks a build as finished, so an
  interrupted one is redone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

#: The MLflow 2 server the suite runs against. 2.22 is the last 2.x line; it fails at start
#: with SQLAlchemy 2.1 (an import that 2.1 removed), hence the cap.
MLFLOW2_REQUIREMENTS = ("mlflow==2.22.*", "sqlalchemy<2.1")
MLFLOW2_LABEL = "MLflow 2.22"
BUILD_TIMEOUT = 900.0


def mlflow2_env_dir() -> Path:
    named = os.environ.get("AUTOLOG_TEST_MLFLOW2_ENV")
    if named:
        return Path(named).expanduser()
    # One environment whatever Python runs the tests: the server is a process of its own, so
    # a test matrix over Python versions builds it once.
    return Path.home() / ".cache" / "autolog-tests" / "mlflow-2.22"


def ensure_mlflow2_env(say: Callable[[str], None] = lambda _: None) -> list[str]:
    """The command that runs the MLflow 2 server's ``mlflow``; builds its environment first
    if needed. Raises ``RuntimeError`` saying what failed (pip's output included)."""
    folder = mlflow2_env_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    stamp = folder / "autolog-build.txt"
    wanted = "\n".join(MLFLOW2_REQUIREMENTS)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building it: wait for that build
        if not _finished(stamp, wanted) or not (folder / "bin" / "python").exists():
            say(f"building the {MLFLOW2_LABEL} server's environment in {folder} (once, ~1 min)")
            shutil.rmtree(folder, ignore_errors=True)
            _build(folder)
            stamp.write_text(wanted)
    script = folder / "bin" / "mlflow"
    if not script.exists():
        raise RuntimeError(f"{folder} holds no bin/mlflow; remove the folder to rebuild it")
    return [str(script)]


def _finished(stamp: Path, wanted: str) -> bool:
    try:
        return stamp.read_text() == wanted
    except OSError:
        return False


def _build(folder: Path) -> None:
    steps = [[sys.executable, "-m", "venv", str(folder)],
             [str(folder / "bin" / "python"), "-m", "pip", "install", "-q",
              "--disable-pip-version-check", *MLFLOW2_REQUIREMENTS]]
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_CONSTRAINT")}
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, env=env,
                                  timeout=BUILD_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as timeout:
            raise RuntimeError(f"building {folder} timed out: {' '.join(step)}") from timeout
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise RuntimeError(f"building {folder} failed: {' '.join(step)}\n{output}")

"""Integration fixtures: one real MLflow tracking server for the whole test session.

Starting ``mlflow server`` takes ~10 s and a few hundred MB, so it is shared. Tests that take it
down (``mlflow_server.stop()`` / ``.outage()``) should bring it back; if one forgets, it is
restarted before the next test that uses it. Each test should use its own experiment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.server_shapes import *  # noqa: F403  (the server matrix; its docstring)
from tests.mlflow_server import MlflowServer

#: Uvicorn workers for the shared server; e.g. AUTOLOG_TEST_MLFLOW_WORKERS=4 to test the
#: multi-worker keep-alive latency MLflow has by default.
WORKERS = int(os.environ.get("AUTOLOG_TEST_MLFLOW_WORKERS", "1"))


@pytest.fixture(scope="session")
def sqlite_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """The default shape of ``mlflow_server`` (``.uri``, ``.reader``, ``.stop()``, ``.start()``,
    ``.outage()``); other shapes are in ``server_shapes.py``."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"), workers=WORKERS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _mlflow_server_running(request: pytest.FixtureRequest) -> None:
    """Bring the shared server back if an earlier test stopped it and didn't restart it."""
    if "mlflow_server" in request.fixturenames:
        request.getfixturevalue("mlflow_server").start()


@pytest.fixture
def experiment_name(request: pytest.FixtureRequest) -> str:
    """A fresh experiment name per test, so tests never see each other's runs."""
    return f"{request.node.name[:60]}-{uuid.uuid4().hex[:8]}"

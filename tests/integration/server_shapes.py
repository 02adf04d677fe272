"""The server matrix: the shapes of MLflow tracking server the integration tests run against.

Every test that uses ``mlflow_server`` gets the default shape. A test (or module) marked
``@pytest.mark.server_shapes("mlflow2", "postgres")`` runs against those shapes too, as
separate test items (``test_x[sqlite]``, ``test_x[mlflow2]``, ``test_x[postgres]``):

========== ========================================================================
``sqlite``   MLflow 3 (the test environment's own), SQLite store, 1 worker: the default
``mlflow2``  MLflow 2.22 from its own virtual environment (``tests/mlflow_envs.py``), SQLite
``postgres`` MLflow 3 on PostgreSQL with 4 workers, as production servers run
========== ========================================================================

Each shape's server is started once per session, when a test first needs it. The MLflow 2
environment is built (once per machine) right after collection, before any test's timeout
starts, when a selected test needs it. PostgreSQL comes from the distribution's packages
(``autolog._postgres``). A shape whose setup fails skips its tests with the reason, and under
``CI=true`` a skip is a failure. Tests tell shapes apart by ``mlflow_server.shape`` and
``mlflow_server.mlflow_major``.

``AUTOLOG_TEST_SERVER_SHAPES`` (a comma list, default every shape) narrows the matrix: the
Python matrix sets ``sqlite``, so the extra shapes run once, on 3.11; tests that need an extra
shape's server directly are then deselected (never skipped).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from autolog._postgres import FAST, PostgresServer, find_bin_dir
from tests.mlflow_envs import MLFLOW2_LABEL, ensure_mlflow2_env
from tests.mlflow_server import MlflowServer

__all__ = [
    "mlflow2_server",
    "mlflow_server",
    "postgres",
    "postgres_database",
    "postgres_mlflow_server",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
]

#: SQLAlchemy URL scheme for PostgreSQL (2.1 would pick psycopg 3 for a bare ``postgresql``).
DRIVER = "postgresql+psycopg2"
DEFAULT_SHAPE = "sqlite"
EXTRA_SHAPES = {"mlflow2": "mlflow2_server", "postgres": "postgres_mlflow_server"}
_SHAPE_FIXTURES = {DEFAULT_SHAPE: "sqlite_mlflow_server", **EXTRA_SHAPES}
#: What building the MLflow 2 environment gave: the command, or why it failed.
_mlflow2: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server_shapes(*shapes): also run against these MLflow server shapes "
        f"({', '.join(EXTRA_SHAPES)}); see tests/integration/server_shapes.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("server_shapes")
    if marker is None or "mlflow_server" not in metafunc.fixturenames:
        return
    unknown = set(marker.args) - set(EXTRA_SHAPES)
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown server shapes {unknown}")
    shapes = [shape for shape in marker.args if shape in _wanted_shapes()]
    metafunc.parametrize("mlflow_server", [DEFAULT_SHAPE, *shapes], indirect=True,
                         scope="function")


def _wanted_shapes() -> set[str]:
    listed = os.environ.get("AUTOLOG_TEST_SERVER_SHAPES", "").strip()
    if not listed:
        return {DEFAULT_SHAPE, *EXTRA_SHAPES}
    wanted = {name.strip() for name in listed.split(",") if name.strip()}
    unknown = wanted - {DEFAULT_SHAPE, *EXTRA_SHAPES}
    if unknown:
        raise pytest.UsageError(f"AUTOLOG_TEST_SERVER_SHAPES: unknown shapes {sorted(unknown)}")
    return wanted | {DEFAULT_SHAPE}


#: Fixtures that start an extra shape's server (or its database) directly.
_DIRECT_FIXTURES = {"mlflow2": ("mlflow2_server",),
                    "postgres": ("postgres_mlflow_server", "postgres_database", "postgres")}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Leave out tests of shapes not wanted here; build the MLflow 2 environment now, outside
    any test's timeout, if a test needs it."""
    unwanted = [fixture for shape, fixtures in _DIRECT_FIXTURES.items()
                if shape not in _wanted_shapes() for fixture in fixtures]
    if unwanted:
        kept = [item for item in items
                if not set(unwanted) & set(getattr(item, "fixturenames", ()))]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept
    needs_mlflow2 = any(getattr(item, "callspec", None) is not None
                        and item.callspec.params.get("mlflow_server") == "mlflow2"
                        for item in items)
    if not needs_mlflow2 or _mlflow2:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line)

    try:
        _mlflow2["command"] = ensure_mlflow2_env(say)
    except (OSError, RuntimeError) as error:
        _mlflow2["error"] = str(error)
        say(f"{MLFLOW2_LABEL} server environment unavailable: {error}")


# -- the fixtures -----------------------------------------------------------------------------
@pytest.fixture
def mlflow_server(request: pytest.FixtureRequest) -> MlflowServer:
    """The server of this test's shape (``.uri``, ``.reader``, ``.stop()``, ``.start()``,
    ``.outage()``, ``.shape``, ``.mlflow_major``)."""
    shape = getattr(request, "param", DEFAULT_SHAPE)
    return request.getfixturevalue(_SHAPE_FIXTURES[shape])


@pytest.fixture(scope="session")
def mlflow2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """An MLflow 2.22 server (SQLite, one worker) from its own environment."""
    if "error" in _mlflow2:
        pytest.skip(f"{MLFLOW2_LABEL} server environment unavailable: {_mlflow2['error']}")
    command = _mlflow2.get("command") or ensure_mlflow2_env()
    server = MlflowServer(tmp_path_factory.mktemp("mlflow2-server"), workers=1, command=command)
    server.shape, server.mlflow_major = "mlflow2", 2
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (tests make their own databases on it)."""
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    server = PostgresServer(settings=FAST)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_database(postgres: PostgresServer) -> Iterator[str]:
    """A fresh database on the session's PostgreSQL (its URL), dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres.create_database(name)
    yield postgres.url(name, DRIVER)
    with contextlib.suppress(RuntimeError):
        postgres.psql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_mlflow_server(postgres: PostgresServer,
                           tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """MLflow 3 with four workers on a PostgreSQL database."""
    postgres.create_database("mlflow")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-postgres-server"), workers=4,
                          backend_store_uri=postgres.url("mlflow", DRIVER))
    server.shape = "postgres"
    server.start()
    try:
        yield server
    finally:
        server.stop(grace=5)

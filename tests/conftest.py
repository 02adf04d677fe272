"""Suite-wide rules.

- ``AUTOLOG_TESTING=1`` for the whole suite: autolog's own failures raise instead of warning.
  Where a failure cannot be raised (an import hook) it is recorded, and the autouse fixture
  below fails the test; a test that injects failures on purpose requests ``autolog_errors``.
- Each test gets its own ``AUTOLOG_DIR`` and no tracking URI, and ends with autolog disabled,
  every patch undone and warnings reset.
- CI rule: under ``CI=true`` a skipped test is a failure (a skip there means missing setup).
"""

from __future__ import annotations

import os

os.environ["AUTOLOG_TESTING"] = "1"  # before autolog is imported anywhere

from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from autolog import _autolog, _guard, _patching  # noqa: E402
from autolog._warnings import reset_warnings  # noqa: E402
from tests.fake_framework import plugin as fake_plugin_helpers  # noqa: E402
from tests.fake_framework.recording import RunRecorder  # noqa: E402
from tests.fake_http import FakeServer, Seen  # noqa: E402


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


# -- CI: a skip is a failure ----------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if _ci() and report.skipped:  # a module-level importorskip / skip
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


# -- isolation ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _autolog_isolation(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path_factory.mktemp("autolog-runs")))
    for name in ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_DISABLE"):
        monkeypatch.delenv(name, raising=False)
    yield
    _autolog.disable_all()
    _patching.restore_all()  # patches tests made directly, without autolog()
    reset_warnings()


@pytest.fixture(autouse=True)
def _fail_if_autolog_swallowed_an_error(request: pytest.FixtureRequest) -> Iterator[None]:
    _guard.clear_swallowed()
    yield
    swallowed = _guard.swallowed_errors()
    _guard.clear_swallowed()
    if swallowed and "autolog_errors" not in request.fixturenames:
        pytest.fail("autolog swallowed an error of its own during this test:\n  "
                    + "\n  ".join(swallowed), pytrace=False)


@pytest.fixture
def autolog_errors(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Autolog's own failures are swallowed here, as for users; call it to see which were."""
    monkeypatch.setenv("AUTOLOG_TESTING", "0")
    return _guard.swallowed_errors


# -- shared helpers -------------------------------------------------------------------------
@pytest.fixture
def fake_plugin() -> Iterator[str]:
    """The fake framework's integration is registered (through the real discovery path)."""
    with fake_plugin_helpers.registered():
        yield fake_plugin_helpers.FAKE_NAME


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    """``fake_server(respond)`` starts a scriptable HTTP server (``tests.fake_http``), closed
    after the test."""
    servers: list[FakeServer] = []

    def start(respond: Callable[[Seen], Any]) -> FakeServer:
        server = FakeServer(respond)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def recorded_runs() -> Iterator[RunRecorder]:
    """Every record autolog hands to the recorder while the test runs."""
    with RunRecorder() as recorder:
        yield recorder

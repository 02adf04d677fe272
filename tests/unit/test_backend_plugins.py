"""Third-party backends register under the ``autolog.backends`` entry-point group."""

from __future__ import annotations

import pytest

import autolog
from autolog._runs import shutdown
from autolog.backends import backend_for_uri
from autolog.backends.memory import MemoryBackend

CREATED: dict[str, MemoryBackend] = {}


def make_backend(uri: str) -> MemoryBackend:
    """The factory the fake distribution below points its entry point at."""
    backend = CREATED.setdefault(uri, MemoryBackend())
    return backend


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    dist = tmp_path / "autolog_recorder_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: autolog-recorder-backend\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[autolog.backends]\nrecorder = tests.unit.test_backend_plugins:make_backend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "store"))
    yield
    shutdown(5)


def test_a_plugin_backend_receives_the_runs(installed_plugin):
    with autolog.start_run(run_name="via-plugin", tracking_uri="recorder://team-a") as run:
        run.log_metrics({"loss": 0.5}, step=3)
    assert autolog.flush(10)
    remote = CREATED["recorder://team-a"].run_by_client_id(run.run_id)
    assert remote.name == "via-plugin" and remote.status == "FINISHED"
    assert remote.metrics["loss"][0].step == 3


def test_an_unknown_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="no backend for scheme 'nosuch'"):
        backend_for_uri("nosuch://somewhere")

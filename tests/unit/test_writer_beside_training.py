"""The writer keeps its work for training's pauses, but never at the cost of a record: a flush
writes at once, and what is logged during a long fit reaches the store while it runs."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import autolog
from autolog._nesting import training
from autolog._runs import shutdown
from autolog.backends.local_store import LocalStore
from autolog.client import _pipeline
from tests.fake_framework.plugin import FAKE_MODULE


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path))
    yield tmp_path
    shutdown(5)


class _LongFit:
    """An autologged fit in a thread of its own, held inside its first epoch until released."""

    def __init__(self) -> None:
        fakeml: Any = importlib.import_module(FAKE_MODULE)
        self.inside = threading.Event()
        self.release = threading.Event()

        def on_epoch(epoch: int, loss: float) -> None:
            self.inside.set()
            self.release.wait(30)

        self.thread = threading.Thread(
            target=lambda: fakeml.Model(epochs=1).fit([1.0, 2.0], on_epoch=on_epoch))

    def __enter__(self) -> _LongFit:
        self.thread.start()
        assert self.inside.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.thread.join(30)


def _stored_metric(store_dir: Path, run_id: str, key: str) -> list[Any]:
    return LocalStore(store_dir).run_data(run_id)["metrics"].get(key, [])


def test_a_flush_while_training_runs_writes_at_once(fake_plugin: str, store_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pipeline, "MAX_HOLD", 600.0)  # a flush must not wait for the hold
    autolog.autolog()
    with _LongFit():
        with autolog.start_run("beside") as run:
            run.log_metric("x", 1.0)
        assert autolog.flush(30)
        assert [value for _, value, _ in _stored_metric(store_dir, run.run_id, "x")] == [1.0]


def test_what_is_logged_during_a_long_fit_is_stored_while_it_runs(fake_plugin: str,
                                                                  store_dir: Path) -> None:
    autolog.autolog()
    with _LongFit() as fit:
        with autolog.start_run("beside") as run:
            run.log_metric("x", 1.0)
        waited_until = time.monotonic() + 10
        while not _stored_metric(store_dir, run.run_id, "x") and time.monotonic() < waited_until:
            time.sleep(0.05)
        assert _stored_metric(store_dir, run.run_id, "x"), "held for as long as training ran"
        assert fit.thread.is_alive()


def test_a_fit_that_raises_is_no_longer_counted_as_running(fake_plugin: str,
                                                           store_dir: Path) -> None:
    autolog.autolog()
    fakeml: Any = importlib.import_module(FAKE_MODULE)
    before = training.running
    with pytest.raises(fakeml.FitError):
        fakeml.Model().fit([])
    assert training.running == before == 0
    assert training.quiet_for() > 0

"""Where the embedded store puts a run's artifact files: inside the run's folder, never
outside it, whatever path a user or a plugin names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autolog.backends.local_store import LocalStore


@pytest.mark.parametrize("path", ["model/MLmodel", "a/./b/../c.txt", "plots/roc.svg", "x"])
def test_a_path_inside_the_run_lands_inside_it(tmp_path: Path, path: str) -> None:
    store = LocalStore(tmp_path / "store")
    run_root = (tmp_path / "store" / "artifacts" / "run1").resolve()
    found = store.artifact_path("run1", path)
    assert found == run_root / os.path.normpath(path)


@pytest.mark.parametrize("path", ["../other/x", "../../escape.txt", "a/../../x", "/etc/passwd",
                                  ".."])
def test_a_path_leaving_the_run_is_refused(tmp_path: Path, path: str) -> None:
    store = LocalStore(tmp_path / "store")
    with pytest.raises(ValueError, match="escapes"):
        store.artifact_path("run1", path)


def test_a_store_reached_through_a_symlink_gives_its_real_place(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    store = LocalStore(tmp_path / "link")
    found = store.artifact_path("run1", "model/model.pkl")
    assert found == (tmp_path / "real").resolve() / "artifacts" / "run1" / "model" / "model.pkl"

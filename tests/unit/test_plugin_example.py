"""``examples/plugin_integration.py``, registered through a real entry point, records its run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autolog.backends.local_store import LocalStore

ROOT = Path(__file__).resolve().parents[2]


def _install_plugin(site: Path) -> None:
    """What ``pip install`` of a package declaring the entry point leaves on sys.path."""
    dist = site / "toyml_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyml-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[autolog.integrations]\ntoyml = plugin_integration:ToyIntegration\n")


def test_the_plugin_example_records_its_run(tmp_path):
    _install_plugin(tmp_path / "site")
    env = {**os.environ, "AUTOLOG_DIR": str(tmp_path / "store"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)])}
    for name in ("AUTOLOG_TRACKING_URI", "MLFLOW_TRACKING_URI", "AUTOLOG_DISABLE"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "plugin_integration.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "toyml.Model" in done.stdout  # the run tree it prints

    store = LocalStore(tmp_path / "store")
    (run,) = store.runs()
    assert (run["name"], run["status"]) == ("toyml.Model", "FINISHED")
    data = store.run_data(run["run_id"])
    assert data["params"] == {"lr": "0.2", "steps": "20"}
    assert [step for step, _value, _at in data["metrics"]["loss"]] == list(range(20))
    assert data["tags"]["toyml.converged"] == "True"
    store.close()


def test_without_the_entry_point_naming_the_plugin_is_a_clear_error(tmp_path):
    env = {**os.environ, "AUTOLOG_DIR": str(tmp_path / "store"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "plugin_integration.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "unknown option 'toyml'" in done.stderr

"""Requirements are pinned to what is installed, under the names pip installs."""

from __future__ import annotations

import importlib.metadata as metadata
import io
import pickle

import cloudpickle
import numpy as np
import pytest
import xgboost as xgb
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autolog.models._environment import (
    environment_files,
    pickled_modules,
    python_version,
    requirements,
)


def _pins(lines) -> dict[str, str]:
    return dict(line.split("==", 1) for line in lines if "==" in line)


def test_framework_and_its_requirements_are_pinned_to_installed_versions():
    pins = _pins(requirements(("sklearn.linear_model._logistic",), "sklearn"))
    assert pins["scikit-learn"] == metadata.version("scikit-learn")
    for dependency in ("numpy", "scipy", "joblib", "threadpoolctl"):
        assert pins[dependency] == metadata.version(dependency)
    assert "autolog" not in pins and "setuptools" not in pins


def test_module_names_map_to_the_distribution_that_provides_them():
    pins = _pins(requirements(("xgboost.sklearn",), "xgboost"))
    assert pins["xgboost-cpu"] == metadata.version("xgboost-cpu")  # what the extra installs
    assert "xgboost" not in pins


@pytest.mark.torch
def test_local_version_labels_are_dropped():
    import torch

    pins = _pins(requirements(("torch.nn.modules.linear",), "torch"))
    assert pins["torch"] == torch.__version__.split("+")[0]
    assert "+" not in "".join(pins.values())


def test_mlflow_comes_first_since_its_model_server_runs_in_the_environment():
    lines = requirements(("sklearn.base",), "sklearn")
    assert lines[0].split("==")[0] == "mlflow"


@pytest.mark.torch
def test_pickled_models_name_every_module_they_import():
    import torch

    features = np.random.default_rng(0).random((20, 3))
    labels = (features[:, 0] > 0.5).astype(int)
    pipeline = make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=2)).fit(features,
                                                                                         labels)
    for dumps in (pickle.dumps, cloudpickle.dumps):
        modules = pickled_modules(dumps(pipeline, protocol=pickle.DEFAULT_PROTOCOL))
        assert {"sklearn.pipeline", "sklearn.preprocessing._data", "xgboost.sklearn"} <= modules
    old_protocol = pickled_modules(pickle.dumps(LogisticRegression(), protocol=2))
    assert "sklearn.linear_model._logistic" in old_protocol
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(2, 1), buffer)
    assert "torch.nn.modules.linear" in pickled_modules(buffer.getvalue())
    assert pickled_modules(b"not a pickle") == set()


def test_environment_files_read_back():
    files = environment_files({"sklearn.base", "pandas.core.frame"}, "sklearn")
    lines = files["requirements.txt"].decode().splitlines()
    assert f"pandas=={metadata.version('pandas')}" in lines
    python_env = yaml.safe_load(files["python_env.yaml"])
    assert python_env["python"] == python_version()
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load(files["conda.yaml"])
    assert conda["dependencies"][0] == f"python={python_version()}"
    assert conda["dependencies"][2]["pip"] == lines

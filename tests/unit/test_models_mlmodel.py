"""The hand-written YAML of MLmodel and the environment files reads back exactly (PyYAML, the
reader MLflow uses), and MLmodel holds what MLflow's ``Model.load`` expects."""

from __future__ import annotations

import json

import pytest
import yaml

from autolog.models._mlmodel import mlmodel, signature_field, to_yaml, with_remote_ids

TRICKY_STRINGS = [
    "1.9", "3.11.7", "yes", "No", "null", "~", "true", "on", "0x1F", "1e5", "", " padded ",
    "a: b", "- item", "# comment", "it's", 'say "hi"', "back\\slash", "line\nbreak", "tab\tin",
    "[1, 2]", "{a: 1}", "@at", "`tick", "%pct", "&anchor", "*ref", "!tag", "|pipe", ">fold",
    "émoji 🚀", "\x07bell", "\u2028sep", "-r requirements.txt", "scikit-learn==1.9.1",
    "mlflow-artifacts:/1/models/m-abc/artifacts", "2024-05-01 12:00:00.123456",
]


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_strings_read_back_as_the_same_string(text):
    document = {"value": text, "nested": {"list": [text, {"inner": text}]}}
    assert yaml.safe_load(to_yaml(document)) == document


def test_scalars_and_empty_containers_keep_their_types():
    document = {"int": 3, "float": 1e-05, "big": 1.5e300, "neg": -2.25, "bool": True,
                "off": False, "none": None, "empty_map": {}, "empty_list": [],
                "nested": [["a", "b"], []]}
    assert yaml.safe_load(to_yaml(document)) == document


def _sample_mlmodel(run_id: str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9") -> str:
    return mlmodel(
        run_id=run_id,
        artifact_path="model",
        flavors={"python_function": {"loader_module": "mlflow.sklearn",
                                     "model_path": "model.pkl", "python_version": "3.11.7",
                                     "env": {"virtualenv": "python_env.yaml"}},
                 "sklearn": {"pickled_model": "model.pkl", "serialization_format": "pickle",
                             "sklearn_version": "1.9.1", "code": None}},
        model_uuid="9f" * 16,
        created="2024-05-01 12:00:00.123456",
        size_bytes=1234,
        signature=signature_field([{"type": "double", "name": "a", "required": True}],
                                  [{"type": "tensor",
                                    "tensor-spec": {"dtype": "int64", "shape": [-1]}}]),
        example_info={"artifact_path": "input_example.json", "type": "dataframe",
                      "pandas_orient": "split"},
    )


def test_mlmodel_has_the_fields_mlflow_reads():
    loaded = yaml.safe_load(_sample_mlmodel())
    assert loaded["run_id"] == "0a1b2c3d4e5f60718293a4b5c6d7e8f9"  # a string, not a number
    assert loaded["model_uuid"] == "9f" * 16
    assert loaded["flavors"]["python_function"]["python_version"] == "3.11.7"
    assert loaded["flavors"]["sklearn"]["sklearn_version"] == "1.9.1"
    assert loaded["flavors"]["sklearn"]["code"] is None
    assert loaded["model_size_bytes"] == 1234
    assert loaded["utc_time_created"] == "2024-05-01 12:00:00.123456"
    assert json.loads(loaded["signature"]["inputs"]) == [
        {"type": "double", "name": "a", "required": True}]
    assert loaded["signature"]["params"] is None
    assert loaded["saved_input_example_info"]["pandas_orient"] == "split"


def test_mlflow_model_load_reads_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.models import Model

    (tmp_path / "MLmodel").write_text(_sample_mlmodel())
    model = Model.load(str(tmp_path / "MLmodel"))
    assert model.run_id == "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    assert model.signature.inputs.input_names() == ["a"]
    assert set(model.flavors) == {"python_function", "sklearn"}


@pytest.mark.parametrize("remote", ["5b0c9ed2a1f04c1e9d2c41a7cbd0e3aa",
                                    "12345678901234567890123456789012"])
def test_remote_ids_replace_the_client_run_id(remote):
    client = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    updated = with_remote_ids(_sample_mlmodel(client).encode(), client, remote, "m-abc123")
    loaded = yaml.safe_load(updated)
    assert loaded["run_id"] == remote  # all digits: still read back as a string
    assert loaded["model_id"] == "m-abc123"
    assert loaded["flavors"]["sklearn"]["pickled_model"] == "model.pkl"


def test_remote_ids_leave_foreign_files_alone():
    assert with_remote_ids(b"run_id: someone-else\n", "abc", "def") is None
    assert with_remote_ids(_sample_mlmodel().encode(), "f" * 32, "def") is None

"""Signatures and input examples: MLflow's JSON formats, inferred from a few rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from autolog.models._signature import (
    example_files,
    freeze_example,
    predict_output,
    schema,
    signature,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "f64": np.array([0.5, np.nan, 2.0], dtype=np.float64),
        "f32": np.array([1, 2, 3], dtype=np.float32),
        "i64": np.array([1, 2, 3], dtype=np.int64),
        "i32": np.array([1, 2, 3], dtype=np.int32),
        "u8": np.array([1, 2, 3], dtype=np.uint8),
        "flag": [True, False, True],
        "city": ["Oslo", None, "Lima"],
        "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
    })


def test_dataframe_columns_become_named_column_specs():
    assert schema(_frame()) == [
        {"type": "double", "name": "f64", "required": True},
        {"type": "float", "name": "f32", "required": True},
        {"type": "long", "name": "i64", "required": True},
        {"type": "integer", "name": "i32", "required": True},
        {"type": "integer", "name": "u8", "required": True},
        {"type": "boolean", "name": "flag", "required": True},
        {"type": "string", "name": "city", "required": True},
        {"type": "datetime", "name": "when", "required": True},
    ]


@pytest.mark.torch
def test_arrays_and_tensors_become_tensor_specs_with_a_free_batch_dimension():
    import torch

    assert schema(np.zeros((5, 4), dtype=np.float32)) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]
    assert schema(np.zeros(5, dtype=np.int64)) == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    assert schema(torch.zeros(2, 3, 7, dtype=torch.float64)) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3, 7]}}]


def test_types_mlflow_has_no_name_for_give_no_signature():
    mixed = pd.DataFrame({"x": [1, "a", 2.5]})
    assert schema(mixed) is None
    assert schema(np.array([{"a": 1}], dtype=object)) is None
    assert signature(mixed, np.zeros(3)) == (None, None)


def test_mlflow_reads_our_schemas(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.types import Schema

    columns = Schema.from_json(json.dumps(schema(_frame())))
    assert columns.input_names() == list(_frame().columns)
    tensors = Schema.from_json(json.dumps(schema(np.zeros((2, 4), dtype=np.float32))))
    assert tensors.is_tensor_spec() and tensors.numpy_types()[0] == np.float32


@pytest.mark.torch
def test_frozen_example_is_a_private_copy_of_the_first_rows():
    import torch

    frame = pd.DataFrame({"a": np.arange(20.0)})
    array = np.arange(40.0).reshape(20, 2)
    tensor = torch.arange(20.0).reshape(10, 2)
    frozen_frame, frozen_array, frozen_tensor = (freeze_example(frame), freeze_example(array),
                                                 freeze_example(tensor))
    frame.loc[0, "a"] = -1.0
    array[0, 0] = -1.0
    tensor[0, 0] = -1.0
    assert len(frozen_frame) == 5 and frozen_frame["a"].iloc[0] == 0.0
    assert frozen_array.shape == (5, 2) and frozen_array[0, 0] == 0.0
    assert frozen_tensor.shape == (5, 2) and frozen_tensor[0, 0].item() == 0.0
    assert freeze_example([[1.0, 2.0]] * 8).shape == (5, 2)
    assert freeze_example(object()) is None
    assert freeze_example(pd.Series([1, 2], name="s")).columns.tolist() == ["s"]


def test_dataframe_example_is_split_orient_without_index_and_nan_as_null():
    files, info = example_files(freeze_example(_frame()))
    example = json.loads(files["input_example.json"])
    assert example["columns"] == list(_frame().columns)
    assert example["data"][1][0] is None and example["data"][1][6] is None
    assert example["data"][0][7].startswith("2024-01-01")
    assert info == {"artifact_path": "input_example.json", "type": "dataframe",
                    "pandas_orient": "split", "serving_input_path": "serving_input_example.json"}
    assert json.loads(files["serving_input_example.json"]) == {"dataframe_split": example}


def test_array_example_is_a_nested_list():
    files, info = example_files(np.array([[1.5, np.nan], [3.0, 4.0]]))
    assert json.loads(files["input_example.json"]) == [[1.5, None], [3.0, 4.0]]
    assert json.loads(files["serving_input_example.json"]) == {"inputs": [[1.5, None], [3.0, 4.0]]}
    assert info["type"] == "ndarray"


@pytest.mark.torch
def test_torch_output_is_computed_in_eval_mode_and_the_mode_restored():
    import torch

    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    module.train()
    before = module[1].running_mean.clone()
    output = predict_output(module, "pytorch", np.ones((5, 3), dtype=np.float32))
    assert output.shape == (5, 4)
    assert module.training  # restored
    assert torch.equal(module[1].running_mean, before)  # eval mode: statistics untouched


@pytest.mark.parametrize("make", ["booster", "classifier"])
def test_xgboost_output_for_boosters_and_sklearn_wrappers(make):
    import xgboost as xgb

    features = np.random.default_rng(0).random((30, 3))
    labels = (features[:, 0] > 0.5).astype(int)
    if make == "booster":
        model = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(features, label=labels), 2)
    else:
        model = xgb.XGBClassifier(n_estimators=2).fit(features, labels)
    output = predict_output(model, "xgboost", features[:5])
    assert output.shape == (5,)


@pytest.mark.torch
def test_a_forward_pass_for_the_signature_keeps_each_submodules_mode() -> None:
    import torch

    from autolog.models._signature import _torch_output

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model.train()
    model[1].eval()  # a frozen BatchNorm the user set up on purpose
    _torch_output(model, torch.zeros(2, 3))
    assert model.training and model[0].training and not model[1].training

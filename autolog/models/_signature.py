"""Signatures and input examples in MLflow's JSON formats.

Split in two on purpose. On the caller's thread, :func:`freeze_example` copies the first rows of
the training input (the user may change their data as soon as ``fit`` returns) and
:func:`predict_output` runs the model on them once. Everything else, inferring column and
tensor specs and writing ``input_example.json``, runs later on the writer thread from those
private copies.

Schemas follow MLflow's JSON: a DataFrame gives column specs
(``{"type": "double", "name": "age", "required": true}``), an array or tensor gives a tensor spec
(``{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}``) whose first
dimension, the batch, is variable.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from typing import Any

EXAMPLE_FILE = "input_example.json"
SERVING_EXAMPLE_FILE = "serving_input_example.json"
MAX_EXAMPLE_ROWS = 5


# -- caller's thread ------------------------------------------------------------------------
def _module_root(value: Any) -> str:
    return type(value).__module__.partition(".")[0]


def is_dataframe(value: Any) -> bool:
    return _module_root(value) == "pandas" and hasattr(value, "iloc") and hasattr(value, "columns")


def is_series(value: Any) -> bool:
    return _module_root(value) == "pandas" and hasattr(value, "iloc") and not hasattr(value,
                                                                                       "columns")


def is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def freeze_example(example: Any, rows: int = MAX_EXAMPLE_ROWS) -> Any:
    """A private copy of the first ``rows`` rows, or None for inputs we cannot slice.

    DataFrames stay DataFrames (column names and dtypes are the signature), tensors become
    CPU tensors, arrays and lists become numpy arrays.
    """
    if example is None:
        return None
    if is_dataframe(example):
        return example.iloc[:rows].copy(deep=True)
    if is_series(example):
        return example.iloc[:rows].to_frame().copy(deep=True)
    if is_tensor(example):
        return example[:rows].detach().to("cpu", copy=True)
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if hasattr(example, "toarray") and hasattr(example, "shape"):  # scipy sparse matrix
        return numpy.asarray(example[:rows].toarray())
    if isinstance(example, numpy.ndarray):
        return example[:rows].copy() if example.ndim else None
    if isinstance(example, (list, tuple)):
        array = numpy.asarray(example[:rows])
        return array if array.dtype.kind != "O" and array.ndim else None
    return None


def predict_output(model: Any, flavor: str, example: Any) -> Any:
    """The model's output on the frozen example (None where the model cannot predict)."""
    if example is None:
        return None
    if flavor == "pytorch":
        return _torch_output(model, example)
    if flavor == "xgboost":
        xgboost = sys.modules.get("xgboost")
        if xgboost is not None and isinstance(model, xgboost.Booster):
            return model.predict(xgboost.DMatrix(example, nthread=1))  # 5 rows: no thread pool
    predict = getattr(model, "predict", None)
    return predict(example) if callable(predict) else None


def _torch_output(module: Any, example: Any) -> Any:
    """One forward pass in eval mode without gradients; the module's mode is restored."""
    import torch

    batch = example if is_tensor(example) else torch.as_tensor(_as_array(example))
    try:
        parameter = next(module.parameters())
        batch = batch.to(parameter.device)
    except (StopIteration, AttributeError, TypeError):
        pass
    # Each submodule's own mode is restored: module.train(flag) would also flip a frozen
    # backbone or a BatchNorm the user had left in eval mode.
    modes = [(sub, sub.training) for sub in module.modules()] if hasattr(module, "modules") else []
    try:
        module.eval()  # dropout off, batch-norm statistics untouched
        with torch.no_grad():
            output = module(batch)
    finally:
        for sub, training in modes:
            sub.training = training
    return output.detach().cpu().numpy() if is_tensor(output) else None


def _as_array(example: Any) -> Any:
    return example.to_numpy() if is_dataframe(example) else example


# -- writer thread --------------------------------------------------------------------------
def schema(data: Any) -> list[dict[str, Any]] | None:
    """MLflow schema specs for ``data``, or None when a type has no MLflow equivalent."""
    if data is None:
        return None
    if is_dataframe(data):
        specs = []
        for name in data.columns:
            column_type = _column_type(data[name])
            if column_type is None:
                return None
            specs.append({"type": column_type, "name": str(name), "required": True})
        return specs
    if is_series(data):
        column_type = _column_type(data)
        if column_type is None:
            return None
        spec: dict[str, Any] = {"type": column_type}
        if data.name is not None:
            spec["name"] = str(data.name)
        spec["required"] = True
        return [spec]
    if is_tensor(data):
        data = data.numpy()
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if isinstance(data, (list, tuple)):
        data = numpy.asarray(data)
    if not isinstance(data, numpy.ndarray) or data.dtype.kind in "OV" or data.ndim == 0:
        return None
    shape = [-1, *(int(size) for size in data.shape[1:])]
    return [{"type": "tensor", "tensor-spec": {"dtype": str(data.dtype), "shape": shape}}]


def _column_type(column: Any) -> str | None:
    """MLflow's data type for a pandas column (numpy or pandas extension dtype)."""
    dtype = column.dtype
    kind = getattr(dtype, "kind", "O")
    itemsize = getattr(dtype, "itemsize", 8)
    if kind == "b":
        return "boolean"
    if kind in "iu":
        if itemsize < 4 or (kind == "i" and itemsize == 4):
            return "integer"
        if itemsize < 8 or (kind == "i" and itemsize == 8):
            return "long"
        return None  # uint64 has no MLflow type
    if kind == "f":
        return "float" if itemsize <= 4 else "double"
    if kind == "M":
        return "datetime"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    values = [v for v in column.tolist() if v is not None and not _is_nan(v)]
    if values and all(isinstance(v, str) for v in values):
        return "string"
    if values and all(isinstance(v, bytes) for v in values):
        return "binary"
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    return None


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def signature(example: Any, output: Any) -> tuple[list[dict[str, Any]] | None,
                                                   list[dict[str, Any]] | None]:
    """(inputs, outputs) schemas; no inputs means no signature at all."""
    inputs = schema(example)
    return inputs, (schema(output) if inputs is not None else None)


def example_files(example: Any) -> tuple[dict[str, bytes], dict[str, Any]] | None:
    """``input_example.json`` and ``serving_input_example.json`` plus the MLmodel info block."""
    if example is None:
        return None
    if is_dataframe(example):
        split: dict[str, Any] = {}
        columns = [str(c) if not isinstance(c, int) else c for c in example.columns]
        if columns != list(range(len(columns))):  # MLflow leaves default column labels out
            split["columns"] = columns
        split["data"] = _jsonable(example.to_numpy(dtype=object).tolist())
        info = {"artifact_path": EXAMPLE_FILE, "type": "dataframe", "pandas_orient": "split",
                "serving_input_path": SERVING_EXAMPLE_FILE}
        serving = {"dataframe_split": split}
        payload: Any = split
    else:
        if is_tensor(example):
            example = example.numpy()
        tolist = getattr(example, "tolist", None)
        if tolist is None:
            return None
        payload = tolist() if _finite_numbers(example) else _jsonable(tolist())
        info = {"artifact_path": EXAMPLE_FILE, "type": "ndarray",
                "serving_input_path": SERVING_EXAMPLE_FILE}
        serving = {"inputs": payload}
    # Indented at the top level only: json's C encoder cannot indent, and the Python one cost
    # ~0.1 ms per model on the writer thread for a few rows of numbers.
    (key, value), = serving.items()
    serving_text = f'{{\n  "{key}": {json.dumps(value, allow_nan=False)}\n}}'
    files = {
        EXAMPLE_FILE: json.dumps(payload, allow_nan=False).encode(),
        SERVING_EXAMPLE_FILE: serving_text.encode(),
    }
    return files, info


def _finite_numbers(array: Any) -> bool:
    """A numpy array of booleans, integers or finite floats: its ``tolist()`` is JSON as is."""
    kind = getattr(getattr(array, "dtype", None), "kind", None)
    if kind in ("b", "i", "u"):
        return True
    if kind != "f":
        return False
    import numpy as np

    return bool(np.isfinite(array).all())


def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN becomes null (as MLflow writes it), numpy scalars become numbers."""
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if callable(item):
        return _jsonable(item())
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        return isoformat()
    return str(value)

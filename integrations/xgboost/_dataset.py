"""Dataset tags for XGBoost's own data containers, named as every integration names them.

In-memory training data (the scikit-learn API's ``X``, ``y``) goes through the shared
:func:`integrations._dataset.describe_dataset`. A ``DMatrix`` keeps its feature values inside
XGBoost, and reading them back costs more than a boosting round, so its fingerprint covers
what XGBoost hands out cheaply: shape, feature names and types, labels and weights
(``dataset.fingerprint_method`` = ``labels``). Two DMatrix that differ only in feature values
therefore share a fingerprint; their shape, names or labels almost always differ as well.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from integrations._dataset import describe_dataset

#: Labels hashed at most (evenly spaced beyond): ~4 MB, about 3 ms of hashing.
MAX_LABELS = 1_000_000


def dmatrix_tags(dmatrix: Any) -> dict[str, str]:
    """``dataset.*`` tags for a ``DMatrix`` (or ``QuantileDMatrix``) used for training."""
    rows, columns = int(dmatrix.num_row()), int(dmatrix.num_col())
    hasher = hashlib.sha256(usedforsecurity=False)
    hasher.update(f"dmatrix:{rows}x{columns}".encode())
    hasher.update(repr(dmatrix.feature_names).encode())
    hasher.update(repr(dmatrix.feature_types).encode())
    for values in (dmatrix.get_label(), dmatrix.get_weight()):
        _update(hasher, values)
    cls = type(dmatrix)
    return {
        "dataset.kind": f"xgboost.{cls.__name__}",
        "dataset.n_samples": str(rows),
        "dataset.n_features": str(columns),
        "dataset.fingerprint": hasher.hexdigest()[:16],
        "dataset.fingerprint_method": "labels",
    }


def array_tags(features: Any, labels: Any = None) -> dict[str, str]:
    """``dataset.*`` tags for the ``X``, ``y`` of a scikit-learn style ``fit``."""
    return describe_dataset(features, labels).tags()


def _update(hasher: Any, values: np.ndarray) -> None:
    if values.shape[0] > MAX_LABELS:
        values = values[np.linspace(0, values.shape[0] - 1, MAX_LABELS).astype(np.intp)]
    array = np.ascontiguousarray(values)
    hasher.update(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(array.reshape(-1).view(np.uint8).data)

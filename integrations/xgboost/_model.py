"""The trained booster or estimator as an MLflow model in the run (``model/``).

``autolog.models.log_model`` does the work: on this thread it only copies the booster's bytes
(``save_raw``, a C call: well under a millisecond for a few hundred small trees), the first rows
of the input and the model's output on them; files, environment pins and the upload follow on
autolog's threads.

The input example is the first rows of what the model was trained on: the scikit-learn API's
``X`` as given; for ``xgboost.train`` the first rows read back from the ``DMatrix`` (XGBoost
keeps only the present values, as float32: missing ones come back as NaN, and the example is
float64 so that MLflow's signature check accepts the user's float64 or float32 inputs alike;
with feature names, a DataFrame whose integer and boolean columns keep their kind).
A ``QuantileDMatrix`` holds bin indices, not values, so it gives no example.

XGBoost's C calls made here (reading the rows, building the 5-row ``DMatrix`` the signature's
output is predicted on) run with XGBoost's thread-local ``nthread=1``: on a handful of rows
threads only cost, and on a busy machine an OpenMP barrier waiting for a descheduled worker
made them take 6-27 ms instead of well under one.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

logger = logging.getLogger("autolog.integrations.xgboost")

EXAMPLE_ROWS = 5
#: XGBoost's feature types (as set from a DataFrame's dtypes) that are not floats.
_KINDS = {"int": "int64", "i": "bool"}


def dmatrix_example(dmatrix: Any, rows: int = EXAMPLE_ROWS) -> Any:
    """The first ``rows`` rows of a ``DMatrix`` as float64 (a DataFrame when it has feature
    names and pandas is loaded already), or None when they cannot be read back as values."""
    import xgboost

    if type(dmatrix) is not xgboost.DMatrix:  # QuantileDMatrix & co.: quantized, not values
        return None
    types = dmatrix.feature_types
    if types is not None and any(kind == "c" for kind in types):
        return None  # categories: codes, not the user's values
    count = min(rows, int(dmatrix.num_row()))
    if count == 0:
        return None
    try:
        with xgboost.config_context(nthread=1):
            head = dmatrix.slice(list(range(count)), allow_groups=True).get_data()
    except xgboost.core.XGBoostError as error:  # e.g. external-memory data
        logger.debug("no input example: the DMatrix cannot be sliced (%s)", error)
        return None
    dense = np.full(head.shape, np.nan, dtype=np.float64)
    row_of = np.repeat(np.arange(head.shape[0]), np.diff(head.indptr).astype(np.intp))
    dense[row_of, head.indices] = head.data
    names = dmatrix.feature_names
    pandas = sys.modules.get("pandas")
    if names is None or pandas is None:
        return dense
    frame = pandas.DataFrame(dense, columns=list(names))
    # Integer and boolean columns keep their kind: MLflow refuses int64 data for a double column.
    missing = np.isnan(dense).any(axis=0)
    kinds = {name: _KINDS[kind] for name, kind, absent in zip(names, types or (), missing,
                                                             strict=False)
             if kind in _KINDS and not absent}
    return frame.astype(kinds) if kinds else frame


def log_trained_model(run: Any, model: Any, options: Any, *, example: Any, ok: bool) -> None:
    """Log ``model`` (a ``Booster`` or an ``XGBModel``) into ``run``; after a failed training,
    no model, only the logged model marked failed so the server never shows it pending."""
    import xgboost

    from autolog.models import log_model

    with xgboost.config_context(nthread=1):  # this thread only; the user's setting comes back
        log_model(run, model, flavor="xgboost", input_example=example,
                  registered_model_name=options.registered_model_name,
                  max_model_mb=options.max_model_mb, training_failed=not ok)

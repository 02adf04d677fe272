"""Shape and fingerprint of a training set, computed without copying it (small numpy inputs
excepted, see :func:`describe_dataset_later`).

Any integration that trains on in-memory data (scikit-learn, XGBoost's sklearn wrappers) tags
its runs with the result of :func:`describe_dataset`, so two runs can be compared on "same data
or not" at a glance::

    info = describe_dataset(X, y)
    run.set_tags(info.tags())   # dataset.n_samples, dataset.n_features, dataset.fingerprint, ...

Why not hash everything the simple way: ``np.asarray(X).tobytes()`` copies the whole training
set, which is exactly the cost (time and peak memory) this project refuses to pay per fit. So:

- numpy arrays (and pandas/polars numeric columns, scipy sparse buffers) are hashed through
  their own buffers; an array that is not C-contiguous is hashed a chunk of rows at a time,
  so at most one chunk is ever copied;
- inputs above ``full_hash_bytes`` are *sampled*: ``sample_rows`` evenly spaced rows (always
  the first and the last) plus the shape and dtypes. A sampled fingerprint tells datasets apart
  in practice but can miss a change confined to rows it did not read; the tag
  ``dataset.fingerprint_method`` says which kind a run holds;
- text and object columns are hashed from their string form, row-sampled the same way;
- a numpy input of at most ``DEFER_BYTES`` (1 MB) may instead be copied, which costs less than
  hashing it, and hashed by autolog's writer thread (:func:`describe_dataset_later`).

Framework-neutral: it imports numpy only, and pandas / polars / scipy only where the input is
one of theirs (recognized by type module, so nothing is imported to check). Never raises for an
input it does not know: the fingerprint is then None and the shape is whatever ``len`` /
``shape`` say.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("autolog.integrations")

#: Inputs up to this many bytes are hashed whole (sha256 runs at ~1.5 GB/s: ~3 ms at the cap).
FULL_HASH_BYTES = 4 * 1024 * 1024
#: Rows read from inputs above the cap.
SAMPLE_ROWS = 1024
#: Bytes hashed per update of a non-contiguous array (the most ever copied at once).
_CHUNK_BYTES = 1024 * 1024
#: numpy inputs up to this size are fingerprinted on autolog's writer thread, from a copy made
#: on the caller's (a memcpy: ~3 us for 60 KB, against ~40 us of sha256, which the writer runs
#: with the GIL released). Larger inputs are hashed in place, where they are.
DEFER_BYTES = 1024 * 1024
#: Copies waiting for the writer, at most; a fit that would pass it hashes in place.
_PENDING_CAP = 64 * 1024 * 1024
_pending_bytes = 0
_pending_lock = threading.Lock()


@dataclass(frozen=True)
class DatasetInfo:
    """What a run records about its training data."""

    n_samples: int | None
    n_features: int | None
    fingerprint: str | None  # 16 hex digits, or None for an input of unknown kind
    method: str  # "full", "sampled:<rows>", or "none"
    kind: str  # "ndarray", "pandas.DataFrame", "scipy.sparse.csr_matrix", "list", ...

    def tags(self, prefix: str = "dataset.") -> dict[str, str]:
        tags = {f"{prefix}kind": self.kind, f"{prefix}fingerprint_method": self.method}
        if self.n_samples is not None:
            tags[f"{prefix}n_samples"] = str(self.n_samples)
        if self.n_features is not None:
            tags[f"{prefix}n_features"] = str(self.n_features)
        if self.fingerprint is not None:
            tags[f"{prefix}fingerprint"] = self.fingerprint
        return tags


def describe_dataset(X: Any, y: Any = None, *, full_hash_bytes: int = FULL_HASH_BYTES,
                     sample_rows: int = SAMPLE_ROWS) -> DatasetInfo:
    """Shape and fingerprint of ``X`` (and ``y`` when given) without copying either.

    ``y`` joins the fingerprint (same features, other labels → another fingerprint) but not
    the shape. Both are sampled the same way when the total is above ``full_hash_bytes``.
    """
    hasher = hashlib.sha256(usedforsecurity=False)
    kind = _kind(X)
    n_samples, n_features = _shape(X)
    rows = None
    try:
        sampled = _nbytes(X) + (_nbytes(y) if y is not None else 0) > full_hash_bytes
        rows = _sample_indices(n_samples, sample_rows) if sampled and n_samples else None
        ok = _feed(hasher, X, rows)
        if ok and y is not None:
            hasher.update(b"|y|")
            y_rows = _sample_indices(_shape(y)[0], sample_rows) if sampled else None
            ok = _feed(hasher, y, y_rows)
    except Exception:  # an input of a known kind holding something unexpected
        logger.debug("no fingerprint for this %s", kind, exc_info=True)
        ok = False
    if not ok:
        return DatasetInfo(n_samples, n_features, None, "none", kind)
    method = f"sampled:{len(rows)}" if rows is not None else "full"
    return DatasetInfo(n_samples, n_features, hasher.hexdigest()[:16], method, kind)


def describe_dataset_later(X: Any, y: Any = None
                           ) -> tuple[dict[str, str], Callable[[], dict[str, str]]] | None:
    """For a small numpy ``X`` (and ``y``): the tags known now (kind, shape, method) and a
    build that returns the fingerprint tag, computed from copies taken now, whatever happens
    to the caller's arrays meanwhile. None for other inputs: use :func:`describe_dataset`."""
    global _pending_bytes
    if not _copyable(X) or (y is not None and not _copyable(y)):
        return None
    size = X.nbytes + (y.nbytes if y is not None else 0)
    if size > min(DEFER_BYTES, FULL_HASH_BYTES):
        return None
    with _pending_lock:
        if _pending_bytes + size > _PENDING_CAP:
            return None
        _pending_bytes += size
    X_copy = X.copy(order="K")
    y_copy = y.copy(order="K") if y is not None else None

    def fingerprint() -> dict[str, str]:
        global _pending_bytes
        try:
            info = describe_dataset(X_copy, y_copy)
        finally:
            with _pending_lock:
                _pending_bytes -= size
        return {"dataset.fingerprint": info.fingerprint} if info.fingerprint else {}

    n_samples, n_features = _shape(X)
    return DatasetInfo(n_samples, n_features, None, "full", _kind(X)).tags(), fingerprint


def _copyable(data: Any) -> bool:
    np = sys.modules.get("numpy")  # not imported for an input that cannot be numpy's
    return np is not None and type(data) is np.ndarray and not data.dtype.hasobject


# -- what the input is ----------------------------------------------------------------------
def _kind(data: Any) -> str:
    cls = type(data)
    module = cls.__module__.partition(".")[0]
    if module in ("numpy", "builtins"):
        return cls.__name__
    if cls.__module__.startswith("scipy.sparse"):
        return f"scipy.sparse.{cls.__name__}"
    return f"{module}.{cls.__name__}"


def _is(data: Any, top_module: str) -> bool:
    return type(data).__module__.partition(".")[0] == top_module


def _shape(data: Any) -> tuple[int | None, int | None]:
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and shape and all(isinstance(n, int) for n in shape):
        return shape[0], (shape[1] if len(shape) > 1 else 1)
    try:
        n_samples = len(data)
    except Exception:  # no length (a generator), or a broken __len__
        return None, None
    try:
        first = data[0]
        n_features = len(first) if not isinstance(first, (str, bytes)) else 1
    except Exception:  # not indexable by position, or rows without a length
        n_features = 1 if n_samples else None
    return n_samples, n_features


def _nbytes(data: Any) -> int:
    nbytes = getattr(data, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if _is(data, "scipy"):
        return sum(getattr(getattr(data, name, None), "nbytes", 0)
                   for name in ("data", "indices", "indptr", "row", "col"))
    if _is(data, "pandas"):
        try:
            return int(data.memory_usage(index=False, deep=False).sum()) \
                if hasattr(data, "columns") else int(data.memory_usage(index=False))
        except Exception:
            return 0
    if _is(data, "polars"):
        try:
            return int(data.estimated_size())
        except Exception:
            return 0
    try:
        return len(data) * 8 * max(1, _shape(data)[1] or 1)
    except TypeError:
        return 0


def _sample_indices(n: int | None, count: int) -> Any:
    import numpy as np

    if not n or n <= count:
        return None
    return np.unique(np.linspace(0, n - 1, count).round().astype(np.intp))


# -- hashing --------------------------------------------------------------------------------
def _feed(hasher: Any, data: Any, rows: Any) -> bool:
    """Hash ``data`` (only ``rows`` of it when given); False for an input of unknown kind."""
    import numpy as np

    hasher.update(repr(_shape(data)).encode())
    if isinstance(data, np.ndarray):
        _feed_array(hasher, data, rows)
        return True
    if _is(data, "scipy") and hasattr(data, "tocsr"):
        return _feed_sparse(hasher, data, rows)
    if _is(data, "pandas"):
        return _feed_pandas(hasher, data, rows)
    if _is(data, "polars"):
        return _feed_polars(hasher, data, rows)
    if isinstance(data, (list, tuple)):
        picked = data if rows is None else [data[i] for i in rows]
        hasher.update(repr(picked).encode("utf-8", "surrogatepass"))
        return True
    return False


def _feed_array(hasher: Any, array: Any, rows: Any) -> None:
    import numpy as np

    hasher.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype.hasobject:
        picked = array if rows is None else array[rows]
        hasher.update(repr(picked.tolist()).encode("utf-8", "surrogatepass"))
        return
    if rows is not None:
        hasher.update(np.ascontiguousarray(array[rows]).data)
        return
    if array.ndim == 0:
        hasher.update(array.tobytes())
        return
    if array.flags.c_contiguous:
        hasher.update(array.reshape(-1).view(np.uint8).data)
        return
    # Fortran-ordered or strided: hashed in C order a chunk of rows at a time, so the same
    # values give the same fingerprint whatever the layout, and at most a chunk is copied.
    row_bytes = max(1, array[:1].nbytes)
    chunk_rows = max(1, _CHUNK_BYTES // row_bytes)
    for start in range(0, array.shape[0], chunk_rows):
        hasher.update(np.ascontiguousarray(array[start:start + chunk_rows]).data)


def _feed_sparse(hasher: Any, matrix: Any, rows: Any) -> bool:
    import numpy as np

    fmt = getattr(matrix, "format", "")
    if fmt not in ("csr", "csc", "coo"):
        return False  # other formats would need a conversion, i.e. a copy
    hasher.update(fmt.encode())
    if rows is not None and fmt == "csr":
        matrix = matrix[rows]  # a small matrix of the sampled rows
    for name in ("data", "indices", "indptr", "row", "col"):
        part = getattr(matrix, name, None)
        if isinstance(part, np.ndarray):
            if rows is not None and fmt != "csr":
                part = part[_sample_indices(part.shape[0], len(rows))] \
                    if part.shape[0] > len(rows) else part
            _feed_array(hasher, part, None)
    return True


def _feed_pandas(hasher: Any, frame: Any, rows: Any) -> bool:
    columns = [(name, frame[name]) for name in frame.columns] if hasattr(frame, "columns") \
        else [(getattr(frame, "name", None), frame)]
    for name, column in columns:
        hasher.update(f"{name!r}:{column.dtype}".encode())
        picked = column if rows is None else column.iloc[rows]
        _feed_column(hasher, picked.to_numpy(copy=False) if _numeric(picked.dtype)
                     else None, picked)
    return True


def _feed_polars(hasher: Any, frame: Any, rows: Any) -> bool:
    columns = frame.get_columns() if hasattr(frame, "get_columns") else [frame]
    for column in columns:
        hasher.update(f"{column.name!r}:{column.dtype}".encode())
        picked = column if rows is None else column.gather(rows)
        values = None
        if column.dtype.is_numeric() and picked.null_count() == 0:
            values = picked.to_numpy()  # zero-copy for a numeric column without nulls
        _feed_column(hasher, values, picked)
    return True


def _feed_column(hasher: Any, values: Any, column: Any) -> None:
    if values is not None:
        _feed_array(hasher, values, None)
    else:  # text, categories, nullable types: their string form, row by row
        hasher.update(repr(column.to_list()).encode("utf-8", "surrogatepass"))


def _numeric(dtype: Any) -> bool:
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind in "biufcmM"

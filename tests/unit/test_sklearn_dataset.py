"""The dataset fingerprint (integrations/_dataset.py) used by the sklearn integration."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from integrations._dataset import describe_dataset, describe_dataset_later


def _data(seed: int = 0, rows: int = 200, columns: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, columns))


def test_same_values_same_fingerprint_whatever_the_layout() -> None:
    X = _data()
    y = np.arange(200) % 2
    reference = describe_dataset(X, y)
    assert reference.n_samples == 200 and reference.n_features == 5
    assert reference.method == "full" and len(reference.fingerprint) == 16
    assert describe_dataset(X.copy(), y.copy()).fingerprint == reference.fingerprint
    assert describe_dataset(np.asfortranarray(X), y).fingerprint == reference.fingerprint
    wide = np.zeros((200, 10))
    wide[:, ::2] = X
    assert describe_dataset(wide[:, ::2], y).fingerprint == reference.fingerprint


def test_any_change_of_values_labels_or_shape_changes_it() -> None:
    X, y = _data(), np.arange(200) % 2
    reference = describe_dataset(X, y).fingerprint
    changed = X.copy()
    changed[123, 4] += 1e-9
    assert describe_dataset(changed, y).fingerprint != reference
    assert describe_dataset(X, 1 - y).fingerprint != reference
    assert describe_dataset(X).fingerprint != reference
    assert describe_dataset(X.reshape(100, 10), y).fingerprint != reference


def test_large_inputs_are_sampled_and_never_copied() -> None:
    X = _data(rows=200_000, columns=20)  # 32 MB
    tracemalloc.start()
    try:
        info = describe_dataset(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.method == "sampled:1024" and info.n_samples == 200_000
    assert peak < X.nbytes / 50
    assert describe_dataset(X).fingerprint == info.fingerprint
    changed = X.copy()
    changed[0, 0] += 1.0  # the first row is always sampled
    assert describe_dataset(changed).fingerprint != info.fingerprint


def test_a_full_hash_of_a_strided_array_copies_a_chunk_at_most() -> None:
    X = np.asfortranarray(_data(rows=100_000, columns=30))  # 24 MB, not C-contiguous
    tracemalloc.start()
    try:
        describe_dataset(X, full_hash_bytes=10**9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_dataframes_sparse_lists_and_text() -> None:
    X = _data(rows=50, columns=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(city=["x", "y"] * 25)
    info = describe_dataset(frame, pd.Series(["yes", "no"] * 25))
    assert (info.n_samples, info.n_features, info.kind) == (50, 4, "pandas.DataFrame")
    assert info.fingerprint and info.method == "full"
    renamed = frame.rename(columns={"a": "z"})
    assert describe_dataset(renamed).fingerprint != describe_dataset(frame).fingerprint

    import polars as pl  # a test dependency (pyproject's "test" extra)

    polars_info = describe_dataset(pl.from_pandas(frame))
    assert (polars_info.n_samples, polars_info.n_features) == (50, 4)
    assert polars_info.fingerprint and polars_info.kind == "polars.DataFrame"

    sparse = sp.random(300, 40, density=0.05, format="csr", random_state=0)
    sparse_info = describe_dataset(sparse)
    assert (sparse_info.n_samples, sparse_info.n_features) == (300, 40)
    assert sparse_info.fingerprint and sparse_info.kind.startswith("scipy.sparse")
    assert describe_dataset(sparse.copy()).fingerprint == sparse_info.fingerprint

    listed = describe_dataset([[1, 2], [3, 4], [5, 6]], ["a", "b", "a"])
    assert (listed.n_samples, listed.n_features, listed.kind) == (3, 2, "list")
    assert listed.fingerprint


def test_unknown_inputs_are_described_without_being_consumed() -> None:
    documents = (text for text in ["a b", "b c"])
    info = describe_dataset(documents)
    assert info.fingerprint is None and info.method == "none"
    assert list(documents) == ["a b", "b c"]  # the generator was not touched


def test_tags() -> None:
    tags = describe_dataset(_data()).tags()
    assert tags["dataset.n_samples"] == "200" and tags["dataset.n_features"] == "5"
    assert tags["dataset.fingerprint_method"] == "full" and len(tags["dataset.fingerprint"]) == 16


@pytest.mark.parametrize("dtype", [np.float32, np.int64, object])
def test_dtypes(dtype: type) -> None:
    values = (np.arange(60).reshape(20, 3) % 7).astype(dtype)
    assert describe_dataset(values).fingerprint == describe_dataset(values.copy()).fingerprint


# -- fingerprints computed later, from copies ---------------------------------------------------
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("with_y", [True, False])
def test_a_later_fingerprint_is_the_one_computed_now(order: str, with_y: bool) -> None:
    rng = np.random.default_rng(0)
    X = np.asarray(rng.random((300, 7)), order=order)
    y = rng.integers(0, 3, 300) if with_y else None
    expected = describe_dataset(X, y)
    known, build = describe_dataset_later(X, y)
    assert known == {key: value for key, value in expected.tags().items()
                     if key != "dataset.fingerprint"}
    X[:] = 0.0  # the user's code goes on with its arrays before the writer gets there
    if y is not None:
        y[:] = 0
    assert build() == {"dataset.fingerprint": expected.fingerprint}


def test_only_small_numpy_inputs_are_fingerprinted_later(monkeypatch) -> None:
    import integrations._dataset as dataset

    small = np.zeros((10, 3))
    assert describe_dataset_later(small.tolist()) is None
    assert describe_dataset_later(small.astype(object)) is None
    assert describe_dataset_later(small, [0] * 10) is None
    assert describe_dataset_later(np.zeros((dataset.DEFER_BYTES // 8 + 1, 1))) is None
    monkeypatch.setattr(dataset, "_PENDING_CAP", small.nbytes * 2)
    monkeypatch.setattr(dataset, "_pending_bytes", 0)
    builds = [describe_dataset_later(small)[1], describe_dataset_later(small)[1]]
    assert describe_dataset_later(small) is None  # two copies wait: the next one hashes now
    builds.pop()()
    later = describe_dataset_later(small)
    assert later is not None  # a built copy frees its room
    for build in (*builds, later[1]):
        build()
    assert dataset._pending_bytes == 0

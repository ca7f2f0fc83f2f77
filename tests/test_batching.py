"""Mini-batches: every row once per epoch, normalised, sparse data densified per batch."""

import tracemalloc

import numpy as np
import scipy.sparse as sp
import torch

from skaae import AdversarialAutoencoder
from skaae._batching import BatchSource

CPU = torch.device("cpu")


def _rows(batches):
    return torch.cat([batch.x for batch in batches]).numpy()


def _sorted_rows(A):
    return A[np.lexsort(A.T[::-1])]


def test_dense_batches_cover_every_row_once():
    X = np.random.RandomState(0).normal(size=(50, 3))
    source = BatchSource(X, CPU)
    batches = list(source.batches(16, torch.Generator().manual_seed(0)))
    assert [len(b.x) for b in batches] == [16, 16, 16, 2]
    shuffled = _rows(batches)
    assert not np.allclose(shuffled, X.astype(np.float32))
    np.testing.assert_array_equal(_sorted_rows(shuffled), _sorted_rows(X.astype(np.float32)))
    # No generator: the rows in order.
    np.testing.assert_array_equal(_rows(source.batches(16)), X.astype(np.float32))


def test_batches_are_normalised():
    X = np.random.RandomState(0).normal(5.0, 3.0, size=(40, 4))
    offset, scale = X.mean(axis=0), X.std(axis=0)
    for data in (X, sp.csr_matrix(X)):
        rows = _rows(BatchSource(data, CPU, offset, scale).batches(7))
        np.testing.assert_allclose(rows, (X - offset) / scale, rtol=1e-5, atol=1e-5)


def test_sparse_batches_match_dense_batches():
    X = sp.random(60, 5, density=0.3, format="csr", random_state=0)
    dense = BatchSource(X.toarray(), CPU)
    sparse = BatchSource(X, CPU)
    for a, b in zip(
        dense.batches(16, torch.Generator().manual_seed(1)),
        sparse.batches(16, torch.Generator().manual_seed(1)),
        strict=True,
    ):
        # The same rows in each batch (the sparse path sorts them within the batch).
        np.testing.assert_array_equal(_sorted_rows(a.x.numpy()), _sorted_rows(b.x.numpy()))


def test_sparse_input_is_never_densified_whole():
    # Dense, this matrix would take 160 MB (float64); fitting must stay far below.
    X = sp.random(20000, 1000, density=0.001, format="csr", random_state=0, dtype=np.float64)
    aae = AdversarialAutoencoder(
        hidden_layer_sizes=(8,),
        discriminator_layer_sizes=(8,),
        batch_size=256,
        max_iter=1,
        device="cpu",
        random_state=0,
    )
    aae.fit(X[:300])  # first-use imports and allocations of torch are not the data's
    tracemalloc.start()
    try:
        aae.fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30e6
    assert aae.transform(X[:10]).shape == (10, 2)

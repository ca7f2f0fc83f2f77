"""Nearest neighbours among the training rows, for the trainer's neighbourhood term.

Dense rows may be searched in their top principal components instead of
all their features (``n_components``; found by a randomised range finder,
Halko et al., 2011): the distances there leave out the data's
least-varying directions, which carry mostly noise, and the search costs
a fraction of one in all the features. Every model searches data of at
least 100 features in ``SEARCH_COMPONENTS`` components
(:func:`search_components`). Measured on the first 10,000 MNIST training
images (93.7 % of each image's 5 nearest share its class in 50
components, 92.6 % in the 784 pixels), in components against in pixels:

- ``AAEClassifier``, 100 labels, 60 epochs, test error for seeds 0-3:
  8.6 / 9.9 / 9.0 / 8.8 % against 12.3 / 10.9 / 11.4 / 10.4 %;
- ``AAEClustering(16)``, 40 epochs, seeds 0-5 (an earlier projection):
  test cluster accuracy 0.80 on average against 0.79;
- the 2-D map of ``AdversarialAutoencoder`` (defaults, 75 epochs): 5-NN
  accuracy of the test codes 0.804 / 0.806 for seeds 0 / 1 against
  0.795 / 0.769 (an earlier session: 0.77 in components for seed 2), with
  the same prior match (energy distance of the last epoch's codes
  0.020 / 0.020 against 0.016 / 0.013);
- ``AAEEmbedding`` with 100 labels (75 epochs, 5-NN accuracy of the 2-D
  test embedding): 0.883 against 0.859 for seed 0 (an earlier session:
  0.891 / 0.875 against 0.859 / 0.870 for seeds 0 / 1);
- the unsupervised ``AAEEmbedding`` (spectral start, 75 epochs): 0.871
  against 0.856 for seed 0; seed 1 0.877 after 25 epochs (that run was
  stopped there) against 0.850 after 75 in pixels. (Before the spectral
  start the components had measured worse there: 0.753 / 0.773 / 0.811 /
  0.803 against 0.792 / (not run) / 0.808 / 0.841 for seeds 0-3.)

The search is exact (in the space it runs in) up to ``GROUP_ROWS`` rows. Larger data is dealt at
random into about equal groups of at most that many rows, and each row's
neighbours are searched in its own group, so that the cost grows as
O(n * GROUP_ROWS) instead of O(n^2). Measured on the 60,000 MNIST training
images: 95.9 % of each image's 5 nearest share its class when searched among
all of them, 93.2 % within groups of 16,384, hence groups as large as 65,536.
The search is one matrix product per block of rows, so it runs near the
machine's matmul peak: in the 784 pixels, 5 s for 20,000 MNIST images and
58 s for all 60,000 on 2 cores; in 50 components, 1 s and 16 s.
"""

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["GROUP_ROWS", "SEARCH_COMPONENTS", "nearest_neighbors", "search_components"]

GROUP_ROWS = 65536
"""Neighbours are searched within random groups of at most this many rows."""

SEARCH_COMPONENTS = 50
"""Principal components the neighbour search of the training runs in (dense data only)."""


def search_components(n_features):
    """The principal components to search data of ``n_features`` in, None for all of them.

    ``SEARCH_COMPONENTS`` from twice as many features on; narrower data is
    searched as it is, since dropping a few of its directions saves little
    and changes its neighbours by chance (digits' 64 features: the
    label-regularised 2-D map's 5-NN accuracy was 0.931 in 50 components
    against 0.960 in the 64, seed 0).
    """
    return SEARCH_COMPONENTS if n_features >= 2 * SEARCH_COMPONENTS else None


# The range finder's extra columns and power iterations (Halko et al., 2011):
# enough for the top components of data whose spectrum decays as slowly as
# MNIST's; its start is drawn from a generator of its own with a fixed seed,
# so that the neighbours are a function of the data alone.
_RANGE_OVERSAMPLING = 20
_RANGE_POWER_ITERATIONS = 4

# Query rows per distance block of the dense search (a 256 x 65536 float32
# block is 64 MiB) and of the sparse one (64 rows: 16 MiB, plus 32 MiB of
# indices).
_QUERY_ROWS = 256
_SPARSE_QUERY_ROWS = 64


def nearest_neighbors(X, n_neighbors, generator=None, n_components=None, cosine=False):
    """Indices of each row's nearest other rows (Euclidean), searched within groups.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features) or scipy sparse matrix
        The rows; a tensor is searched on its own device.
    n_neighbors : int
        Neighbours per row. Fewer are returned when a group has fewer other
        rows (a lone row is its own neighbour).
    generator : torch.Generator or None, default=None
        CPU generator that deals the rows into groups; None keeps them in
        order (only matters beyond ``GROUP_ROWS`` rows).
    n_components : int or None, default=None
        Search a tensor with more features in its top ``n_components``
        principal components (of all its rows); None, or a sparse ``X``:
        in all the features.
    cosine : bool, default=False
        Search by the angle between the rows about their mean: the
        Euclidean search among the centred rows (or their principal
        components) scaled to unit length. A sparse ``X`` is not centred
        (that would make it dense): its rows' own angles.

    Returns
    -------
    neighbors : torch.LongTensor of shape (n_samples, k)
        Row indices, nearest first, on the device of ``X`` (CPU for sparse).
    """
    if not isinstance(X, torch.Tensor):
        X = sp.csr_matrix(X)  # any sparse format: rows are gathered from CSR
        if cosine:
            lengths = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
            X = sp.csr_matrix(sp.diags(1.0 / np.maximum(lengths, 1e-12)) @ X)
    else:
        if n_components is not None and X.shape[1] > n_components:
            X = principal_components(X, n_components)  # centred
        elif cosine:
            X = X - X.mean(0)
        if cosine:
            X = X / X.norm(dim=1, keepdim=True).clamp(min=1e-12)
    n_samples = X.shape[0]
    n_groups = max(1, -(-n_samples // GROUP_ROWS))
    if n_groups == 1 or generator is None:
        order = torch.arange(n_samples)
    else:
        order = torch.randperm(n_samples, generator=generator)
    groups = order.tensor_split(n_groups)
    k = min(n_neighbors, min(len(group) for group in groups) - 1)
    device = X.device if isinstance(X, torch.Tensor) else torch.device("cpu")
    if k < 1:  # one row per group
        return torch.arange(n_samples, device=device).unsqueeze(1)
    neighbors = torch.empty((n_samples, k), dtype=torch.long, device=device)
    for group in groups:
        group = group.to(device)
        if isinstance(X, torch.Tensor):
            # One group is every row in order: search X itself, not a copy of it.
            found = _dense_neighbors(X if n_groups == 1 else X[group], k)
        else:
            found = _sparse_neighbors(X[group.numpy()], k).to(device)
        neighbors[group] = group[found]
    return neighbors


@torch.no_grad()
def principal_components(X, n_components):
    """The rows of ``X`` in their top ``n_components`` principal components.

    A randomised range finder with power iterations (Halko et al., 2011) on
    the centred rows, never forming the centred copy of ``X``.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        The rows.
    n_components : int
        Number of components, at most ``min(X.shape)``.

    Returns
    -------
    scores : torch.Tensor of shape (n_samples, n_components)
        The centred rows' coordinates on the principal axes, float32.
    """
    X = X.float()
    mean = X.mean(0)

    def rows_times(V):  # (X - mean) @ V
        return X @ V - mean @ V

    def rows_transposed_times(Q):  # (X - mean).T @ Q
        return X.T @ Q - torch.outer(mean, Q.sum(0))

    width = min(n_components + _RANGE_OVERSAMPLING, *X.shape)
    start = torch.Generator().manual_seed(0)
    basis = torch.randn(X.shape[1], width, generator=start).to(X.device)
    basis = torch.linalg.qr(rows_times(basis)).Q
    for _ in range(_RANGE_POWER_ITERATIONS):
        basis = torch.linalg.qr(rows_transposed_times(basis)).Q
        basis = torch.linalg.qr(rows_times(basis)).Q
    _, _, axes = torch.linalg.svd(rows_transposed_times(basis).T, full_matrices=False)
    return rows_times(axes[:n_components].T)


@torch.no_grad()
def _dense_neighbors(X, k):
    """Positions (len(X), k) of each row's k nearest other rows of the tensor ``X``.

    One distance block of ``_QUERY_ROWS`` x ``len(X)`` is allocated and
    reused by every block of query rows, and the neighbours are written
    into one preallocated table. A fresh block per query block (the search
    before) let the C allocator's heap grow by about one block per query
    block when the block fell under its 32 MiB ``mmap`` threshold: a window
    of a memmap (21,392 MNIST rows, 22 MB blocks) took 1.5 GB of RSS, as if
    the whole distance matrix had been held, and paid its page faults.
    """
    X = X.float()
    n_rows = len(X)
    squared_norms = X.square().sum(1)
    neighbors = torch.empty((n_rows, k), dtype=torch.long, device=X.device)
    nearest = torch.empty((min(_QUERY_ROWS, n_rows), k), dtype=X.dtype, device=X.device)
    # The search's largest buffer (64 MiB at 65,536 rows), written in place.
    block = torch.empty((min(_QUERY_ROWS, n_rows), n_rows), dtype=X.dtype, device=X.device)
    own = torch.arange(len(block), device=X.device)
    for start in range(0, n_rows, _QUERY_ROWS):
        query = X[start : start + _QUERY_ROWS]
        m = len(query)
        distances = torch.mm(query, X.T, out=block[:m]).mul_(-2)
        distances += squared_norms[start : start + m, None]
        distances += squared_norms[None]
        distances[own[:m], own[:m] + start] = float("inf")
        torch.topk(
            distances, k, dim=1, largest=False, out=(nearest[:m], neighbors[start : start + m])
        )
    return neighbors


def _sparse_neighbors(X, k):
    """Positions (n, k) of each row's k nearest other rows of the sparse matrix ``X``.

    Blocks of ``_SPARSE_QUERY_ROWS`` rows at a time, so that the distance
    block stays small next to a sparse X; as in :func:`_dense_neighbors`,
    one distance block serves every block of query rows, and nothing of a
    block's size outlives its block.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    n_rows = X.shape[0]
    squared_norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    found = np.empty((n_rows, k), dtype=np.int64)
    block = np.empty((min(_SPARSE_QUERY_ROWS, n_rows), n_rows), dtype=np.float32)
    for start in range(0, n_rows, _SPARSE_QUERY_ROWS):
        stop = min(start + _SPARSE_QUERY_ROWS, n_rows)
        distances = block[: stop - start]
        distances.fill(0.0)  # toarray adds the products into it
        (X[start:stop] @ X.T).toarray(out=distances)
        distances *= -2
        distances += squared_norms[start:stop, None]
        distances += squared_norms[None]
        own = np.arange(stop - start)
        distances[own, own + start] = np.inf
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k].copy()
        order = np.argsort(np.take_along_axis(distances, nearest, axis=1), axis=1)
        found[start:stop] = np.take_along_axis(nearest, order, axis=1)
    return torch.from_numpy(found)

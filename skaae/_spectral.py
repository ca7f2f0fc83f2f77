"""The spectral start of the cluster models: a spectral clustering of the neighbour graph.

Trained from random networks, an :class:`~skaae.AAEClustering` settles
within its first epochs on a partition of the data that later epochs barely
change, and that partition depends on the seed. A spectral clustering (Ng,
Jordan and Weiss, 2001; von Luxburg, 2007) of the graph that links each row
to its nearest rows finds a good partition without any training; the model
starts from it and refines it (see ``AAEClustering(init="spectral")`` and
doc/notes/parameter_measurements.md).
"""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from scipy.stats import rankdata
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.manifold import spectral_embedding

__all__ = [
    "MIN_ROWS_PER_CLUSTER",
    "SPECTRAL_DIMENSIONS",
    "SPECTRAL_START_EPOCHS",
    "SPECTRAL_START_STEPS",
    "cluster_layout",
    "spectral_clusters",
]

SPECTRAL_START_EPOCHS = 5
"""Epochs in which a cross-entropy phase pulls the clusters towards the spectral start.

On MNIST, a start of 5 epochs gave better and steadier clusters than random
networks (see doc/notes/parameter_measurements.md).
"""

SPECTRAL_START_STEPS = 300
"""Mini-batches the start lasts at least (in whole epochs), for data of few batches an epoch.

On small data, 5 epochs are too few mini-batches for the start to take hold;
300 was enough on small synthetic blobs (see doc/notes/parameter_measurements.md).
"""

MIN_ROWS_PER_CLUSTER = 5
"""With fewer rows per cluster than this there is no spectral start."""

SPECTRAL_DIMENSIONS = 64
"""Most eigenvectors of the graph that k-means clusters the rows in.

One per cluster up to this count, as in a plain spectral clustering; the
eigensolver's cost grows with the square of their number (16,000 rows of
letter in 416 clusters: over 200 s with one per cluster), while many small
clusters are told apart in fewer dimensions.
"""


def spectral_clusters(neighbors, n_clusters):
    """The cluster of each row in a spectral clustering of its neighbour graph.

    The graph joins each row to its neighbours (the rows of ``neighbors``)
    with unit weights, made symmetric. Its spectral embedding
    (:func:`sklearn.manifold.spectral_embedding`, one eigenvector per
    cluster up to ``SPECTRAL_DIMENSIONS``) is clustered by k-means, as
    :func:`sklearn.cluster.spectral_clustering` does; the eigensolver is
    LOBPCG, a block method, which finds the repeated eigenvalues of a graph
    in several pieces (where ARPACK's Lanczos iteration misses some, and its
    shift-invert mode is far slower). The solver's start and k-means are
    seeded with 0, so that the clusters are a function of the graph alone.

    Parameters
    ----------
    neighbors : torch.LongTensor of shape (n_samples, n_neighbors)
        Each row's nearest rows (see :func:`~skaae._neighbors.nearest_neighbors`).
    n_clusters : int
        Number of clusters.

    Returns
    -------
    clusters : ndarray of shape (n_samples,) or None
        Cluster numbers in ``[0, n_clusters)``; None for fewer than two
        clusters or fewer than ``MIN_ROWS_PER_CLUSTER * n_clusters`` rows.
    embedding : ndarray of shape (n_samples, n_dimensions) or None
        The rows' spectral embedding, the trivial eigenvector first (None
        with ``clusters``); see :func:`cluster_layout`.
    """
    n_samples, n_neighbors = neighbors.shape
    if n_clusters < 2 or n_samples < MIN_ROWS_PER_CLUSTER * n_clusters:
        return None, None
    rows = np.repeat(np.arange(n_samples), n_neighbors)
    columns = neighbors.cpu().numpy().ravel()
    links = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n_samples, n_samples))
    graph = ((links + links.T) > 0).astype(np.float64)
    with warnings.catch_warnings():
        # A graph in pieces embeds piece by piece ("not fully connected"), an
        # eigensolver short of its tolerance still orders the rows well enough
        # for k-means, and k-means finding fewer distinct points than clusters
        # (duplicated rows) leaves some clusters for the training to fill.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        # One generator for both, in turn, as spectral_clustering seeds them.
        generator = np.random.RandomState(0)
        embedding = spectral_embedding(
            graph,
            n_components=min(n_clusters, SPECTRAL_DIMENSIONS),
            eigen_solver="lobpcg",
            random_state=generator,
            drop_first=False,
        )
        clusters = KMeans(n_clusters, n_init=10, random_state=generator).fit(embedding).labels_
    return clusters.astype(np.int64), embedding


def cluster_layout(embedding, clusters, n_clusters, n_components, spacing):
    """Points for the clusters, laid out as the data's neighbour graph lays out their rows.

    Each cluster's point is the mean of its rows in the first
    ``n_components`` non-trivial eigenvectors of the spectral embedding
    (as UMAP starts its layout from the graph's spectral embedding),
    replaced by its rank among the clusters' points along each axis, which
    keeps their order and spreads the crowds an eigenvector makes of most
    rows (ties, as in a graph in pieces, ranked in cluster order), and
    scaled so that a point's nearest other point is ``spacing`` away for
    the median point. An empty cluster goes to the middle.

    Parameters
    ----------
    embedding : ndarray of shape (n_samples, n_dimensions)
        The rows' spectral embedding, from :func:`spectral_clusters`.
    clusters : ndarray of shape (n_samples,)
        Each row's cluster, in ``[0, n_clusters)``.
    n_clusters, n_components : int
        Number of clusters, and dimensions of the layout.
    spacing : float
        Median distance from a cluster's point to its nearest other point.

    Returns
    -------
    layout : ndarray of shape (n_clusters, n_components) or None
        None where the embedding has too few eigenvectors (at most
        ``n_components`` clusters): the layout would be arbitrary.
    """
    if embedding.shape[1] <= n_components:
        return None
    coordinates = embedding[:, 1 : n_components + 1]
    counts = np.bincount(clusters, minlength=n_clusters)
    sums = np.column_stack(
        [np.bincount(clusters, weights=axis, minlength=n_clusters) for axis in coordinates.T]
    )
    means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)
    middle = np.nanmedian(means, axis=0)
    means = np.where(np.isnan(means), middle, means)
    ranks = [rankdata(axis, method="ordinal") for axis in means.T]
    layout = np.column_stack(ranks) / n_clusters - 0.5
    nearest = cKDTree(layout).query(layout, k=2)[0][:, 1]
    return layout * (spacing / max(float(np.median(nearest)), np.finfo(float).tiny))

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
from sklearn.cluster import spectral_clustering
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "MIN_ROWS_PER_CLUSTER",
    "SPECTRAL_START_EPOCHS",
    "SPECTRAL_START_STEPS",
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


def spectral_clusters(neighbors, n_clusters):
    """The cluster of each row in a spectral clustering of its neighbour graph.

    The graph joins each row to its neighbours (the rows of ``neighbors``)
    with unit weights, made symmetric; the clusters are those of
    :func:`sklearn.cluster.spectral_clustering` with the LOBPCG
    eigensolver: a block method, which finds the repeated eigenvalues of a
    graph in several pieces (where ARPACK's Lanczos iteration misses some,
    and its shift-invert mode is far slower). The solver's start and k-means
    are seeded with 0, so that the clusters are a function of the graph
    alone.

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
    """
    n_samples, n_neighbors = neighbors.shape
    if n_clusters < 2 or n_samples < MIN_ROWS_PER_CLUSTER * n_clusters:
        return None
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
        clusters = spectral_clustering(
            graph, n_clusters=n_clusters, eigen_solver="lobpcg", random_state=0
        )
    return clusters.astype(np.int64)

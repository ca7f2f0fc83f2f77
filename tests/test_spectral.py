"""The spectral start of the cluster models: ``skaae._spectral`` and ``AAEClustering(init=...)``."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import spearmanr
from sklearn.cluster import spectral_clustering
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils._param_validation import InvalidParameterError

import skaae._categorical
from skaae import AAEClassifier, AAEClustering, AAEEmbedding
from skaae._batching import BatchSource, make_batch_source
from skaae._neighbors import nearest_neighbors, principal_components
from skaae._spectral import (
    MIN_ROWS_PER_CLUSTER,
    SPECTRAL_DIMENSIONS,
    SPECTRAL_START_EPOCHS,
    SPECTRAL_START_STEPS,
    cluster_layout,
    spectral_clusters,
)
from skaae.embedding import HEAD_SPACING

CPU = torch.device("cpu")

TINY = {
    "n_components": 2,
    "hidden_layer_sizes": (32,),
    "discriminator_layer_sizes": (16,),
    "batch_size": 64,
    "device": "cpu",
    "random_state": 0,
}


def _blobs(n_samples=300, centers=4, seed=0):
    X, y = make_blobs(
        n_samples=n_samples, n_features=20, centers=centers, center_box=(-5, 5), random_state=seed
    )
    return X, y


def _started_epochs(model):
    """The epochs whose record has the spectral start's cross-entropy."""
    return [record["epoch"] for record in model.history_ if "supervised_loss" in record]


# ----------------------------------------------------------------- spectral_clusters
def test_spectral_clusters_recover_separated_blobs():
    X, y = _blobs()
    clusters, embedding = spectral_clusters(nearest_neighbors(torch.tensor(X), 5), 4)
    assert clusters.shape == (len(X),)
    assert embedding.shape == (len(X), 4)
    assert clusters.dtype == np.int64
    assert set(clusters.tolist()) == {0, 1, 2, 3}
    assert adjusted_rand_score(y, clusters) == 1.0


def test_spectral_clusters_depend_on_the_graph_alone():
    X, _ = _blobs(seed=3)
    neighbors = nearest_neighbors(torch.tensor(X), 5)
    first = spectral_clusters(neighbors, 4)[0]
    np.testing.assert_array_equal(first, spectral_clusters(neighbors.clone(), 4)[0])
    # The rows in another order: the same partition of the rows.
    order = np.random.RandomState(0).permutation(len(X))
    shuffled = spectral_clusters(nearest_neighbors(torch.tensor(X[order]), 5), 4)[0]
    assert adjusted_rand_score(first[order], shuffled) == 1.0


def test_a_graph_in_pieces_splits_along_them_without_a_warning():
    # Two far-apart blobs and 3 neighbours: no link between them.
    X, y = make_blobs(n_samples=80, centers=[[0.0] * 5, [100.0] * 5], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clusters = spectral_clusters(nearest_neighbors(torch.tensor(X), 3), 2)[0]
    assert adjusted_rand_score(y, clusters) == 1.0


def test_no_spectral_clusters_for_too_few_rows_or_clusters():
    rows = MIN_ROWS_PER_CLUSTER * 4
    neighbors = nearest_neighbors(
        torch.randn(rows, 3, generator=torch.Generator().manual_seed(0)), 3
    )
    assert spectral_clusters(neighbors[:-1], 4) == (None, None)
    assert spectral_clusters(neighbors, 1) == (None, None)
    assert spectral_clusters(neighbors, 4)[0].shape == (rows,)


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")
def test_up_to_the_dimension_cap_the_clusters_are_sklearns_spectral_clustering():
    X, _ = _blobs(n_samples=400, centers=6)
    neighbors = nearest_neighbors(torch.tensor(X), 5)
    n = len(X)
    links = sp.csr_matrix(
        (np.ones(5 * n), (np.repeat(np.arange(n), 5), neighbors.numpy().ravel())), shape=(n, n)
    )
    graph = ((links + links.T) > 0).astype(np.float64)
    for k in (2, 6, 9):
        expected = spectral_clustering(graph, n_clusters=k, eigen_solver="lobpcg", random_state=0)
        np.testing.assert_array_equal(spectral_clusters(neighbors, k)[0], expected)


def test_many_clusters_are_found_in_at_most_the_capped_number_of_eigenvectors():
    k = SPECTRAL_DIMENSIONS + 6
    X, _ = _blobs(n_samples=MIN_ROWS_PER_CLUSTER * k, centers=10)
    clusters, embedding = spectral_clusters(nearest_neighbors(torch.tensor(X), 5), k)
    assert embedding.shape == (len(X), SPECTRAL_DIMENSIONS)
    assert clusters.min() >= 0 and clusters.max() < k
    assert len(np.unique(clusters)) > k // 2


# ------------------------------------------------------------------ cluster_layout
def _chain(n_samples=400, seed=0):
    """Rows along a bent line in 10-D, and each row's position on it."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 10, n_samples)
    X = np.column_stack([t, np.sin(t), *(0.002 * rng.normal(size=(8, n_samples)))])
    return X, t


def test_the_layout_orders_clusters_along_the_data_and_spaces_them():
    X, t = _chain()
    clusters, embedding = spectral_clusters(nearest_neighbors(torch.tensor(X), 5), 12)
    layout = cluster_layout(embedding, clusters, 12, 2, spacing=3.0)
    assert layout.shape == (12, 2)
    position = np.array([t[clusters == c].mean() for c in range(12)])
    assert abs(spearmanr(position, layout[:, 0]).statistic) > 0.95
    nearest = np.sort(np.linalg.norm(layout[:, None] - layout[None], axis=2), axis=1)[:, 1]
    assert np.median(nearest) == pytest.approx(3.0)


def test_no_layout_from_too_few_eigenvectors_and_empty_clusters_go_to_the_middle():
    embedding = np.random.default_rng(0).normal(size=(60, 3))
    clusters = np.repeat([0, 1, 3], 20)  # cluster 2 is empty
    assert cluster_layout(embedding[:, :2], clusters, 4, 2, spacing=1.0) is None
    layout = cluster_layout(embedding, clusters, 4, 2, spacing=1.0)
    assert np.isfinite(layout).all()
    # The empty cluster's point ranks in the middle of the others on each axis.
    others = np.delete(layout, 2, axis=0)
    assert (others.min(0) <= layout[2]).all() and (layout[2] <= others.max(0)).all()


# ------------------------------------------------------------------ the cosine search
def _unit_rows(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_cosine_search_is_the_search_among_centred_unit_rows():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(50, 8)) * rng.uniform(0.1, 10.0, size=(50, 1))  # lengths vary
    expected = nearest_neighbors(torch.tensor(_unit_rows(X - X.mean(0))), 4)
    found = nearest_neighbors(torch.tensor(X), 4, cosine=True)
    np.testing.assert_array_equal(found.numpy(), expected.numpy())
    assert not np.array_equal(nearest_neighbors(torch.tensor(X), 4).numpy(), expected.numpy())
    # In principal components, which are centred already.
    wide = np.hstack([X, rng.uniform(size=(50, 8))])
    scores = principal_components(torch.tensor(wide), 5).double().numpy()
    expected = nearest_neighbors(torch.tensor(_unit_rows(scores)), 4)
    found = nearest_neighbors(torch.tensor(wide), 4, n_components=5, cosine=True)
    np.testing.assert_array_equal(found.numpy(), expected.numpy())


def test_a_sparse_cosine_search_takes_the_rows_own_angles():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(50, 8)) * rng.uniform(0.1, 10.0, size=(50, 1))
    X[X < 2.0] = 0.0
    X = X[np.linalg.norm(X, axis=1) > 0]
    expected = nearest_neighbors(torch.tensor(_unit_rows(X)), 4)
    found = nearest_neighbors(sp.csr_matrix(X), 4, cosine=True)
    np.testing.assert_array_equal(found.numpy(), expected.numpy())


# ------------------------------------------------------------------ batch sources
def test_a_labelled_source_shares_the_rows_and_serves_the_labels():
    X = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    source = BatchSource(X, CPU, rows=np.arange(10, 40))
    labelled = source.with_labels(np.arange(30) % 7)
    assert labelled._X is source._X  # no second copy of the rows
    assert source._y is None  # the original serves no labels
    for batch in labelled.batches(8, torch.Generator().manual_seed(0)):
        served_rows = (batch.x[:, 0] / 3).long() - 10
        np.testing.assert_array_equal(batch.y.numpy(), served_rows.numpy() % 7)
    assert source.search_rows() is source._X


def test_a_memmap_in_one_window_is_searched_and_labelled_as_in_memory(tmp_path):
    X = np.random.RandomState(0).uniform(size=(60, 4)).astype(np.float32)
    mapped = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="w+", shape=X.shape)
    mapped[:] = X
    rows = np.arange(5, 60, 2)
    source = make_batch_source(mapped, CPU, rows=rows)
    np.testing.assert_array_equal(source.search_rows().numpy(), X[rows])
    labels = np.arange(len(rows)) % 3
    labelled = source.with_labels(labels)
    for batch in labelled.batches(7, torch.Generator().manual_seed(0)):
        positions = [np.flatnonzero((X[rows] == row).all(axis=1))[0] for row in batch.x.numpy()]
        np.testing.assert_array_equal(batch.y.numpy(), labels[positions])


# ------------------------------------------------------------------ AAEClustering
def _start_epochs(n_rows, batch_size):
    """Epochs of the spectral start for ``n_rows`` training rows in batches of ``batch_size``."""
    batches = -(-n_rows // batch_size)
    return max(SPECTRAL_START_EPOCHS, -(-SPECTRAL_START_STEPS // batches))


def test_the_start_alone_gives_the_spectral_clusters():
    X, y = _blobs()
    epochs = _start_epochs(len(X), TINY["batch_size"])
    for seed in (0, 1):
        model = AAEClustering(n_clusters=4, max_iter=epochs, **{**TINY, "random_state": seed})
        assert adjusted_rand_score(y, model.fit(X).labels_) == 1.0


def test_the_digits_cluster_sooner_from_the_spectral_start(digits):
    # Tiny networks, 20 epochs (the start's 300 mini-batches). Measured over
    # seeds 0-3: adjusted Rand index 0.82-0.83 from the start; from random
    # networks every digit still sits in one cluster (0.0; 0.0-0.35 after 30).
    X = np.concatenate(digits[:2])
    y = np.concatenate(digits[2:])
    params = {**TINY, "batch_size": "auto", "max_iter": 20}
    started = AAEClustering(n_clusters=10, **params).fit(X)
    random = AAEClustering(n_clusters=10, init="random", **params).fit(X)
    assert adjusted_rand_score(y, started.labels_) > 0.75
    assert adjusted_rand_score(y, random.labels_) < 0.5


def test_the_start_trains_only_its_first_epochs():
    X, _ = _blobs()
    epochs = _start_epochs(len(X), TINY["batch_size"])
    model = AAEClustering(n_clusters=4, max_iter=epochs + 2, **TINY).fit(X)
    assert _started_epochs(model) == list(range(1, epochs + 1))
    assert "_labelled_source" not in vars(model)
    assert (
        _started_epochs(AAEClustering(n_clusters=4, init="random", max_iter=3, **TINY).fit(X)) == []
    )


def test_a_fit_that_ends_within_the_start_continues_without_it():
    X, _ = _blobs()
    model = AAEClustering(n_clusters=4, max_iter=2, warm_start=True, **TINY).fit(X)
    assert _started_epochs(model) == [1, 2]
    model.set_params(max_iter=3).fit(X)  # a continuation: no new start
    assert model.n_iter_ == 5
    assert _started_epochs(model) == [1, 2]
    assert np.isfinite([record["reconstruction_loss"] for record in model.history_]).all()


def test_too_few_rows_per_cluster_start_from_random_networks():
    X, _ = _blobs(n_samples=MIN_ROWS_PER_CLUSTER * 8 - 1)
    model = AAEClustering(n_clusters=8, max_iter=2, **TINY).fit(X)
    assert _started_epochs(model) == []


def test_every_restart_starts_from_the_spectral_clusters():
    X, _ = _blobs()
    model = AAEClustering(n_clusters=4, n_init=2, max_iter=3, **TINY).fit(X)
    assert _started_epochs(model) == [1, 2, 3]


def test_the_start_is_reproducible():
    X, _ = _blobs(seed=2)

    def fit():
        return AAEClustering(n_clusters=4, max_iter=6, **TINY).fit(X)

    first, second = fit(), fit()
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


def test_init_is_validated():
    with pytest.raises(InvalidParameterError, match="'init' parameter"):
        AAEClustering(init="kmeans", **TINY).fit(_blobs()[0])


# ------------------------------------------------------------------ AAEEmbedding
def test_an_unsupervised_embedding_starts_from_the_spectral_clusters():
    X, _ = _blobs()
    model = AAEEmbedding(n_clusters=4, max_iter=3, **TINY).fit(X)
    assert _started_epochs(model) == [1, 2, 3]
    random = AAEEmbedding(n_clusters=4, init="random", max_iter=3, **TINY).fit(X)
    assert _started_epochs(random) == []


def test_an_unsupervised_embedding_starts_its_heads_at_the_cluster_layout(monkeypatch):
    calls = []

    def layout(embedding, clusters, n_clusters, n_components, spacing):
        calls.append((embedding.shape, clusters.shape, n_clusters, n_components, spacing))
        return 10.0 * np.arange(n_clusters * n_components).reshape(n_clusters, n_components)

    monkeypatch.setattr(skaae.embedding, "cluster_layout", layout)
    X, _ = _blobs()
    model = AAEEmbedding(n_clusters=4, max_iter=1, min_distance=1.5, **TINY).fit(X)
    spacing = HEAD_SPACING * 1.5 * model.prior_.std_
    assert calls == [((len(X), 4), (len(X),), 4, 2, spacing)]
    heads = model.cluster_heads_.heads.detach().numpy()
    np.testing.assert_allclose(heads, layout(np.zeros((1, 5)), np.zeros(1), 4, 2, 0), atol=0.2)
    # From random networks the heads keep their spread on a circle, spacing apart.
    random = AAEEmbedding(n_clusters=4, max_iter=1, init="random", **TINY).fit(X)
    radii = np.linalg.norm(random.cluster_heads_.heads.detach().numpy(), axis=1)
    circle = HEAD_SPACING * 2.0 * random.prior_.std_ / np.sqrt(2)  # a square's half-diagonal
    np.testing.assert_allclose(radii, circle, rtol=0.35)


def test_an_embedding_with_labels_has_no_spectral_start(monkeypatch):
    def no_start(*args, **kwargs):
        raise AssertionError("a spectral start with labels")

    monkeypatch.setattr(skaae._categorical, "spectral_clusters", no_start)
    X, y = _blobs()
    y_partial = np.where(np.arange(len(y)) % 10 == 0, y, -1)
    model = AAEEmbedding(max_iter=2, **TINY).fit(X, y_partial)
    # The labels' cross-entropy phase, in every epoch and to the end.
    assert _started_epochs(model) == [1, 2]
    with pytest.raises(AssertionError, match="a spectral start"):
        AAEEmbedding(n_clusters=4, max_iter=1, **TINY).fit(X)


def test_the_embedding_validates_init():
    with pytest.raises(InvalidParameterError, match="'init' parameter"):
        AAEEmbedding(init="kmeans", **TINY).fit(_blobs()[0])


# ------------------------------------------------------------------ faults and restarts
def _counting_spectral_clusters(monkeypatch):
    calls = []
    original = skaae._categorical.spectral_clusters

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(skaae._categorical, "spectral_clusters", counted)
    return calls


def test_restarts_compute_the_spectral_clusters_once(monkeypatch):
    calls = _counting_spectral_clusters(monkeypatch)
    model = AAEClustering(n_clusters=4, n_init=3, max_iter=2, **TINY).fit(_blobs()[0])
    assert len(calls) == 1
    assert "_spectral_cache" not in vars(model)
    assert _started_epochs(model) == [1, 2]


class _Raises:
    def __init__(self, error):
        self.error = error

    def on_fit_begin(self, estimator):
        raise self.error

    def on_epoch_end(self, estimator, record):
        return False

    def on_fit_end(self, estimator):
        pass


def test_a_failed_fit_within_the_start_raises_its_own_error_and_holds_no_data():
    model = AAEClustering(
        n_clusters=4, max_iter=2, callbacks=[_Raises(RuntimeError("boom"))], **TINY
    )
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(_blobs()[0])
    for name in ("_train_source", "_validation_source", "_labelled_source", "_shuffle_generator"):
        assert name not in vars(model)


def test_a_continuation_of_an_interrupted_fit_does_not_start_again(monkeypatch):
    calls = _counting_spectral_clusters(monkeypatch)
    X = _blobs()[0]
    model = AAEClustering(
        n_clusters=4, max_iter=2, callbacks=[_Raises(KeyboardInterrupt())], **TINY
    )
    with pytest.warns(RuntimeWarning, match="interrupted"):
        model.fit(X)
    assert model.n_iter_ == 0 and len(calls) == 1
    model.set_params(warm_start=True, callbacks=None).fit(X)
    assert len(calls) == 1
    assert _started_epochs(model) == []


def test_a_classifier_without_labelled_training_rows_says_so(monkeypatch):
    X, y = _blobs(n_samples=60)
    y_partial = np.full_like(y, -1)
    y_partial[:4] = [0, 1, 0, 1]

    def labelled_rows_in_validation(self, n_samples, seed):
        return np.arange(4, n_samples), np.arange(4)

    monkeypatch.setattr(AAEClassifier, "_split_rows", labelled_rows_in_validation)
    model = AAEClassifier(early_stopping=True, max_iter=2, **TINY)
    with pytest.raises(ValueError, match="no labelled sample is left to train on"):
        model.fit(X, y_partial)

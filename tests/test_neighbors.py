"""The neighbourhood term: the kNN search, the neighbours in the batches, the loss, the models."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.sparse.csgraph import connected_components
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

import skaae._batching
import skaae._categorical
import skaae._neighbors
from skaae import (
    AAEClassifier,
    AAEClustering,
    AAEEmbedding,
    AdversarialAutoencoder,
    CategoricalPrior,
    GaussianPrior,
)
from skaae._batching import BatchSource, make_batch_source
from skaae._neighbors import nearest_neighbors, principal_components, search_components
from skaae.losses import MeanSquaredError
from skaae.model import AutoencoderModel, LatentPart
from skaae.nn import make_encoder, make_mlp
from skaae.regularisers import AdversarialPrior, Neighbourhood
from skaae.training import AdversarialTrainer, Batch, TrainingStep

CPU = torch.device("cpu")
N_FEATURES = 6

TINY = {
    "hidden_layer_sizes": (16,),
    "discriminator_layer_sizes": (16,),
    "batch_size": 32,
    "max_iter": 2,
    "device": "cpu",
    "random_state": 0,
}


def _exact_neighbors(X, k):
    """sklearn's k nearest other rows of X (Euclidean), nearest first."""
    found = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X, return_distance=False)
    # With no duplicate rows, each row is its own nearest: drop it.
    assert (found[:, 0] == np.arange(len(X))).all()
    return found[:, 1:]


def _data(n=60, d=5, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


# ------------------------------------------------------------------ nearest_neighbors
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dense_search_matches_sklearn(dtype):
    X = _data(80, 5)
    found = nearest_neighbors(torch.as_tensor(X, dtype=dtype), 4)
    assert found.dtype == torch.long
    assert found.shape == (80, 4)
    np.testing.assert_array_equal(found.numpy(), _exact_neighbors(X, 4))


@pytest.mark.parametrize(
    "to_sparse", [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.coo_matrix, sp.bsr_matrix]
)
def test_sparse_search_matches_sklearn(to_sparse):
    X = sp.random(70, 12, density=0.4, format="csr", random_state=1)
    found = nearest_neighbors(to_sparse(X), 3)
    assert found.dtype == torch.long
    assert found.shape == (70, 3)
    np.testing.assert_array_equal(found.numpy(), _exact_neighbors(X.toarray(), 3))


def test_dense_and_sparse_searches_agree():
    X = sp.random(50, 8, density=0.5, format="csr", random_state=2)
    dense = nearest_neighbors(torch.as_tensor(X.toarray()), 5)
    np.testing.assert_array_equal(nearest_neighbors(X, 5).numpy(), dense.numpy())


def test_neighbors_are_other_rows_nearest_first():
    X = _data(40, 3, seed=3)
    found = nearest_neighbors(torch.as_tensor(X), 6).numpy()
    assert not (found == np.arange(40)[:, None]).any()
    assert all(len(set(row)) == 6 for row in found)
    distances = np.linalg.norm(X[:, None] - X[found], axis=2)
    assert (np.diff(distances, axis=1) >= 0).all()


def test_more_neighbors_than_rows_returns_every_other_row():
    X = _data(5, 2)
    found = nearest_neighbors(torch.as_tensor(X), 10).numpy()
    assert found.shape == (5, 4)
    for i, row in enumerate(found):
        assert set(row) == set(range(5)) - {i}


@pytest.mark.parametrize("n_neighbors", [1, 3])
def test_a_lone_row_is_its_own_neighbor(n_neighbors):
    found = nearest_neighbors(torch.ones(1, 4), n_neighbors)
    np.testing.assert_array_equal(found.numpy(), [[0]])
    found = nearest_neighbors(sp.csr_matrix(np.ones((1, 4))), n_neighbors)
    np.testing.assert_array_equal(found.numpy(), [[0]])


def test_groups_of_one_row_make_each_row_its_own_neighbor(monkeypatch):
    monkeypatch.setattr(skaae._neighbors, "GROUP_ROWS", 1)
    found = nearest_neighbors(torch.as_tensor(_data(4, 2)), 3, torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(found.numpy(), np.arange(4)[:, None])


def _groups(found):
    """The connected components of the neighbour graph, as lists of rows."""
    n = len(found)
    graph = sp.csr_matrix(
        (np.ones(found.size), (np.repeat(np.arange(n), found.shape[1]), found.ravel())), (n, n)
    )
    _, component = connected_components(graph, directed=True, connection="weak")
    return [np.flatnonzero(component == c) for c in np.unique(component)]


@pytest.mark.parametrize("sparse", [False, True])
def test_search_within_random_groups(monkeypatch, sparse):
    monkeypatch.setattr(skaae._neighbors, "GROUP_ROWS", 50)
    X = _data(130, 4, seed=4)
    data = sp.csr_matrix(X) if sparse else torch.as_tensor(X)
    found = nearest_neighbors(data, 4, torch.Generator().manual_seed(0)).numpy()
    assert found.shape == (130, 4)
    assert not (found == np.arange(130)[:, None]).any()
    groups = _groups(found)
    # Neighbours never cross groups: the 130 rows fall apart into at least 3 sets
    # of at most 50, and within each set, each row's neighbours are its exact ones.
    assert len(groups) >= 3
    for group in groups:
        assert len(group) <= 50
        np.testing.assert_array_equal(found[group], group[_exact_neighbors(X[group], 4)])
    # The groups are dealt at random, not cut from the row order.
    assert not any(np.array_equal(group, np.arange(group[0], group[-1] + 1)) for group in groups)
    # Deterministic for a seeded generator, and another seed deals other groups.
    again = nearest_neighbors(data, 4, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_array_equal(again, found)
    other = nearest_neighbors(data, 4, torch.Generator().manual_seed(1)).numpy()
    assert not np.array_equal(other, found)


def test_groups_without_a_generator_follow_the_row_order(monkeypatch):
    monkeypatch.setattr(skaae._neighbors, "GROUP_ROWS", 50)
    X = _data(130, 4, seed=5)
    found = nearest_neighbors(torch.as_tensor(X), 3).numpy()
    for block in np.array_split(np.arange(130), 3):  # 44, 43 and 43 rows
        np.testing.assert_array_equal(found[block], block[_exact_neighbors(X[block], 3)])


def test_small_groups_cap_the_number_of_neighbors(monkeypatch):
    monkeypatch.setattr(skaae._neighbors, "GROUP_ROWS", 4)
    found = nearest_neighbors(torch.as_tensor(_data(10, 2)), 5, torch.Generator().manual_seed(0))
    # Groups of 4, 3 and 3 rows: each row has 2 other rows in its group.
    assert found.shape == (10, 2)


def _low_rank_data(n=90, d=70, rank=8, noise=1e-4, seed=6):
    rng = np.random.RandomState(seed)
    signal = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d))
    return signal + noise * rng.normal(size=(n, d)) + 3.0  # off-centre: the mean must go


def test_principal_components_match_sklearn_pca():
    X = _low_rank_data()
    scores = principal_components(torch.as_tensor(X), 5).numpy()
    expected = PCA(n_components=5).fit_transform(X)
    assert scores.shape == (90, 5)
    assert scores.dtype == np.float32
    # Each component up to its sign.
    np.testing.assert_allclose(np.abs(scores), np.abs(expected), rtol=1e-3, atol=1e-3)


def test_wide_rows_are_searched_in_their_principal_components():
    rng = np.random.RandomState(7)
    # Eight directions of large spread, and 62 of small noise that alone
    # would order the neighbours otherwise.
    structure = rng.normal(size=(90, 8)) * 10.0
    noise = rng.normal(size=(90, 62))
    X = np.hstack([structure, noise])
    found = nearest_neighbors(torch.as_tensor(X), 4, n_components=8).numpy()
    in_components = PCA(n_components=8).fit_transform(X)
    np.testing.assert_array_equal(found, _exact_neighbors(in_components, 4))
    in_features = _exact_neighbors(X, 4)
    assert not np.array_equal(found, in_features)
    # Without n_components (and for sparse rows) the search runs in all the features.
    np.testing.assert_array_equal(nearest_neighbors(torch.as_tensor(X), 4).numpy(), in_features)
    sparse = nearest_neighbors(sp.csr_matrix(X), 4, n_components=8).numpy()
    np.testing.assert_array_equal(sparse, in_features)


def test_projection_keeps_the_neighbors_of_low_rank_rows():
    # Rank 8 in 70 features, searched in 20 components: they hold all the
    # distances, so the neighbours are the exact ones.
    X = _low_rank_data()
    found = nearest_neighbors(torch.as_tensor(X), 5, n_components=20).numpy()
    np.testing.assert_array_equal(found, _exact_neighbors(X, 5))


def test_projection_is_a_function_of_the_data_alone():
    X = torch.as_tensor(_data(60, 30, seed=8))
    first = nearest_neighbors(X, 3, torch.Generator().manual_seed(0), n_components=8)
    second = nearest_neighbors(X, 3, torch.Generator().manual_seed(1), n_components=8)
    np.testing.assert_array_equal(first.numpy(), second.numpy())


@pytest.mark.parametrize(
    "estimator, labelled, components",
    [
        (AdversarialAutoencoder(n_components=2, **TINY), False, skaae._neighbors.SEARCH_COMPONENTS),
        (AAEClustering(n_clusters=3, **TINY), False, skaae._neighbors.SEARCH_COMPONENTS),
        (AAEClassifier(**TINY), True, skaae._neighbors.SEARCH_COMPONENTS),
        (AAEEmbedding(**TINY), True, skaae._neighbors.SEARCH_COMPONENTS),
        (AAEEmbedding(n_clusters=3, **TINY), False, skaae._neighbors.SEARCH_COMPONENTS),
    ],
    ids=["map", "clustering", "classifier", "embedding-labelled", "embedding"],
)
@pytest.mark.parametrize("n_features", [60, 120])
def test_every_model_searches_wide_data_in_principal_components(
    monkeypatch, estimator, labelled, components, n_features
):
    calls = []

    def search(X, n_neighbors, generator=None, n_components=None):
        calls.append(n_components)
        return nearest_neighbors(X, n_neighbors, generator, n_components)

    monkeypatch.setattr(skaae._batching, "nearest_neighbors", search)
    X = _data(64, n_features, seed=9)
    if labelled:
        estimator.fit(X, np.where(np.arange(64) % 4 == 0, np.arange(64) % 3, -1))
    else:
        estimator.fit(X)
    # Searched once per fit; data narrower than twice the components in all its features.
    assert calls == [components if n_features >= 2 * components else None]


@pytest.mark.parametrize("n_features", [60, 120])
def test_the_spectral_start_searches_as_the_training_does(monkeypatch, n_features):
    calls = {"start": [], "training": []}

    def recorded(name):
        def search(X, n_neighbors, generator=None, n_components=None, **options):
            calls[name].append(n_components)
            return nearest_neighbors(X, n_neighbors, generator, n_components, **options)

        return search

    monkeypatch.setattr(skaae._categorical, "nearest_neighbors", recorded("start"))
    monkeypatch.setattr(skaae._batching, "nearest_neighbors", recorded("training"))
    AAEClustering(n_clusters=3, **TINY).fit(_data(64, n_features, seed=9))
    assert calls["start"] == calls["training"] == [search_components(n_features)]


# ------------------------------------------------------------------ BatchSource
def _row_index(rows, X):
    """The index in X of each of ``rows`` (each row must be one of X's, up to float32)."""
    distances = np.linalg.norm(rows[:, None].astype(np.float64) - X[None], axis=2)
    index = distances.argmin(1)
    assert (distances[np.arange(len(rows)), index] < 1e-4).all()
    return index


def _epoch_pairs(source, X_seen, batch_size, generator, n_neighbors):
    """(row, neighbour) indices into X_seen over one epoch, and the batch sizes."""
    rows, partners, sizes = [], [], []
    for batch in source.batches(batch_size, generator, n_neighbors):
        assert batch.neighbors is not None
        assert batch.neighbors.shape == batch.x.shape
        sizes.append(len(batch.x))
        rows.append(_row_index(batch.x.numpy(), X_seen))
        partners.append(_row_index(batch.neighbors.numpy(), X_seen))
    return np.concatenate(rows), np.concatenate(partners), sizes


@pytest.mark.parametrize("sparse", [False, True])
def test_batch_neighbors_are_among_the_nearest_rows(sparse):
    X = _data(70, 4, seed=6) * [1.0, 5.0, 0.2, 1.0] + 3.0
    offset, scale = X.mean(0), X.std(0)
    seen = (X - offset) / scale  # the neighbours are searched where the batches live
    source = BatchSource(sp.csr_matrix(X) if sparse else X, CPU, offset, scale)
    nearest = _exact_neighbors(seen, 3)
    generator = torch.Generator().manual_seed(0)
    drawn = []
    for _ in range(3):
        rows, partners, sizes = _epoch_pairs(source, seen, 16, generator, 3)
        assert sizes == [16, 16, 16, 16, 6]
        np.testing.assert_array_equal(np.sort(rows), np.arange(70))  # each row once
        assert all(p in nearest[r] for r, p in zip(rows, partners, strict=True))
        drawn.append(partners[np.argsort(rows)])
    # The partner of a row is drawn anew each epoch.
    assert not np.array_equal(drawn[0], drawn[1]) or not np.array_equal(drawn[1], drawn[2])


def test_one_neighbor_is_always_the_nearest():
    X = _data(50, 3, seed=7)
    source = BatchSource(X, CPU)
    nearest = _exact_neighbors(X, 1)[:, 0]
    for generator in (None, torch.Generator().manual_seed(0)):
        rows, partners, _ = _epoch_pairs(source, X, 16, generator, 1)
        np.testing.assert_array_equal(partners, nearest[rows])


def test_batches_without_neighbors_carry_none():
    source = BatchSource(_data(20, 3), CPU)
    assert all(b.neighbors is None for b in source.batches(8, torch.Generator().manual_seed(0)))


def test_neighbors_do_not_change_the_shuffle():
    # The batch rows of an epoch are the same with and without neighbours.
    X = _data(40, 3, seed=8)
    source = BatchSource(X, CPU)
    plain = [b.x for b in source.batches(16, torch.Generator().manual_seed(3))]
    paired = [b.x for b in source.batches(16, torch.Generator().manual_seed(3), 2)]
    assert all(torch.equal(a, b) for a, b in zip(plain, paired, strict=True))


def test_labels_travel_with_rows_when_neighbors_are_drawn():
    X = _data(30, 3, seed=9)
    y = np.arange(30) % 4
    source = BatchSource(X, CPU, y=y)
    for batch in source.batches(8, torch.Generator().manual_seed(0), 2):
        np.testing.assert_array_equal(batch.y.numpy(), y[_row_index(batch.x.numpy(), X)])


def _memmap(tmp_path, X):
    X_file = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=X.dtype, shape=X.shape)
    X_file[:] = X
    X_file.flush()
    return np.load(tmp_path / "X.npy", mmap_mode="r")


def test_memmap_batch_neighbors_are_among_the_nearest_rows(tmp_path):
    # Data that fits in one window: the neighbours are searched among all rows.
    X = _data(70, 4, seed=11)
    source = make_batch_source(_memmap(tmp_path, X), CPU)
    rows, partners, _ = _epoch_pairs(source, X, 16, torch.Generator().manual_seed(0), 3)
    np.testing.assert_array_equal(np.sort(rows), np.arange(70))
    nearest = _exact_neighbors(X, 3)
    assert all(p in nearest[r] for r, p in zip(rows, partners, strict=True))


def test_memmap_batch_neighbors_are_searched_within_a_window(tmp_path, monkeypatch):
    # Blocks of 10 rows, windows of 2 blocks: a row's partner is among its 3
    # nearest rows of its window, which holds the row's and the partner's blocks.
    monkeypatch.setattr(skaae._batching, "rows_per_block", lambda X: 10)
    monkeypatch.setattr(skaae._batching, "WINDOW_BLOCKS", 2)
    X = _data(80, 4, seed=12)
    source = make_batch_source(_memmap(tmp_path, X), CPU)
    rows, partners, _ = _epoch_pairs(source, X, 16, torch.Generator().manual_seed(0), 3)
    np.testing.assert_array_equal(np.sort(rows), np.arange(80))
    assert (rows != partners).all()
    crossed = 0
    for r, p in zip(rows, partners, strict=True):
        if r // 10 != p // 10:
            crossed += 1
            window = np.r_[
                10 * (r // 10) : 10 * (r // 10) + 10, 10 * (p // 10) : 10 * (p // 10) + 10
            ]
            position = int(np.flatnonzero(window == r)[0])
            assert p in window[_exact_neighbors(X[window], 3)[position]]
    assert crossed > 0  # windows mix blocks


# ------------------------------------------------------------------ the trainer
def _trainer(parts_spec, neighbor_weight=1.0, neighbor_map=True, seed=0):
    """A small trainer whose code is the parts of ``parts_spec``: [(prior, width), ...]."""
    width = sum(w for _, w in parts_spec)
    parts, start = [], 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = make_encoder("deterministic", N_FEATURES, (16,), width)
        decoder = make_mlp(width, (16,), N_FEATURES)
        for prior, w in parts_spec:
            parts.append(LatentPart(prior.bind(w), make_mlp(w, (8,), 1), slice(start, start + w)))
            start += w
    regularisers = [AdversarialPrior(1.0, 0.1)]
    if neighbor_weight != 0:  # as the estimators build them: no term at weight 0
        regularisers.append(Neighbourhood(neighbor_weight, map=neighbor_map))
    return AdversarialTrainer(
        AutoencoderModel(encoder, decoder, parts, MeanSquaredError()),
        regularisers,
        learning_rate=1e-2,
        discriminator_learning_rate=1e-2,
        generator=torch.Generator().manual_seed(seed),
    )


def _neighbourhood(trainer):
    return trainer.find(Neighbourhood)


def _neighbor_loss(trainer, codes, neighbor_codes):
    return _neighbourhood(trainer).neighbor_loss(codes, neighbor_codes, trainer)


def _map_codes(trainer, codes):
    return _neighbourhood(trainer).map_codes(codes, trainer.model)


def _reconstruction_step(trainer, x, neighbors=None):
    """The reconstruction loss of one step on ``x``, and its neighbourhood term (None: none)."""
    step = TrainingStep(Batch(x, None, None, neighbors), x)
    loss = trainer.reconstruction_step(step)
    return loss, step.terms.get(id(_neighbourhood(trainer)))


def _categorical_trainer(k=3, **options):
    return _trainer([(CategoricalPrior(), k)], **options)


def _one_hot(categories, k=3):
    return F.one_hot(torch.as_tensor(categories), k).float()


def test_consistency_is_near_zero_for_the_same_category_and_large_for_another():
    trainer = _categorical_trainer()
    assert _map_codes(trainer, _one_hot([0, 1, 2])) is None  # a categorical part is no map
    p = _one_hot([0, 1, 2, 0, 1, 2])
    same = float(_neighbor_loss(trainer, p, p.clone()))
    other = float(_neighbor_loss(trainer, p, p.roll(1, dims=0)))  # each neighbour elsewhere
    unsure = float(_neighbor_loss(trainer, p, torch.full_like(p, 1 / 3)))
    assert same == pytest.approx(0.0, abs=1e-4)
    assert other > 5.0
    # Neighbours that are unsure fall between: -log(1/3) for every row.
    assert unsure > same + 0.5
    assert unsure < other - 1.0


def test_balance_term_penalises_a_batch_in_one_category():
    trainer = _categorical_trainer()
    balanced = _one_hot([0, 1, 2, 0, 1, 2])
    collapsed = _one_hot([0, 0, 0, 0, 0, 0])
    # Every row agrees with its neighbour in both batches: only the balance differs.
    assert float(_neighbor_loss(trainer, balanced, balanced)) == pytest.approx(0.0, abs=1e-4)
    assert float(_neighbor_loss(trainer, collapsed, collapsed)) > 0.5  # log 3 = 1.1 at weight 1
    half = _one_hot([0, 0, 0, 1, 1, 1])
    assert (
        0.0 + 1e-3
        < float(_neighbor_loss(trainer, half, half))
        < float(_neighbor_loss(trainer, collapsed, collapsed))
    )


def _layout(trainer, z, neighbor_z, seed=0):
    trainer.generator.manual_seed(seed)  # the same negative samples for every call
    return float(_neighbor_loss(trainer, z, neighbor_z))


def test_layout_term_is_smaller_for_close_neighbors_than_far_ones():
    trainer = _trainer([(GaussianPrior(), 2)])
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    close = _layout(trainer, z, z + 0.01 * noise)
    near = _layout(trainer, z, z + 0.3 * noise)
    far = _layout(trainer, z, z + 3.0 * noise)
    assert close < near < far
    # Rows spread apart cost less than rows bunched together (the repulsion).
    bunched = 0.01 * z
    assert _layout(trainer, bunched, bunched) > _layout(trainer, z, z)


def test_layout_term_is_measured_in_prior_std_units():
    # The same codes, scaled with the prior, give the same term.
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    neighbor_z = z + 0.2 * torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    unit = _layout(_trainer([(GaussianPrior(scale=1.0), 2)]), z, neighbor_z)
    wide = _layout(_trainer([(GaussianPrior(scale=4.0), 2)]), 4 * z, 4 * neighbor_z)
    assert wide == pytest.approx(unit, rel=1e-4)


def test_without_a_map_or_categories_the_term_is_zero():
    trainer = _trainer([(GaussianPrior(), 2)], neighbor_map=False)
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    assert _map_codes(trainer, z) is None
    assert float(_neighbor_loss(trainer, z, z + 5.0)) == 0.0


def test_style_part_is_the_map_next_to_a_categorical_part():
    trainer = _trainer([(CategoricalPrior(), 3), (GaussianPrior(), 2)])
    style = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    codes = torch.cat([_one_hot([0, 1, 2, 0]), style], 1)
    torch.testing.assert_close(_map_codes(trainer, codes), codes[:, 3:])
    # Far apart in the map (same category): the term grows; neighbour_map=False ignores the map.
    shifted = codes.clone()
    shifted[:, 3:] += 5.0
    assert _layout(trainer, codes, shifted) > _layout(trainer, codes, codes) + 0.01
    off = _trainer([(CategoricalPrior(), 3), (GaussianPrior(), 2)], neighbor_map=False)
    assert _map_codes(off, codes) is None
    assert _layout(off, codes, shifted) == pytest.approx(_layout(off, codes, codes), abs=1e-6)


def _grad(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(module, snapshot):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), snapshot, strict=True))


@pytest.mark.parametrize("spec", ["gaussian", "categorical+gaussian"])
def test_reconstruction_step_with_neighbors(spec):
    parts = [(GaussianPrior(), 2)]
    if spec != "gaussian":
        parts = [(CategoricalPrior(), 3), *parts]
    x = torch.randn(32, N_FEATURES, generator=torch.Generator().manual_seed(0))
    neighbors = x + 0.1 * torch.randn(32, N_FEATURES, generator=torch.Generator().manual_seed(1))
    results, grads = {}, {}
    for weight in (0.0, 1.0, 2.0):
        trainer = _trainer(parts, neighbor_weight=weight)
        discriminators = [_snapshot(part.discriminator) for part in trainer.model.parts]
        results[weight] = _reconstruction_step(trainer, x, neighbors)
        grads[weight] = (_grad(trainer.model.encoder), _grad(trainer.model.decoder))
        # The neighbourhood term trains the autoencoder, never the discriminators.
        assert all(
            _same(part.discriminator, snapshot)
            for part, snapshot in zip(trainer.model.parts, discriminators, strict=True)
        )
        assert all(
            p.grad is None for part in trainer.model.parts for p in part.discriminator.parameters()
        )
    assert results[0.0][1] is None
    reconstruction, neighborhood = results[1.0]
    assert neighborhood.ndim == 0 and not neighborhood.requires_grad
    assert torch.isfinite(neighborhood) and float(neighborhood) > 0
    # The reconstruction loss is reported apart, before the step: the same for every weight.
    assert torch.equal(reconstruction, results[0.0][0])
    torch.testing.assert_close(results[2.0][1], neighborhood)
    # The term moves the encoder's gradient, in proportion to its weight, and
    # leaves the decoder's alone (it depends on the codes only).
    assert not torch.allclose(grads[1.0][0], grads[0.0][0])
    torch.testing.assert_close(grads[2.0][0] - grads[0.0][0], 2 * (grads[1.0][0] - grads[0.0][0]))
    torch.testing.assert_close(grads[1.0][1], grads[0.0][1])


def test_no_neighbors_in_the_batch_means_no_term():
    trainer = _trainer([(GaussianPrior(), 2)], neighbor_weight=1.0)
    x = torch.randn(16, N_FEATURES, generator=torch.Generator().manual_seed(0))
    _, neighborhood = _reconstruction_step(trainer, x)
    assert neighborhood is None


def test_train_batch_and_epoch_report_the_neighbor_loss():
    x = torch.randn(40, N_FEATURES, generator=torch.Generator().manual_seed(0))
    neighbors = x.roll(1, dims=0)
    for weight in (0.0, 0.5):
        trainer = _trainer([(GaussianPrior(), 2)], neighbor_weight=weight)
        assert ("neighbor_loss" in trainer.loss_names) == (weight != 0)
        losses, _ = trainer.train_batch(Batch(x, neighbors=neighbors))
        assert len(losses) == len(trainer.loss_names)
        record = trainer.run_epoch([Batch(x[:20], neighbors=neighbors[:20]), Batch(x[20:])])
        assert ("neighbor_loss" in record) == (weight != 0)
        if weight:
            assert float(losses[-1]) > 0
            assert 0 < record["neighbor_loss"] < float("inf")


def test_training_on_the_term_pulls_neighbors_together():
    # Only the term (a bare encoder step on it): the neighbours' codes come closer than at first.
    trainer = _trainer([(GaussianPrior(), 2)], neighbor_weight=1.0)
    X = torch.as_tensor(_data(64, N_FEATURES, seed=10), dtype=torch.float32)
    partners = torch.as_tensor(_exact_neighbors(X.numpy(), 1)[:, 0])

    def ratio():
        with torch.no_grad():
            z = trainer.encode(X)
        near = (z - z[partners]).norm(dim=1).mean()
        return float(near / torch.cdist(z, z).mean())

    before = ratio()
    optimizer = torch.optim.Adam(trainer.model.encoder.parameters(), lr=1e-2)
    for _ in range(200):
        codes, neighbor_codes = trainer.encode(torch.cat([X, X[partners]])).split(len(X))
        optimizer.zero_grad()
        _neighbor_loss(trainer, codes, neighbor_codes).backward()
        optimizer.step()
    # Measured over 8 seeds of the networks: 0.40 to 0.54 times the first ratio.
    assert ratio() < 0.75 * before


# ------------------------------------------------------------------ estimators
def _has_neighbor_loss(model):
    keys = {"neighbor_loss" in record for record in model.history_}
    assert len(keys) == 1
    return keys.pop()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"n_components": 2}, True),  # "auto": on for a map of at most 3 dimensions
        ({"n_components": 3}, True),
        ({"n_components": 2, "neighbor_weight": 0}, False),
        ({"n_components": 8}, False),  # "auto": off for larger codes
        ({"n_components": 8, "neighbor_weight": 0.5}, True),
    ],
)
def test_autoencoder_history_has_the_neighbor_loss_iff_the_term_is_on(unit_data, params, expected):
    model = AdversarialAutoencoder(**TINY, **params).fit(unit_data)
    assert model.neighbor_weight == params.get("neighbor_weight", "auto")  # left as given
    assert _has_neighbor_loss(model) == expected
    if expected:
        assert all(0 < record["neighbor_loss"] < float("inf") for record in model.history_)


@pytest.mark.parametrize(("weight", "expected"), [("auto", False), (0.5, True)])
def test_conditional_style_takes_the_term_only_when_asked(unit_data, weight, expected):
    # A conditional model's code is a style meant to carry no class: "auto" is 0.
    y = np.arange(len(unit_data)) % 2
    model = AdversarialAutoencoder(**TINY, conditional=True, neighbor_weight=weight)
    assert _has_neighbor_loss(model.fit(unit_data, y)) == expected


@pytest.mark.parametrize("Model", [AAEClustering, AAEEmbedding])
def test_cluster_models_record_the_neighbor_loss_unless_turned_off(unit_data, Model):
    # "auto" (the default) is on for the clustering and the embedding.
    assert _has_neighbor_loss(Model(n_clusters=3, **TINY).fit(unit_data))
    assert _has_neighbor_loss(Model(n_clusters=3, neighbor_weight=0.5, **TINY).fit(unit_data))
    assert not _has_neighbor_loss(Model(n_clusters=3, neighbor_weight=0, **TINY).fit(unit_data))


def test_classifier_records_the_neighbor_loss_unless_turned_off(unit_data):
    # "auto" (the default) is on for the classifier too, at a lighter weight.
    y = np.where(np.arange(len(unit_data)) % 3 == 0, np.arange(len(unit_data)) % 2, -1)
    assert _has_neighbor_loss(AAEClassifier(**TINY).fit(unit_data, y))
    assert not _has_neighbor_loss(AAEClassifier(neighbor_weight=0, **TINY).fit(unit_data, y))


def test_sparse_input_with_the_term(unit_data):
    X = sp.csr_matrix(np.where(unit_data > 0.5, unit_data, 0.0))
    model = AdversarialAutoencoder(neighbor_weight=0.5, **TINY).fit(X)
    assert _has_neighbor_loss(model)
    assert np.isfinite(model.transform(X)).all()


def test_n_neighbors_is_unused_without_the_term(real_data, monkeypatch):
    def no_search(*args, **kwargs):
        raise AssertionError("neighbours searched for a model without the term")

    monkeypatch.setattr(skaae._batching, "nearest_neighbors", no_search)
    Z = [
        AdversarialAutoencoder(neighbor_weight=0, n_neighbors=k, **TINY)
        .fit(real_data)
        .transform(real_data)
        for k in (1, 7)
    ]
    np.testing.assert_array_equal(Z[0], Z[1])


def test_fit_with_the_term_is_reproducible_and_uses_n_neighbors(real_data):
    def codes(**params):
        model = AdversarialAutoencoder(**{**TINY, "neighbor_weight": 1.0, **params})
        return model.fit(real_data).transform(real_data)

    first = codes(n_neighbors=3)
    np.testing.assert_array_equal(first, codes(n_neighbors=3))
    assert not np.array_equal(first, codes(n_neighbors=7))
    assert not np.array_equal(first, codes(neighbor_weight=0))


# ------------------------------------------------------------------ quality
def test_clustering_with_the_term_recovers_blobs():
    # Four blobs in 20-D, 40 epochs. Measured over 92 fits (6 data sets, 8 to
    # 10 seeds each): the adjusted Rand index was 1.0 in every fit with
    # neighbor_weight=1 (and in 31 of 32 with "auto"); with 0, 7 of 20 fits
    # merged two blobs (ARI 0.6-0.7).
    X, y = make_blobs(n_samples=300, n_features=20, centers=4, center_box=(-5, 5), random_state=0)
    for seed in (0, 1):
        model = AAEClustering(
            n_clusters=4,
            n_components=2,
            hidden_layer_sizes=(32,),
            discriminator_layer_sizes=(16,),
            batch_size=64,
            max_iter=40,
            neighbor_weight=1.0,
            device="cpu",
            random_state=seed,
        ).fit(X)
        assert adjusted_rand_score(y, model.labels_) > 0.9


def test_map_with_the_term_keeps_the_digits_apart(digits):
    # 5-NN accuracy of 450 held-out digits' 2-D codes, from a small AAE fitted
    # on 400 digits for 20 epochs, with the term ("auto", the default) and
    # without (0). Measured over 24 seeds: 0.46 on average without, 0.56 with;
    # higher with the term for every seed, by 0.016 to 0.20 (0.10 on average).
    # Seeds 0-2 here: +0.11, +0.12, +0.02.
    X_train, X_test, y_train, y_test = digits
    X_train, y_train = X_train[:400], y_train[:400]

    def accuracy(weight, seed):
        model = AdversarialAutoencoder(
            n_components=2,
            hidden_layer_sizes=(32,),
            discriminator_layer_sizes=(32,),
            batch_size=64,
            max_iter=20,
            neighbor_weight=weight,
            device="cpu",
            random_state=seed,
        ).fit(X_train)
        knn = KNeighborsClassifier(n_neighbors=5).fit(model.transform(X_train), y_train)
        return knn.score(model.transform(X_test), y_test)

    seeds = (0, 1, 2)
    gains = [accuracy("auto", seed) - accuracy(0, seed) for seed in seeds]
    assert np.mean(gains) > 0.03
    assert min(gains) > -0.02


class _LinearLogits(torch.nn.Module):
    """An encoder whose logits are ``x @ weight``: category boundaries are planes."""

    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight)

    def forward(self, x, generator=None):
        return x @ self.weight


def _smoothness(trainer, x, neighbors):
    codes = trainer.encode(x)
    return float(_neighbourhood(trainer).smoothness_loss(x, neighbors, codes, trainer).detach())


def test_smoothness_is_zero_when_the_categories_ignore_the_input():
    trainer = _categorical_trainer()
    trainer.model.encoder = _LinearLogits(torch.zeros(N_FEATURES, 3))
    x = torch.randn(40, N_FEATURES, generator=torch.Generator().manual_seed(0))
    assert _smoothness(trainer, x, x.flip(0)) == pytest.approx(0.0, abs=1e-6)


def test_smoothness_penalises_a_boundary_between_a_row_and_its_neighbour():
    # Categories 0 and 1 are split by the plane x0 = 0, steeply.
    weight = torch.zeros(N_FEATURES, 3)
    weight[0, 0], weight[0, 1] = 20.0, -20.0
    trainer = _categorical_trainer()
    trainer.model.encoder = _LinearLogits(weight)
    step = torch.zeros(30, N_FEATURES)
    step[:, 1] = 1.0  # each neighbour one unit away, along the boundary
    near, far = torch.zeros(30, N_FEATURES), torch.zeros(30, N_FEATURES)
    near[:, 0], far[:, 0] = 0.1, 3.0  # 0.1 and 3 from the boundary; radius 0.25
    near_loss = _smoothness(trainer, near, near + step)
    far_loss = _smoothness(trainer, far, far + step)
    assert near_loss > 1.0
    assert far_loss < 1e-3
    # The radius follows the distance to the neighbour: a neighbour ten times
    # nearer gives a ball that no longer reaches the boundary.
    assert _smoothness(trainer, near, near + step / 10) < 0.1 * near_loss


def test_smoothness_joins_the_neighborhood_term_of_categorical_parts_only():
    x = torch.randn(32, N_FEATURES, generator=torch.Generator().manual_seed(1))
    neighbors = x + 0.1
    gaussian = _trainer([(GaussianPrior(), 2)])
    calls = []
    _neighbourhood(gaussian).smoothness_loss = lambda *args: calls.append(args) or torch.tensor(0.0)
    _reconstruction_step(gaussian, x, neighbors)
    assert calls == []
    categorical = _categorical_trainer()
    neighbourhood = _neighbourhood(categorical)
    original = neighbourhood.smoothness_loss
    neighbourhood.smoothness_loss = lambda *args: calls.append(args) or original(*args)
    _reconstruction_step(categorical, x, neighbors)
    assert len(calls) == 1


def test_memmap_in_one_window_searches_its_neighbors_once(tmp_path, monkeypatch):
    # As in memory: one search per fit, then the same table every epoch.
    calls = []
    search = skaae._batching.nearest_neighbors
    monkeypatch.setattr(
        skaae._batching, "nearest_neighbors", lambda *a, **k: calls.append(1) or search(*a, **k)
    )
    X = _data(70, 4, seed=12)
    source = make_batch_source(_memmap(tmp_path, X), CPU)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        list(source.batches(16, generator, n_neighbors=3))
    assert len(calls) == 1


def test_smoothness_of_a_stochastic_encoder_measures_the_move_not_the_noise():
    # A Gaussian encoder whose categories ignore x but are noisy: moving x
    # changes nothing, so the smoothness term must vanish despite the noise.
    trainer = _categorical_trainer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        trainer.model.encoder = make_encoder("gaussian", N_FEATURES, (16,), 3)
    with torch.no_grad():
        last = trainer.model.encoder.body[-1]
        last.weight.zero_()
        last.bias.zero_()  # mean 0 and log-variance 0: logits are pure noise
    x = torch.randn(40, N_FEATURES, generator=torch.Generator().manual_seed(0))
    codes = trainer.encode(x)
    smoothness = _neighbourhood(trainer).smoothness_loss(x, x.flip(0), codes, trainer)
    assert float(smoothness.detach()) == pytest.approx(0.0)


def test_neighbor_losses_stay_float32_under_bfloat16():
    from skaae.training import precision_context

    trainer = _trainer([(CategoricalPrior(), 3), (GaussianPrior(), 2)])
    x = torch.randn(32, N_FEATURES, generator=torch.Generator().manual_seed(2))
    with precision_context(CPU, "bfloat16"):
        _, neighborhood = _reconstruction_step(trainer, x, x + 0.1)
    assert neighborhood.dtype == torch.float32


def test_a_one_row_batch_keeps_the_attraction():
    trainer = _trainer([(GaussianPrior(), 2)])
    z = torch.tensor([[0.0, 0.0]])
    far, near = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.1, 0.0]])
    assert float(_neighbor_loss(trainer, z, far)) > float(_neighbor_loss(trainer, z, near)) > 0

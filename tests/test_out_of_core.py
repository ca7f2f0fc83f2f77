"""Data larger than memory: memmaps read in chunks without mapping their pages, and partial_fit
(with and without labels)."""

import pickle
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import skaae._neighbors as neighbors_module
import skaae._out_of_core as out_of_core
from skaae import (
    AAEClassifier,
    AAEClustering,
    AAEEmbedding,
    AdversarialAutoencoder,
    GaussianMixturePrior,
)
from skaae._batching import WINDOW_BLOCKS, BatchSource, BlockShuffledSource, make_batch_source
from skaae._out_of_core import ChunkedSummary, RowReader, is_memory_mapped

CPU = torch.device("cpu")


def _memmap(path, X, mode="r", order="C"):
    """``X`` written to ``path`` and mapped back with ``mode``."""
    out = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape, order=order)
    out[:] = X
    out.flush()
    del out
    return np.memmap(path, dtype=X.dtype, mode=mode, shape=X.shape, order=order)


def _weights(aae):
    return [
        value.detach().numpy().copy()
        for name in aae._module_attributes
        for value in getattr(aae, name).state_dict().values()
    ]


def _losses(aae):
    return [{k: v for k, v in record.items() if k != "time"} for record in aae.history_]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 1 KiB, so that small files span many blocks and windows."""
    monkeypatch.setattr(out_of_core, "BLOCK_BYTES", 1024)


# --------------------------------------------------------------- reading rows
def _views(tmp_path):
    """``(name, memmap view, the same rows in memory, read with file reads?)``."""
    X = np.arange(40 * 6, dtype=np.float32).reshape(40, 6)
    mapped = _memmap(tmp_path / "x.f32", X)
    np.save(tmp_path / "x.npy", X.astype(np.float64))
    npy = np.load(tmp_path / "x.npy", mmap_mode="r")  # data after a header: offset > 0
    fortran = _memmap(tmp_path / "f.f32", X, order="F")
    copy_on_write = _memmap(tmp_path / "c.f32", X, mode="c")
    copy_on_write[3] = -1.0  # in memory only: file reads would miss it
    changed = X.copy()
    changed[3] = -1.0
    return [
        ("whole", mapped, X, True),
        ("npy header", npy, X, True),
        ("row slice", mapped[7:31], X[7:31], True),
        ("view of a view", npy[5:][3:20], X[8:25], True),
        ("column slice", mapped[2:, 1:4], X[2:, 1:4], True),
        ("every third row", mapped[::3], X[::3], True),
        ("asarray of a memmap", np.asarray(mapped)[4:], X[4:], True),
        ("fortran order", fortran, X, False),
        ("copy on write", copy_on_write, changed, False),
    ]


def test_row_reader_reads_the_rows_of_every_layout(tmp_path):
    for name, view, expected, by_file in _views(tmp_path):
        assert is_memory_mapped(view), name
        reader = RowReader(view)
        assert (reader._path is not None) == by_file, name
        n = len(expected)
        for start, stop in [(0, n), (0, 1), (n - 1, n), (2, 9), (5, 5)]:
            block = reader.read(start, stop)
            assert block.flags.c_contiguous and block.flags.writeable, name
            np.testing.assert_array_equal(block, expected[start:stop], err_msg=name)


def test_only_file_mapped_arrays_count_as_memory_mapped(tmp_path):
    mapped = _memmap(tmp_path / "x.f32", np.ones((5, 2), np.float32))
    assert is_memory_mapped(mapped[1:]) and is_memory_mapped(np.asarray(mapped))
    assert not is_memory_mapped(mapped[[0, 2]])  # fancy indexing copies
    assert not is_memory_mapped(np.ones((5, 2)))
    assert not is_memory_mapped(sp.csr_matrix(np.ones((5, 2))))


def _rss_file_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("order", ["C", "F"])  # file reads; reads through the mapping
def test_reading_leaves_no_page_of_the_file_mapped(tmp_path, order):
    X = _memmap(tmp_path / "x.f32", np.ones((5000, 1000), np.float32), order=order)  # 20 MB
    before = _rss_file_kb()
    reader = RowReader(X)
    total = sum(float(reader.read(s, s + 500).sum()) for s in range(0, 5000, 500))
    assert total == 5e6
    assert _rss_file_kb() - before < 5000
    np.asarray(X).sum()  # reading through the mapping, as numpy does, maps every page
    assert _rss_file_kb() - before > 15000


# ----------------------------------------------------------------- statistics
def test_chunked_summary_equals_numpy_on_the_whole_array():
    rng = np.random.RandomState(0)
    # A large offset and small spread: a naive sum of squares would lose the variance.
    X = 1e6 + rng.normal(size=(1000, 5)) * np.array([1e-3, 1.0, 10.0, 0.0, 1e3])
    summary = ChunkedSummary(5)
    for start, stop in [(0, 1), (1, 300), (300, 301), (301, 301), (301, 1000)]:
        summary.update(X[start:stop])
    assert (summary.min, summary.max) == (X.min(), X.max())
    assert summary.n_samples == len(X)
    np.testing.assert_allclose(summary.mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(summary.var, X.var(axis=0), rtol=1e-9, atol=1e-12)
    ranged = ChunkedSummary(5, moments=False)
    ranged.update(X)
    assert ranged.n_samples == len(X)
    with pytest.raises(AttributeError, match="without the column moments"):
        _ = ranged.mean


def test_fit_on_a_memmap_summarises_it_chunk_by_chunk(tmp_path, small_blocks, real_data):
    X = _memmap(tmp_path / "x.f64", real_data)
    aae = AdversarialAutoencoder(max_iter=1, reconstruction_loss="mse", device="cpu")
    _, summary = aae._validate_X(X, reset=True, summarise=True)
    assert isinstance(summary, ChunkedSummary) and summary.n_samples == len(real_data)
    np.testing.assert_allclose(summary.mean, real_data.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(summary.var, real_data.var(axis=0), rtol=1e-10)
    assert (summary.min, summary.max) == (real_data.min(), real_data.max())


# ------------------------------------------------------------------- batches
def _rows_of(batches):
    """The row tensors of the mini-batches."""
    return [batch.x for batch in batches]


def _block_source(X, tmp_path, rows=None):
    return BlockShuffledSource(_memmap(tmp_path / "x.f32", X), CPU, rows=rows)


def test_block_shuffled_batches_serve_every_row_once(tmp_path, small_blocks):
    X = np.arange(24000, dtype=np.float32).reshape(1000, 24)  # 100 blocks, 7 windows
    source = _block_source(X, tmp_path)
    assert -(-1000 // source._block_rows) > 2 * WINDOW_BLOCKS
    batches = _rows_of(source.batches(64, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [64] * 15 + [40]
    rows = torch.cat(batches).numpy()[:, 0].astype(int) // 24
    assert sorted(rows) == list(range(1000)) and list(rows) != sorted(rows)
    again = torch.cat(_rows_of(source.batches(64, torch.Generator().manual_seed(0)))).numpy()
    np.testing.assert_array_equal(torch.cat(batches).numpy(), again)
    np.testing.assert_array_equal(torch.cat(_rows_of(source.batches(64))).numpy(), X)


def test_block_shuffled_batches_serve_the_chosen_rows(tmp_path, small_blocks):
    X = np.arange(24000, dtype=np.float32).reshape(1000, 24)
    rows = np.sort(np.random.RandomState(0).choice(1000, 300, replace=False))
    source = _block_source(X, tmp_path, rows=rows)
    assert source.n_samples == 300
    served = torch.cat(_rows_of(source.batches(32, torch.Generator().manual_seed(0)))).numpy()
    np.testing.assert_array_equal(np.sort(served[:, 0]), X[rows, 0])
    np.testing.assert_array_equal(torch.cat(_rows_of(source.batches(32))).numpy(), X[rows])


# ------------------------------------------------------------------------ fit
@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_on_a_small_memmap_equals_fit_in_memory(make_aae, unit_data, tmp_path, early_stopping):
    # The data fits in one window: the memmap is shuffled exactly, as in memory.
    X = _memmap(tmp_path / "x.f64", unit_data)
    params = {"early_stopping": early_stopping, "validation_fraction": 0.2}
    mapped = make_aae(**params).fit(X)
    in_memory = make_aae(**params).fit(unit_data)
    assert _losses(mapped) == _losses(in_memory)
    for a, b in zip(_weights(mapped), _weights(in_memory), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mapped.transform(X), in_memory.transform(unit_data))
    assert mapped.score(X) == in_memory.score(unit_data)


def test_fit_on_a_memmap_standardises_like_in_memory(make_aae, real_data, tmp_path):
    mapped = make_aae().fit(_memmap(tmp_path / "x.f64", real_data))
    in_memory = make_aae().fit(real_data)
    assert mapped.reconstruction_loss_ == "mse"
    np.testing.assert_allclose(mapped._offset, in_memory._offset, rtol=1e-13)
    np.testing.assert_allclose(mapped._scale, in_memory._scale, rtol=1e-12)


def test_fit_on_a_memmap_of_many_windows(make_aae, digits, tmp_path, small_blocks):
    X = _memmap(tmp_path / "x.f32", digits[0].astype(np.float32))  # 1347 rows, 6 windows
    first = make_aae(max_iter=4).fit(X)
    losses = [record["reconstruction_loss"] for record in first.history_]
    assert losses[-1] < losses[0]
    codes = first.transform(X)
    assert codes.shape == (len(X), 2) and codes.dtype == np.float32
    assert np.isfinite(codes).all()
    second = make_aae(max_iter=4).fit(X)
    assert _losses(second) == _losses(first)
    np.testing.assert_array_equal(second.transform(X), codes)
    # Not the in-memory shuffle (blocks are visited in a random order instead).
    assert _losses(make_aae(max_iter=4).fit(digits[0].astype(np.float32))) != _losses(first)


def test_an_integer_memmap_is_converted_batch_by_batch(make_aae, digits, tmp_path):
    X = _memmap(tmp_path / "x.u8", (digits[0] * 16).astype(np.uint8))
    aae = make_aae().fit(X)
    assert aae.reconstruction_loss_ == "mse"
    assert aae.transform(X).dtype == np.float64
    np.testing.assert_allclose(aae._offset, digits[0].mean(axis=0) * 16, rtol=1e-12)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_fit_never_holds_the_memmap_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(out_of_core, "BLOCK_BYTES", 1 << 17)  # windows of 2 MiB
    rng = np.random.RandomState(0)
    X = _memmap(tmp_path / "x.f32", rng.uniform(size=(20000, 500)).astype(np.float32))  # 40 MB
    aae = AdversarialAutoencoder(
        hidden_layer_sizes=(8,),
        discriminator_layer_sizes=(8,),
        batch_size=512,
        max_iter=1,
        early_stopping=True,
        device="cpu",
        random_state=0,
    )
    aae.fit(X[:600])  # first-use imports and allocations of torch are not the data's
    rss_before = _rss_file_kb()
    peaks = []
    for step in (lambda: aae.fit(X), lambda: aae.transform(X)):
        tracemalloc.start()
        try:
            result = step()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    codes = result
    assert peaks[0] < 8e6  # a window of 2 MiB and its copies
    assert peaks[1] < 20e6  # two inference blocks of 4096 rows (8 MB)
    assert _rss_file_kb() - rss_before < 10000
    assert codes.shape == (20000, 2) and aae.n_iter_ == 1


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_value_in_a_chunk_is_reported(
    make_aae, unit_data, tmp_path, small_blocks, bad
):
    X = unit_data.copy()
    X[100, 2] = bad
    mapped = _memmap(tmp_path / "x.f64", X)
    with pytest.raises(ValueError, match=r"(?s)Input X contains (NaN|infinity).*in row 100\."):
        make_aae().fit(mapped)
    aae = make_aae().fit(unit_data)
    with pytest.raises(ValueError, match="Input X contains"):
        aae.transform(mapped)


def test_memmaps_are_checked_like_arrays(make_aae, unit_data, tmp_path):
    aae = make_aae().fit(_memmap(tmp_path / "a.f64", unit_data))
    with pytest.raises(ValueError, match="X has 5 features, but AdversarialAutoencoder"):
        aae.transform(_memmap(tmp_path / "b.f64", unit_data[:, :5]))
    with pytest.raises(ValueError, match=r"Expected 2D array"):
        make_aae().fit(_memmap(tmp_path / "c.f64", unit_data[:, 0]))
    with pytest.raises(ValueError, match="0 sample"):
        make_aae().fit(_memmap(tmp_path / "d.f64", unit_data)[:0])
    with pytest.raises(ValueError, match="too large for float32"):
        make_aae().fit(_memmap(tmp_path / "e.f64", unit_data * 1e300))
    with pytest.raises(ValueError, match="Complex data not supported"):
        make_aae().fit(_memmap(tmp_path / "f.c16", unit_data.astype(complex)))
    bce = make_aae(reconstruction_loss="bce")
    with pytest.raises(ValueError, match=r"needs X in \[0, 1\]"):
        bce.fit(_memmap(tmp_path / "g.f64", unit_data * 2))
    assert not hasattr(bce, "encoder_")  # refused before initialising


# --------------------------------------------------------------- partial_fit
def test_partial_fit_chunks_reduce_the_loss(make_aae, digits):
    X = digits[0]
    aae = make_aae()
    for _ in range(3):
        for chunk in np.array_split(X, 4):
            aae.partial_fit(chunk)
    assert aae.n_iter_ == 12 and len(aae.history_) == 12
    losses = [record["reconstruction_loss"] for record in aae.history_]
    assert np.mean(losses[-4:]) < 0.9 * np.mean(losses[:4])
    assert [record["epoch"] for record in aae.history_] == list(range(1, 13))


def test_partial_fit_initialises_from_the_first_chunk_only(make_aae, real_data):
    aae = make_aae().partial_fit(real_data[:60])
    assert aae.reconstruction_loss_ == "mse" and aae.n_features_in_ == 6
    offset, scale = aae._offset.copy(), aae._scale.copy()
    np.testing.assert_allclose(offset, real_data[:60].mean(axis=0))
    aae.partial_fit(real_data[60:] + 100.0)
    np.testing.assert_array_equal(aae._offset, offset)
    np.testing.assert_array_equal(aae._scale, scale)


def test_partial_fit_keeps_the_optimiser_state(make_aae, unit_data):
    aae = make_aae().partial_fit(unit_data)
    trainer = aae._trainer
    aae.partial_fit(unit_data)
    assert aae._trainer is trainer
    state = trainer.autoencoder_optimizer.state_dict()["state"]
    assert int(state[0]["step"]) == 2 * 2 * 2  # 2 calls x 2 batches x 2 steps (phases 1 and 3)
    # One partial_fit call is one epoch of fit with warm_start: the same model.
    fitted = make_aae(max_iter=1, warm_start=True).fit(unit_data).fit(unit_data)
    assert _losses(fitted) == _losses(aae)
    for a, b in zip(_weights(fitted), _weights(aae), strict=True):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_checks_the_features_and_the_structure(make_aae, unit_data):
    aae = make_aae().partial_fit(unit_data)
    with pytest.raises(ValueError, match="X has 5 features, but AdversarialAutoencoder"):
        aae.partial_fit(unit_data[:, :5])
    aae.set_params(n_components=3)
    with pytest.raises(ValueError, match=r"partial_fit cannot change n_components.*call fit"):
        aae.partial_fit(unit_data)
    assert aae.n_iter_ == 1
    aae.set_params(n_components=2, early_stopping=True, max_iter=50).partial_fit(unit_data)
    assert aae.n_iter_ == 2 and "validation_loss" not in aae.history_[-1]


def test_partial_fit_pickles_and_continues(make_aae, unit_data):
    aae = make_aae().partial_fit(unit_data[:60])
    loaded = pickle.loads(pickle.dumps(aae))
    np.testing.assert_array_equal(loaded.transform(unit_data), aae.transform(unit_data))
    loaded.partial_fit(unit_data[60:])
    assert loaded.n_iter_ == 2 and np.isfinite(loaded.transform(unit_data)).all()


def test_partial_fit_streams_memmaps_and_sparse(make_aae, unit_data, tmp_path, small_blocks):
    X = _memmap(tmp_path / "x.f64", unit_data)
    aae = make_aae().partial_fit(X[:60]).partial_fit(X[60:])
    sparse = make_aae().partial_fit(sp.csr_matrix(unit_data[:60]))
    sparse.partial_fit(sp.csr_matrix(unit_data[60:]))
    for model in (aae, sparse):
        assert model.n_iter_ == 2 and np.isfinite(model.transform(X)).all()


def test_partial_fit_interrupted_keeps_the_model_before_the_call(make_aae, unit_data):
    aae = make_aae().partial_fit(unit_data)
    before = _weights(aae)

    def interrupt(module, inputs, output):
        raise KeyboardInterrupt

    handle = aae.encoder_.register_forward_hook(interrupt)
    try:
        with pytest.warns(RuntimeWarning, match="interrupted after 1 epochs"):
            aae.partial_fit(unit_data)
    finally:
        handle.remove()
    assert aae.n_iter_ == 1
    for a, b in zip(_weights(aae), before, strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------- labels
def _semi_labels(y, every=3):
    """``y`` with two samples in three unlabelled (-1)."""
    return np.where(np.arange(len(y)) % every == 0, y, -1)


def test_block_shuffled_batches_carry_the_labels_of_their_rows(tmp_path, small_blocks):
    X = np.arange(24000, dtype=np.float32).reshape(1000, 24)  # row i starts with 24 * i
    y = (np.arange(1000) * 7) % 11 - 1  # -1 (unlabelled) among them
    rows = np.sort(np.random.RandomState(0).choice(1000, 300, replace=False))
    for served in (None, rows):
        source = BlockShuffledSource(_memmap(tmp_path / "x.f32", X), CPU, rows=served, y=y)
        batches = list(source.batches(32, torch.Generator().manual_seed(0)))
        assert all(isinstance(b, tuple) and len(b[0]) == len(b[1]) for b in batches)
        x = torch.cat([b[0] for b in batches]).numpy()
        labels = torch.cat([b[1] for b in batches]).numpy()
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(labels, y[x[:, 0].astype(int) // 24])
        expected = X if served is None else X[served]
        np.testing.assert_array_equal(np.sort(x[:, 0]), expected[:, 0])


def test_a_held_labelled_source_is_read_once_and_shuffled_exactly(tmp_path, small_blocks):
    X = np.arange(24000, dtype=np.float32).reshape(1000, 24)
    y = np.arange(1000) % 5
    rows = np.arange(0, 1000, 50)  # 20 rows over 100 blocks: one window's worth
    mapped = _memmap(tmp_path / "x.f32", X)
    held = make_batch_source(mapped, CPU, rows=rows, y=y, hold=True)
    assert type(held) is BatchSource
    in_memory = BatchSource(X, CPU, rows=rows, y=y)
    for a, b in zip(
        held.batches(8, torch.Generator().manual_seed(1)),
        in_memory.batches(8, torch.Generator().manual_seed(1)),
        strict=True,
    ):
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    # More rows than a window: streamed from the file.
    assert type(make_batch_source(mapped, CPU, y=y, hold=True)) is BlockShuffledSource


_LABELLED_MODELS = {
    "label-regularised": (
        lambda **kw: AdversarialAutoencoder(prior=GaussianMixturePrior(n_modes=10), **kw),
        _semi_labels,
    ),
    "conditional": (lambda **kw: AdversarialAutoencoder(conditional=True, **kw), lambda y: y),
    "classifier": (lambda **kw: AAEClassifier(**kw), _semi_labels),
}


@pytest.mark.parametrize("name", list(_LABELLED_MODELS))
@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_with_labels_on_a_small_memmap_equals_fit_in_memory(
    fast_params, digits, tmp_path, name, early_stopping
):
    # The data fits in one window: the memmap is shuffled exactly, as in memory.
    make, labels = _LABELLED_MODELS[name]
    X, y = digits[0][:400], labels(digits[2][:400])
    params = {**fast_params, "early_stopping": early_stopping, "validation_fraction": 0.2}
    mapped = make(**params).fit(_memmap(tmp_path / "x.f64", X), y)
    in_memory = make(**params).fit(X, y)
    np.testing.assert_array_equal(mapped.classes_, in_memory.classes_)
    assert _losses(mapped) == _losses(in_memory)
    for a, b in zip(_weights(mapped), _weights(in_memory), strict=True):
        np.testing.assert_array_equal(a, b)
    X_mapped = _memmap(tmp_path / "x.f64", X)
    np.testing.assert_array_equal(mapped.transform(X_mapped), in_memory.transform(X))
    if name == "classifier":
        np.testing.assert_array_equal(mapped.predict_proba(X_mapped), in_memory.predict_proba(X))
    if name == "conditional":
        assert mapped.score(X_mapped, y) == in_memory.score(X, y)


def test_a_classifier_trains_on_a_memmap_of_many_windows(
    fast_params, digits, tmp_path, small_blocks
):
    X = _memmap(tmp_path / "x.f32", digits[0].astype(np.float32))  # 1347 rows, 6 windows
    y = _semi_labels(digits[2], every=10)
    first = AAEClassifier(**{**fast_params, "early_stopping": True}).fit(X, y)
    second = AAEClassifier(**{**fast_params, "early_stopping": True}).fit(X, y)
    assert _losses(second) == _losses(first)
    assert first.predict(X).shape == (len(X),) and set(first.predict(X)) <= set(range(10))


# ----------------------------------------------------------- partial_fit, labels
def test_partial_fit_with_labels_fixes_the_classes_at_the_first_call(make_aae, digits):
    X, y = digits[0][:300], digits[2][:300]
    aae = make_aae(prior=GaussianMixturePrior(n_modes=10))
    aae.partial_fit(X[:150], np.where(y[:150] < 5, y[:150], -1))
    np.testing.assert_array_equal(aae.classes_, np.arange(5))
    aae.partial_fit(X[150:], np.where(y[150:] < 3, y[150:], -1))  # fewer classes: fine
    aae.partial_fit(X[150:])  # no labels: unlabelled samples
    with pytest.raises(ValueError, match="not seen in fit: 5"):
        aae.partial_fit(X[150:], np.where(y[150:] < 6, y[150:], -1))
    assert aae.n_iter_ == 3
    # One partial_fit call is one epoch of fit: the same model.
    labels = np.where(y < 5, y, -1)
    once = make_aae(prior=GaussianMixturePrior(n_modes=10)).partial_fit(X, labels)
    fitted = make_aae(prior=GaussianMixturePrior(n_modes=10), max_iter=1).fit(X, labels)
    assert _losses(once) == _losses(fitted)
    for a, b in zip(_weights(once), _weights(fitted), strict=True):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_cannot_add_labels_later(make_aae, digits):
    X, y = digits[0][:200], digits[2][:200]
    aae = make_aae(prior=GaussianMixturePrior(n_modes=10)).partial_fit(X)
    with pytest.raises(ValueError, match="partial_fit cannot add label regularisation"):
        aae.partial_fit(X, y)
    conditional = make_aae(conditional=True).partial_fit(X, y)
    with pytest.raises(ValueError, match="conditional=True"):
        conditional.partial_fit(X)
    assert conditional.n_iter_ == 1


def test_classifier_partial_fit_needs_the_classes_first(fast_params, digits, tmp_path):
    X, y = digits[0][:300], _semi_labels(digits[2][:300])
    clf = AAEClassifier(**fast_params)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"labels that are not in classes: \['9'\]"):
        clf.partial_fit(X, y, classes=range(9))
    assert not hasattr(clf, "encoder_")  # refused before initialising
    classes = np.arange(10)
    first = np.where(y < 4, y, -1)  # the first chunk need not hold every class
    clf.partial_fit(X[:150], first[:150], classes=classes)
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.predict_proba(X).shape == (300, 10)
    clf.partial_fit(_memmap(tmp_path / "x.f64", X[150:]), y[150:])
    clf.partial_fit(X[150:], y[150:], classes=classes)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not seen in fit: 12"):
        clf.partial_fit(X[:2], [12, 3])
    assert clf.n_iter_ == 3
    # One call with every class is one epoch of fit.
    once = AAEClassifier(**fast_params).partial_fit(X, y, classes=classes)
    fitted = AAEClassifier(**{**fast_params, "max_iter": 1}).fit(X, y)
    assert _losses(once) == _losses(fitted)
    for a, b in zip(_weights(once), _weights(fitted), strict=True):
        np.testing.assert_array_equal(a, b)


def test_clustering_and_embedding_have_no_partial_fit():
    for model in (AAEClustering(), AAEEmbedding()):
        assert not hasattr(model, "partial_fit")
        with pytest.raises(AttributeError) as error:
            model.partial_fit(np.zeros((4, 2)))
        # The traceback says why, and what to do instead.
        assert "fit it on a numpy.memmap" in str(error.value.__cause__)


# ---------------------------------------------------- neighbours of a memmap
class _Allocations(TorchDispatchMode):
    """The shapes of the tensors that the torch operations run in its scope allocate.

    Views, in-place operations and ``out=`` variants allocate none.
    """

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if not func.is_view and not func._schema.is_mutable:
            leaves = tree_leaves(result)
            self.shapes += [tuple(leaf.shape) for leaf in leaves if isinstance(leaf, torch.Tensor)]
        return result


def test_the_neighbour_search_of_a_memmap_allocates_per_window_not_per_query_block(
    tmp_path, small_blocks, monkeypatch
):
    # Issue 19: a fresh distance block for every block of query rows grew the C
    # heap by about a block each (1.5 GB for a 21,392-row window of MNIST rows,
    # as if the window's whole distance matrix were held), and each window was
    # copied five times on its way to the mini-batches.
    monkeypatch.setattr(neighbors_module, "_QUERY_ROWS", 32)
    X = np.random.RandomState(0).uniform(size=(2048, 8)).astype(np.float32)
    source = _block_source(X, tmp_path)  # blocks of 32 rows: 4 windows of 512 rows
    window_rows = WINDOW_BLOCKS * source._block_rows
    n_windows = -(-len(X) // window_rows)
    assert (window_rows, n_windows) == (512, 4)
    with _Allocations() as allocations:
        batches = source.batches(100, torch.Generator().manual_seed(0), n_neighbors=5)
        assert sum(len(batch.neighbors) for batch in batches) == len(X)
    # One distance block per window (was one per 32 query rows: 16 per window).
    assert allocations.shapes.count((32, window_rows)) == n_windows
    # Per window, the search's squared rows, the neighbours and the shuffled
    # rows (were also the shuffled neighbours and the two joined to the rows
    # carried over from the window before).
    copies = [s for s in allocations.shapes if len(s) == 2 and s[1] == 8 and s[0] > 256]
    assert len(copies) <= 3 * n_windows

"""skaae.plotting: what the figures hold (not their pixels), lazy import and its error."""

import builtins
import doctest
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import skaae.plotting  # noqa: E402
from skaae import AAEEmbedding, AdversarialAutoencoder  # noqa: E402
from skaae.plotting import (  # noqa: E402
    plot_codes,
    plot_decoder_grid,
    plot_history,
    plot_samples,
)

PARAMS = {
    "n_components": 2,
    "hidden_layer_sizes": (32,),
    "discriminator_layer_sizes": (32,),
    "batch_size": 64,
    "max_iter": 3,
    "random_state": 0,
}
SIDE = 8  # digits are 8x8 images


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data(digits):
    X_train, X_test, _, y_test = digits
    return X_train, X_test[:200], y_test[:200]


@pytest.fixture(scope="module")
def model(data):
    return AdversarialAutoencoder(**PARAMS).fit(data[0])


def colours_of(collection):
    return {tuple(np.round(colour, 6)) for colour in collection.get_facecolors()}


# ------------------------------------------------------------------ import
def test_import_does_not_import_matplotlib():
    code = (
        "import sys, skaae, skaae.plotting; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'; "
        "assert skaae.plotting.plot_codes"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_raises_a_clear_error(monkeypatch, model, data):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    calls = [
        lambda: plot_codes(model, data[1], data[2]),
        lambda: plot_samples(model, 4),
        lambda: plot_history(model),
        lambda: plot_decoder_grid(model, n=3),
    ]
    for call in calls:
        with pytest.raises(ImportError, match="pip install matplotlib") as error:
            call()
        assert "examples" in str(error.value)


def test_docstring_examples_run():
    result = doctest.testmod(skaae.plotting, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# ------------------------------------------------------------------ plot_codes
def test_plot_codes_beside_the_prior(model, data):
    _, X, y = data
    axes = plot_codes(model, X, y)
    fig = axes[0].figure
    assert len(axes) == 2
    assert len(fig.axes) == 2
    codes = model.transform(X)
    labels = np.unique(y)
    ax_codes, ax_prior = axes
    # One collection per label, in sorted order, holding exactly that label's codes.
    assert len(ax_codes.collections) == len(labels)
    for label, collection in zip(labels, ax_codes.collections, strict=True):
        np.testing.assert_allclose(collection.get_offsets(), codes[y == label], rtol=1e-6)
        assert collection.get_label() == str(label)
    colours = [colours_of(collection) for collection in ax_codes.collections]
    assert all(len(c) == 1 for c in colours)  # one colour per label ...
    assert len(set().union(*colours)) == len(labels)  # ... and a different one for each
    # The prior panel: as many draws as codes, those of prior_.sample(n, random_state=0).
    [draws] = ax_prior.collections
    np.testing.assert_allclose(
        draws.get_offsets(), model.prior_.sample(len(X), random_state=0), rtol=1e-6
    )
    assert ax_codes.get_xlim() == ax_prior.get_xlim()
    assert ax_codes.get_ylim() == ax_prior.get_ylim()
    assert [text.get_text() for text in ax_codes.get_legend().get_texts()] == list(map(str, labels))


def test_plot_codes_on_one_axes_draws_the_prior_under_the_codes(model, data):
    _, X, y = data
    fig, ax = plt.subplots()
    assert plot_codes(model, X, y, n_prior=50, ax=ax, random_state=3) is ax
    assert len(fig.axes) == 1
    draws, *by_label = ax.collections
    np.testing.assert_allclose(
        draws.get_offsets(), model.prior_.sample(50, random_state=3), rtol=1e-6
    )
    assert draws.get_zorder() < min(c.get_zorder() for c in by_label)
    assert len(by_label) == len(np.unique(y))


def test_plot_codes_without_labels_or_prior(model, data):
    _, X, _ = data
    ax = plot_codes(model, X, n_prior=0)
    assert len(ax.figure.axes) == 1
    [codes] = ax.collections
    np.testing.assert_allclose(codes.get_offsets(), model.transform(X), rtol=1e-6)
    assert ax.get_legend() is None


def test_plot_codes_takes_the_first_two_dimensions(data):
    X_train, X, y = data
    model = AdversarialAutoencoder(**{**PARAMS, "n_components": 3, "max_iter": 1}).fit(X_train)
    axes = plot_codes(model, X, y)
    offsets = np.vstack([c.get_offsets() for c in axes[0].collections])
    codes = model.transform(X)[:, :2]
    order = np.argsort(y, kind="stable")
    np.testing.assert_allclose(offsets, codes[order], rtol=1e-6)
    np.testing.assert_allclose(
        axes[1].collections[0].get_offsets(),
        model.prior_.sample(len(X), random_state=0)[:, :2],
        rtol=1e-6,
    )


def test_plot_codes_of_an_embedding_has_no_prior_panel(data):
    X_train, X, y = data
    embedding = AAEEmbedding(n_components=2, max_iter=1, random_state=0).fit(X_train)
    ax = plot_codes(embedding, X, y)
    assert len(ax.figure.axes) == 1
    assert len(ax.collections) == len(np.unique(y))


def test_plot_codes_errors(data):
    X_train, X, y = data
    model = AdversarialAutoencoder(**{**PARAMS, "n_components": 1, "max_iter": 1}).fit(X_train)
    with pytest.raises(ValueError, match="first two code dimensions"):
        plot_codes(model, X, y)
    model = AdversarialAutoencoder(**{**PARAMS, "max_iter": 1}).fit(X_train)
    with pytest.raises(ValueError, match="shape"):
        plot_codes(model, X, y[:-1])
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="2 Axes"):
        plot_codes(model, X, y, ax=axes)


# ------------------------------------------------------------------ plot_samples
def test_plot_samples_of_an_estimator_is_a_grid_of_its_samples(model):
    ax = plot_samples(model, 12, random_state=5, n_cols=4)
    [image] = ax.images
    grid = np.ma.filled(image.get_array(), np.nan)
    step = SIDE + 1
    assert grid.shape == (3 * step - 1, 4 * step - 1)
    samples = model.sample(12, random_state=5)
    for i, sample in enumerate(samples):
        row, col = divmod(i, 4)
        tile = grid[row * step : row * step + SIDE, col * step : col * step + SIDE]
        np.testing.assert_allclose(tile, sample.reshape(SIDE, SIDE), rtol=1e-6)
    assert np.isnan(grid[SIDE, :]).all()  # a blank line between the rows


def test_plot_samples_defaults_and_shapes(model, data):
    X_train = data[0]
    ax = plot_samples(model)  # 100 images, 10 per row
    assert ax.images[0].get_array().shape == (10 * (SIDE + 1) - 1, 10 * (SIDE + 1) - 1)
    _, ax = plt.subplots()
    assert plot_samples(X_train[:6], ax=ax) is ax  # 6 images: 3 per row
    assert ax.images[0].get_array().shape == (2 * (SIDE + 1) - 1, 3 * (SIDE + 1) - 1)
    ax = plot_samples(X_train[:4], image_shape=(4, 16), n_cols=4)
    assert ax.images[0].get_array().shape == (4, 4 * 17 - 1)
    with pytest.raises(ValueError, match="image_shape"):
        plot_samples(X_train[:4], image_shape=(5, 5))


def cell_texts(table, n_rows, n_cols):
    cells = table.get_celld()
    header = [cells[0, j].get_text().get_text() for j in range(n_cols)]
    body = [
        [cells[i, j].get_text().get_text() for j in range(n_cols)] for i in range(1, n_rows + 1)
    ]
    return header, body


def test_plot_samples_of_a_dataframe_is_a_table_of_its_first_rows():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "count": np.arange(12),
            "share": np.linspace(0.0, 1.0, 12),
            "colour": pd.Categorical(list("rgbrgbrgbrgb")),
            "flag": [True, False] * 6,
            "gap": [1.25, np.nan] * 6,
        }
    )
    ax = plot_samples(frame, 5)
    [table] = ax.tables
    header, body = cell_texts(table, 5, frame.shape[1])
    assert header == list(frame.columns)
    expected = [
        [str(i), f"{share:.4g}", colour, str(flag), "1.25" if i % 2 == 0 else "NA"]
        for i, share, colour, flag in zip(
            frame["count"][:5],
            frame["share"][:5],
            frame["colour"][:5],
            frame["flag"][:5],
            strict=True,
        )
    ]
    assert body == expected
    assert (6, 0) not in table.get_celld()  # the first 5 rows only
    assert not ax.axison


def test_plot_samples_of_a_table_model_samples_a_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=200),
            "kind": pd.Categorical(rng.choice(["a", "b", "c"], size=200)),
        }
    )
    model = AdversarialAutoencoder(**{**PARAMS, "max_iter": 2}).fit(frame)
    ax = plot_samples(model, 4, random_state=1)
    rows = model.sample(4, random_state=1)
    header, body = cell_texts(ax.tables[0], 4, 2)
    assert header == ["x", "kind"]
    assert body == [[f"{x:.4g}", kind] for x, kind in zip(rows["x"], rows["kind"], strict=True)]


def test_plot_samples_of_an_array_that_is_not_images_is_a_table():
    values = np.arange(30.0).reshape(10, 3) / 7
    ax = plot_samples(values, 3)
    header, body = cell_texts(ax.tables[0], 3, 3)
    assert header == ["0", "1", "2"]
    assert body == [[f"{v:.4g}" for v in row] for row in values[:3]]


# ------------------------------------------------------------------ plot_history
def test_plot_history_lines_are_the_history(model):
    axes = plot_history(model)
    assert len(axes) == 3
    assert len(axes[0].figure.axes) == 3
    history = model.history_
    epochs = [record["epoch"] for record in history]
    losses = [key for key in history[0] if key.endswith("_loss")]
    assert [line.get_label() for line in axes[0].lines] == losses
    for ax, keys in zip(axes, (losses, ["prior_match"], ["prior_match_1nn"]), strict=True):
        lines = [line for line in ax.lines if not line.get_label().startswith("_")]
        assert [line.get_label() for line in lines] == keys
        for line, key in zip(lines, keys, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), epochs)
            np.testing.assert_allclose(line.get_ydata(), [record[key] for record in history])


def test_plot_history_on_given_axes_and_errors(model, data):
    _, axes = plt.subplots(3, 1)
    returned = plot_history(model, ax=axes)
    assert list(returned) == list(axes)
    _, two = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="3 Axes"):
        plot_history(model, ax=two)
    with pytest.raises(ValueError, match="fit it first"):
        plot_history(AdversarialAutoencoder())


# ------------------------------------------------------------------ plot_decoder_grid
def test_plot_decoder_grid_decodes_a_grid_of_codes(model):
    ax = plot_decoder_grid(model, n=4, extent=(-2, 1, -1, 2))
    [image] = ax.images
    grid = np.ma.filled(image.get_array(), np.nan)
    step = SIDE + 1
    assert grid.shape == (4 * step - 1, 4 * step - 1)
    # The top-left image is the code (z1_min, z2_max), the bottom-right (z1_max, z2_min).
    corners = model.inverse_transform(np.array([[-2.0, 2.0], [1.0, -1.0]]))
    np.testing.assert_allclose(grid[:SIDE, :SIDE], corners[0].reshape(SIDE, SIDE), rtol=1e-5)
    np.testing.assert_allclose(grid[-SIDE:, -SIDE:], corners[1].reshape(SIDE, SIDE), rtol=1e-5)
    left, right, bottom, top = image.get_extent()
    assert left < -2 < 1 < right
    assert bottom < -1 < 2 < top


def test_plot_decoder_grid_default_extent_and_errors(model, data):
    ax = plot_decoder_grid(model)
    assert ax.images[0].get_array().shape == (15 * (SIDE + 1) - 1,) * 2
    X_train = data[0]
    model_3d = AdversarialAutoencoder(**{**PARAMS, "n_components": 3, "max_iter": 1}).fit(X_train)
    with pytest.raises(ValueError, match="2-D codes"):
        plot_decoder_grid(model_3d)
    with pytest.raises(ValueError, match="image_shape"):
        plot_decoder_grid(model, image_shape=(4, 4))
    model_odd = AdversarialAutoencoder(**{**PARAMS, "max_iter": 1}).fit(X_train[:, :60])
    with pytest.raises(ValueError, match="not square images"):
        plot_decoder_grid(model_odd)
    ax = plot_decoder_grid(model_odd, n=3, image_shape=(6, 10))
    assert ax.images[0].get_array().shape == (3 * 7 - 1, 3 * 11 - 1)

"""Figures of a fitted model: its codes, samples, training history and decoder.

:func:`plot_codes` draws the codes ``transform(X)`` coloured by label beside
(or under) draws of the fitted prior, :func:`plot_samples` a grid of
generated images or a table of generated rows, :func:`plot_history` the
losses and the prior match of every epoch, and :func:`plot_decoder_grid`
the decoder's output over a regular grid of two-dimensional codes.

The functions need matplotlib (``pip install matplotlib``, or the
``examples`` extra: ``pip install "skaae[examples]"``). It is imported when a
function is called, not by ``import skaae.plotting``. Each function draws on
the Axes it is given, or on a new figure made with pyplot, and returns the
Axes it drew on; it never calls ``plt.show``.
"""

import math
import numbers

import numpy as np

from ._plot_helpers import (
    axes_list,
    checked_image_shape,
    image_grid,
    label_colours,
    pyplot,
    square_limits,
    style_code_axes,
    table_axes,
)

__all__ = ["plot_codes", "plot_decoder_grid", "plot_history", "plot_samples"]

# Prior draws behind or beside the codes.
_PRIOR_COLOUR = "0.55"
# The history keys of the prior-match panels; every other numeric key but
# "epoch" and "time" is a loss.
_MATCH_KEYS = ("prior_match", "prior_match_1nn")
_NOT_LOSSES = ("epoch", "time", *_MATCH_KEYS)


def _is_embedding(estimator):
    from .embedding import AAEEmbedding

    return isinstance(estimator, AAEEmbedding)


def plot_codes(estimator, X, y=None, *, n_prior=None, ax=None, s=None, legend=True, random_state=0):
    """Codes of ``X`` coloured by label, beside or under draws of the fitted prior.

    The first two dimensions of ``estimator.transform(X)`` are drawn as a
    scatter plot, one colour per label, and ``n_prior`` draws of
    ``estimator.prior_.sample`` (their first two dimensions) in grey. The
    adversarial regulariser does its job when the two clouds look alike.

    Parameters
    ----------
    estimator : fitted estimator
        A fitted skaae estimator with ``n_components >= 2``.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data to encode.
    y : array-like of shape (n_samples,) or None, default=None
        Labels that colour the codes (one colour per distinct value, in
        sorted order, and a legend entry for each); None draws every code in
        one colour.
    n_prior : int or None, default=None
        Prior draws to show (0: none). None: as many as there are codes, or
        none for an :class:`~skaae.AAEEmbedding`, whose embedding
        ``W_c y + z`` is not distributed as its style prior ``prior_``.
    ax : Axes, pair of Axes or None, default=None
        One Axes: the prior draws under the codes on it. Two Axes: the codes
        on the first, the prior draws on the second, with the same limits.
        None: a new figure with two Axes side by side (one without prior
        draws).
    s : float or None, default=None
        Marker size; None picks one from the number of points.
    legend : bool, default=True
        Add a legend of the labels (when ``y`` has at most 20 of them) to the
        codes' Axes.
    random_state : int, RandomState instance or None, default=0
        Seed of the prior draws.

    Returns
    -------
    ax : Axes or ndarray of two Axes
        The Axes of the codes, or with two panels the array
        ``[codes' Axes, prior's Axes]``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AdversarialAutoencoder
    >>> from skaae.plotting import plot_codes
    >>> X, y = load_digits(return_X_y=True)
    >>> model = AdversarialAutoencoder(n_components=2, max_iter=2, random_state=0)
    >>> axes = plot_codes(model.fit(X / 16), X / 16, y)
    >>> [ax.get_title() for ax in axes]
    ['codes of 1797 samples', '1797 draws from the prior']
    """
    plt = pyplot()
    codes = np.asarray(estimator.transform(X), dtype=float)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(
            f"plot_codes draws the first two code dimensions; the codes have shape {codes.shape}."
        )
    codes = codes[:, :2]
    if n_prior is None:
        n_prior = 0 if _is_embedding(estimator) else len(codes)
    draws = None
    if n_prior > 0:
        draws = np.asarray(
            estimator.prior_.sample(int(n_prior), random_state=random_state), dtype=float
        )[:, :2]

    if ax is None:
        if draws is None:
            _, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
        else:
            _, ax = plt.subplots(1, 2, figsize=(11.5, 5.6), layout="constrained")
    axes = [ax] if hasattr(ax, "scatter") else axes_list(ax, 2, "plot_codes")
    beside = len(axes) == 2
    if beside and draws is None:
        raise ValueError("plot_codes was given two Axes but no prior draws (n_prior=0).")
    ax_codes, ax_prior = axes[0], axes[-1]
    n_points = max(len(codes), 0 if draws is None else len(draws))
    if s is None:
        s = (
            (12 if n_points <= 1000 else 3)
            if beside or draws is None
            else (6 if n_points <= 1000 else 1.5)
        )

    if draws is not None:
        alpha = 0.6 if beside else 0.35
        ax_prior.scatter(*draws.T, s=s, color=_PRIOR_COLOUR, alpha=alpha, lw=0, zorder=1)
    if y is None:
        ax_codes.scatter(*codes.T, s=s, color="tab:blue", alpha=0.8, lw=0, zorder=2)
        labels = []
    else:
        y = np.asarray(y)
        if y.shape != (len(codes),):
            raise ValueError(f"y must have shape ({len(codes)},); got {y.shape}.")
        labels = np.unique(y)
        for label, colour in zip(labels, label_colours(len(labels)), strict=True):
            ax_codes.scatter(
                *codes[y == label].T,
                s=s,
                color=colour,
                alpha=0.8,
                lw=0,
                label=str(label),
                zorder=2,
            )
    limits = square_limits(codes if draws is None else np.vstack([codes, draws]))
    for axis in axes:
        style_code_axes(axis, limits)
    if beside:
        ax_codes.set_title(f"codes of {len(codes)} samples")
        ax_prior.set_title(f"{len(draws)} draws from the prior")
    elif draws is not None:
        ax_codes.set_title(f"codes of {len(codes)} samples over {len(draws)} prior draws (grey)")
    else:
        ax_codes.set_title(f"codes of {len(codes)} samples")
    if legend and 0 < len(labels) <= 20:
        ax_codes.legend(markerscale=8 / math.sqrt(s), fontsize="small", framealpha=0.8)
    return np.array(axes, dtype=object) if beside else ax_codes


# ------------------------------------------------------------------ images and tables
def plot_samples(
    estimator_or_samples,
    n=None,
    *,
    image_shape=None,
    n_cols=None,
    ax=None,
    cmap="gray_r",
    vmin=None,
    vmax=None,
    random_state=0,
):
    """Generated samples: a grid of images, or a table of the first rows.

    Parameters
    ----------
    estimator_or_samples : fitted estimator, array-like or DataFrame
        A fitted skaae estimator, whose ``sample(n, random_state)`` is
        drawn, or samples already drawn (any rows: ``sample``'s, the data's,
        decoded codes).
    n : int or None, default=None
        Images (or rows of a table) to show: the first ``n`` samples. None:
        100 images or 10 rows (or all the samples given, if fewer).
    image_shape : tuple of int or None, default=None
        ``(height, width)`` of the images, for flattened images. None: square
        images when the number of features is a square (at least 2x2).
        Samples that are not images (a DataFrame, as ``sample`` returns for
        a model fitted on a table, or an array whose number of features is
        not a square) are shown as a table.
    n_cols : int or None, default=None
        Images per row of the grid; None: about the square root of ``n``.
    ax : Axes or None, default=None
        The Axes to draw on; None: a new figure.
    cmap : str or Colormap, default="gray_r"
        Colour map of the images (``"gray_r"``: 0 white, 1 black).
    vmin, vmax : float or None, default=None
        The pixel values of the ends of the colour map; None: the samples'
        range.
    random_state : int, RandomState instance or None, default=0
        Seed of ``sample`` when an estimator is given.

    Returns
    -------
    ax : Axes
        The Axes with the grid (one image, ``ax.images[0]``, whose blank
        separating pixels are NaN) or the table (``ax.tables[0]``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AdversarialAutoencoder
    >>> from skaae.plotting import plot_samples
    >>> X, _ = load_digits(return_X_y=True)
    >>> model = AdversarialAutoencoder(max_iter=2, random_state=0).fit(X / 16)
    >>> ax = plot_samples(model, 16, vmin=0, vmax=1)  # 4x4 images of 8x8 pixels, 1 apart
    >>> ax.images[0].get_array().shape
    (35, 35)
    """
    plt = pyplot()
    source = estimator_or_samples
    if hasattr(source, "fit"):  # an estimator (a DataFrame has sample, but no fit)
        is_table = getattr(source, "table_transformer_", None) is not None
        if not is_table:
            is_table = checked_image_shape(source.n_features_in_, image_shape) is None
        n = (10 if is_table else 100) if n is None else int(n)
        samples = source.sample(n, random_state=random_state)
    else:
        samples = source
    if hasattr(samples, "columns") and hasattr(samples, "iloc"):  # a DataFrame
        rows = samples.iloc[: 10 if n is None else n]
        return table_axes(plt, ax, rows.itertuples(index=False), list(rows.columns), len(rows))
    samples = np.asarray(samples)
    if samples.ndim == 1:
        samples = samples[None]
    samples = samples.reshape(len(samples), -1) if samples.ndim > 2 else samples
    shape = checked_image_shape(samples.shape[1], image_shape)
    if shape is None:
        rows = samples[: 10 if n is None else n]
        return table_axes(plt, ax, rows.tolist(), list(range(samples.shape[1])), len(rows))

    images = samples[: 100 if n is None else n].astype(float)
    n_cols = max(1, math.ceil(math.sqrt(len(images)))) if n_cols is None else int(n_cols)
    canvas = image_grid(images, shape, n_cols)
    if ax is None:
        height = 5.6 * canvas.shape[0] / max(canvas.shape)
        width = 5.6 * canvas.shape[1] / max(canvas.shape)
        _, ax = plt.subplots(figsize=(max(width, 1.5), max(height, 1.5)), layout="constrained")
    ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


# ------------------------------------------------------------------ history
def plot_history(estimator, *, ax=None):
    """Losses and prior match of every epoch, from ``estimator.history_``.

    Three panels against the epoch: every loss of the records (the
    reconstruction, discriminator, generator, supervised, neighbour losses,
    the KL divergence of a VAE, the validation loss with early stopping),
    the prior match of the epoch's codes as an energy distance
    (``prior_match``, 0 at a perfect match), and as a 1-nearest-neighbour
    two-sample accuracy (``prior_match_1nn``, 0.5 at a perfect match). A
    record without one of these keys leaves a gap in its line.

    Parameters
    ----------
    estimator : fitted estimator
        A fitted skaae estimator (with ``history_``).
    ax : sequence of three Axes or None, default=None
        The Axes of the losses, the energy distance and the 1-NN accuracy;
        None: a new figure with three Axes side by side.

    Returns
    -------
    axes : ndarray of three Axes
        One line per key (``ax.lines``, labelled with the key) whose x data
        are the records' ``epoch`` and y data their values.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AdversarialAutoencoder
    >>> from skaae.plotting import plot_history
    >>> X, _ = load_digits(return_X_y=True)
    >>> model = AdversarialAutoencoder(max_iter=3, random_state=0).fit(X / 16)
    >>> axes = plot_history(model)
    >>> axes[0].lines[0].get_label(), axes[0].lines[0].get_ydata().shape
    ('reconstruction_loss', (3,))
    """
    plt = pyplot()
    history = list(getattr(estimator, "history_", None) or [])
    if not history:
        raise ValueError(
            f"{type(estimator).__name__} has no history_: fit it first (history_ has one "
            "record per epoch)."
        )
    if ax is None:
        _, ax = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    axes = axes_list(ax, 3, "plot_history")
    keys = []
    for record in history:
        keys.extend(
            key
            for key, value in record.items()
            if key not in keys and isinstance(value, numbers.Real) and not isinstance(value, bool)
        )
    epochs = np.array([record.get("epoch", i + 1) for i, record in enumerate(history)])
    panels = (
        ([key for key in keys if key not in _NOT_LOSSES], "loss", "losses (mean over the epoch)"),
        (["prior_match"], "energy distance", "prior match: energy distance (0: match)"),
        (["prior_match_1nn"], "1-NN accuracy", "prior match: 1-NN two-sample test (0.5: match)"),
    )
    for axis, (panel_keys, ylabel, title) in zip(axes, panels, strict=True):
        for key in panel_keys:
            if key not in keys:
                continue
            values = np.array([record.get(key, np.nan) for record in history], dtype=float)
            axis.plot(epochs, values, marker="o" if len(epochs) <= 30 else None, ms=3, label=key)
        axis.set_xlabel("epoch")
        axis.set_ylabel(ylabel)
        axis.set_title(title, fontsize="medium")
        axis.grid(alpha=0.3)
    axes[2].axhline(0.5, color="0.5", ls=":", lw=1)
    if axes[0].lines:
        axes[0].legend(fontsize="small")
    return np.array(axes, dtype=object)


# ------------------------------------------------------------------ decoder
def plot_decoder_grid(
    estimator,
    *,
    n=15,
    image_shape=None,
    extent=None,
    y=None,
    ax=None,
    cmap="gray_r",
    vmin=None,
    vmax=None,
    random_state=0,
):
    """The decoder's images over a regular ``n`` x ``n`` grid of 2-D codes.

    ``estimator.inverse_transform`` of the codes ``(z1, z2)`` of a square
    grid, drawn as a grid of images placed at their codes (the axes are in
    code units): how the images change across the latent space.

    Parameters
    ----------
    estimator : fitted estimator
        A fitted skaae estimator with a two-dimensional code (the style
        code of an :class:`~skaae.AAEClassifier` or
        :class:`~skaae.AAEClustering`; the embedding of an
        :class:`~skaae.AAEEmbedding`) on image data.
    n : int, default=15
        Codes per side of the grid.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` of the images; None: square images.
    extent : tuple of four floats or None, default=None
        ``(z1_min, z1_max, z2_min, z2_max)``, the codes of the grid's outer
        images. None: a square centred on the prior that spans its 1st to
        99th percentile on either axis (from 10,000 draws).
    y : label or None, default=None
        The class every code is rendered in, for a model that needs one
        (``conditional=True``); passed to ``inverse_transform``.
    ax : Axes or None, default=None
        The Axes to draw on; None: a new figure.
    cmap : str or Colormap, default="gray_r"
        Colour map of the images.
    vmin, vmax : float or None, default=None
        The pixel values of the ends of the colour map; None: the images'
        range.
    random_state : int, RandomState instance or None, default=0
        Seed of the prior draws that set the default ``extent``.

    Returns
    -------
    ax : Axes
        The Axes with the grid (``ax.images[0]``; largest ``z2`` at the top).

    Raises
    ------
    ValueError
        If the code is not two-dimensional, or the model's data are not
        images (a table, or a number of features that ``image_shape`` does
        not hold).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AdversarialAutoencoder
    >>> from skaae.plotting import plot_decoder_grid
    >>> X, _ = load_digits(return_X_y=True)
    >>> model = AdversarialAutoencoder(n_components=2, max_iter=2, random_state=0).fit(X / 16)
    >>> ax = plot_decoder_grid(model, n=5, vmin=0, vmax=1)
    >>> ax.images[0].get_array().shape  # 5x5 images of 8x8 pixels, 1 apart
    (44, 44)
    """
    plt = pyplot()
    prior = estimator.prior_
    if prior.n_components_ != 2:
        raise ValueError(
            "plot_decoder_grid decodes a grid of 2-D codes; this model's code has "
            f"{prior.n_components_} dimensions (n_components=2 for a map)."
        )
    if getattr(estimator, "table_transformer_", None) is not None:
        raise ValueError("plot_decoder_grid draws images; this model was fitted on a table.")
    shape = checked_image_shape(estimator.n_features_in_, image_shape)
    if shape is None:
        raise ValueError(
            f"The model's {estimator.n_features_in_} features are not square images: pass "
            "image_shape=(height, width)."
        )
    n = int(n)
    if n < 2:
        raise ValueError(f"n must be at least 2; got {n}.")
    if extent is None:
        draws = np.asarray(prior.sample(10_000, random_state=random_state), dtype=float)
        if _is_embedding(estimator):  # the embedding is W_c y + z: a head plus a style
            heads = estimator.cluster_heads_.heads.detach().cpu().numpy()
            rng = np.random.default_rng(0)
            draws = draws + heads[rng.integers(len(heads), size=len(draws))]
        low, high = np.percentile(draws, [1, 99], axis=0)
        centre, half = (low + high) / 2, (high - low).max() / 2
        extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    z1_min, z1_max, z2_min, z2_max = (float(value) for value in extent)
    z1 = np.linspace(z1_min, z1_max, n)
    z2 = np.linspace(z2_max, z2_min, n)  # the top row: the largest z2
    codes = np.array([[a, b] for b in z2 for a in z1])
    images = np.asarray(estimator.inverse_transform(codes, y=y), dtype=float)
    canvas = image_grid(images, shape, n)
    # Pixel edges in code units: each image spans one grid step around its code.
    step1, step2 = (z1_max - z1_min) / (n - 1), (z2_max - z2_min) / (n - 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 5.8), layout="constrained")
    ax.imshow(
        canvas,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        extent=(z1_min - step1 / 2, z1_max + step1 / 2, z2_min - step2 / 2, z2_max + step2 / 2),
        # Square pixels: a pixel is step1 / (width + 1) wide and step2 / (height + 1) high.
        aspect=(step1 / (shape[1] + 1)) / (step2 / (shape[0] + 1)) if step1 and step2 else "auto",
    )
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(f"decoded {n}x{n} grid of codes")
    return ax

"""Drawing helpers of :mod:`skaae.plotting`: pyplot on demand, colours, panels, grids, tables."""

import math

import numpy as np

# Colours of the labels: tab10 with its grey (the 8th) made black, apart from
# the grey prior draws; tab20 for up to 20 labels; viridis beyond.
_GREY_INDEX = 7


def pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "skaae.plotting needs matplotlib, which is not installed. Install it with "
            'pip install matplotlib (or pip install "skaae[examples]", the examples extra).'
        ) from error
    return plt


def label_colours(n):
    """``n`` distinct colours, one per label."""
    plt = pyplot()
    if n <= 10:
        colours = list(plt.get_cmap("tab10").colors)
        colours[_GREY_INDEX] = (0.0, 0.0, 0.0)
        return colours[:n]
    if n <= 20:
        return list(plt.get_cmap("tab20").colors)[:n]
    return [plt.get_cmap("viridis")(i / (n - 1)) for i in range(n)]


def square_limits(points, margin=1.1):
    """Equal x and y ranges around the bulk (0.5-99.5 percentiles) of 2-D ``points``."""
    low, high = np.percentile(points, [0.5, 99.5], axis=0)
    centre, half = (low + high) / 2, max((high - low).max() / 2 * margin, 1e-6)
    return [(c - half, c + half) for c in centre]


def style_code_axes(ax, limits, labels=("$z_1$", "$z_2$")):
    """A square 2-D code panel: the given ``(xlim, ylim)``, axis labels, a light grid."""
    ax.set_xlim(limits[0])
    ax.set_ylim(limits[1])
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(alpha=0.3)


def axes_list(ax, n, name):
    """``ax`` as a list of ``n`` Axes (one Axes counts as a list of one)."""
    axes = [ax] if hasattr(ax, "scatter") else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"{name} needs {n} Axes here; got {len(axes)}.")
    return axes


def checked_image_shape(n_features, image_shape):
    """``(height, width)`` of images of ``n_features`` pixels, or None (not images)."""
    if image_shape is not None:
        shape = tuple(int(side) for side in image_shape)
        if len(shape) != 2 or shape[0] * shape[1] != n_features:
            raise ValueError(
                f"image_shape={tuple(image_shape)} does not hold {n_features} features: "
                "give (height, width) with height * width == n_features."
            )
        return shape
    side = math.isqrt(n_features)
    return (side, side) if side >= 2 and side * side == n_features else None


def image_grid(images, image_shape, n_cols, pad=1):
    """Flattened images tiled row by row into one 2-D array, NaN (blank) between them."""
    height, width = image_shape
    n_rows = -(-len(images) // n_cols)
    canvas = np.full((n_rows * (height + pad) - pad, n_cols * (width + pad) - pad), np.nan)
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        top, left = row * (height + pad), col * (width + pad)
        canvas[top : top + height, left : left + width] = np.reshape(image, image_shape)
    return canvas


def cell_text(value):
    """A table cell: numbers to 4 significant digits, missing values as NA."""
    try:
        import pandas as pd

        missing = bool(pd.isna(value))
    except (ImportError, TypeError, ValueError):
        missing = value is None or (isinstance(value, float) and math.isnan(value))
    if missing:
        return "NA"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def draw_table(ax, rows, columns):
    """A matplotlib table of ``rows`` (lists of values) under the headers ``columns``."""
    text = [[cell_text(value) for value in row] for row in rows]
    header = [str(c) for c in columns]
    table = ax.table(
        cellText=text,
        colLabels=header,
        cellLoc="center",
        bbox=(0.0, 0.0, 1.0, 1.0),  # the table fills the Axes
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    # Column widths in proportion to their longest text, the table's width fixed.
    lengths = [
        max(len(t) for t in [name, *(row[j] for row in text)]) + 2 for j, name in enumerate(header)
    ]
    total = sum(lengths)
    for (row, col), cell in table.get_celld().items():
        cell.set_width(lengths[col] / total)
        if row == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("0.92")
    ax.set_axis_off()
    return table, total


def table_axes(plt, ax, rows, columns, n_rows):
    """A table on ``ax``, or on a new figure sized to the table's text."""
    new = ax is None
    if new:
        _, ax = plt.subplots(layout="constrained")
    _, n_chars = draw_table(ax, rows, columns)
    if new:
        ax.figure.set_size_inches(min(max(0.075 * n_chars, 3.0), 24.0), 0.25 * (n_rows + 1) + 0.2)
    return ax

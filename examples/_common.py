"""What the example scripts share: their data, command-line options and figure output.

Not an example itself: each ``plot_*.py`` script beside it imports it (a
script's own folder is on ``sys.path`` when Python runs it).
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
DEFAULT_MNIST = HERE.parent.parent / "shared" / "data" / "mnist.npz"
DEFAULT_OUTPUT = HERE / "figures"
DATA_NAMES = {"digits": "digits", "mnist": "MNIST"}
# Side of the square images of each data set.
IMAGE_SIDES = {"digits": 8, "mnist": 28}
# PNGs without a matplotlib version stamp, so reruns give identical files.
PNG_METADATA = {"Software": None}


def load_digits_split():
    """``X_train, X_test, y_train, y_test``: digits scaled to [0, 1], split 75/25 stratified."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)


def load_mnist(path, n_train=10_000, hint=""):
    """``X_train, X_test, y_train, y_test``: the first ``n_train`` training images, all test.

    Pixels are scaled to [0, 1]. A missing file ends the script with a message
    that says how to point at it (``hint`` adds an alternative).
    """
    path = Path(path)
    if not path.is_file():
        sys.exit(
            f"MNIST not found at {path}. Pass --mnist-path PATH or set SKAAE_MNIST to the "
            f"mnist.npz file (see ../shared/data/README.md){hint}."
        )
    with np.load(path) as data:
        X_train = data["X_train"][:n_train].astype(np.float32) / 255.0
        y_train = data["y_train"][:n_train]
        X_test = data["X_test"].astype(np.float32) / 255.0
        y_test = data["y_test"]
    return X_train, X_test, y_train, y_test


def load_data(name, mnist_path, n_train):
    """``X_train, X_test, y_train, y_test`` of the data set ``name`` ("digits" or "mnist")."""
    if name == "digits":
        return load_digits_split()
    return load_mnist(mnist_path, n_train, hint=", or use --data digits")


def keep_labels(y, n_labels, random_state=0):
    """A copy of ``y`` with ``n_labels`` labels kept (as many per class) and the rest -1."""
    rng = np.random.RandomState(random_state)
    classes = np.unique(y)
    kept = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == k), n_labels // len(classes), replace=False)
            for k in classes
        ]
    )
    y_partial = np.full_like(y, -1)
    y_partial[kept] = y[kept]
    return y_partial


def add_mnist_path_argument(parser):
    """The ``--mnist-path`` option (default: $SKAAE_MNIST, else ../shared/data/mnist.npz)."""
    parser.add_argument(
        "--mnist-path",
        default=os.environ.get("SKAAE_MNIST", str(DEFAULT_MNIST)),
        help="path of mnist.npz (default: $SKAAE_MNIST, else ../shared/data/mnist.npz "
        "next to the repository)",
    )


def add_data_arguments(parser):
    """``--data`` (digits or MNIST), ``--mnist-path`` and ``--n-train``."""
    parser.add_argument(
        "--data", choices=("digits", "mnist"), default="digits", help="data set (default: digits)"
    )
    add_mnist_path_argument(parser)
    parser.add_argument(
        "--n-train",
        type=int,
        default=10_000,
        help="MNIST training images to fit on, from the first (default: 10000)",
    )


def add_output_dir_argument(parser):
    """The ``--output-dir`` option (default: examples/figures/)."""
    parser.add_argument(
        "--output-dir",
        default=str(DEFAULT_OUTPUT),
        help="where to write the figures (default: examples/figures/)",
    )


def output_dir(args):
    """The figures' folder from ``args.output_dir``, created if missing."""
    path = Path(args.output_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def mosaic(images, side, n_cols, pad=1):
    """Tile flattened square images into one 2-D array with ``pad`` blank pixels between."""
    n_rows = -(-len(images) // n_cols)
    step = side + pad
    canvas = np.zeros((n_rows * step - pad, n_cols * step - pad))
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        canvas[row * step : row * step + side, col * step : col * step + side] = image.reshape(
            side, side
        )
    return canvas


def style_code_axes(ax, limits):
    """A square 2-D code panel: the given ``(xlim, ylim)``, axis labels z1 and z2, a grid."""
    ax.set_xlim(limits[0])
    ax.set_ylim(limits[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.grid(alpha=0.3)


def save_figure(fig, path):
    """Write ``fig`` as a PNG (reproducible bytes) and close it."""
    fig.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(fig)

"""What the example scripts share: their data, command-line options and figure output.

Not an example itself: each ``plot_*.py`` script beside it imports it (a
script's own folder is on ``sys.path`` when Python runs it, and sphinx-gallery
puts it there too). The figures themselves are drawn by :mod:`skaae.plotting`
and by each script; this module only loads the data, parses the shared options
and writes the PNGs.
"""

import os
import sys
import tempfile
from pathlib import Path

import matplotlib

# Scripts draw off-screen (no window opens); in a notebook made from an example the
# figures show inline.
if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
DEFAULT_MNIST = HERE.parent.parent / "shared" / "data" / "mnist.npz"
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


def add_max_iter_argument(parser, default, what="epochs"):
    """The ``--max-iter`` option: ``default`` epochs (None: the estimator's own default)."""
    shown = "the estimator's default" if default is None else default
    parser.add_argument(
        "--max-iter",
        type=int,
        default=default,
        help=f"{what} (default: {shown}; 1 or 2 for a quick smoke run)",
    )


def add_output_dir_argument(parser):
    """The ``--output-dir`` option (default: a new temporary directory)."""
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where to write the figures (default: a new temporary directory, printed at the "
        "end; --output-dir examples/figures redraws the committed figures of the README)",
    )


def output_dir(args):
    """The figures' folder, created if missing: ``args.output_dir``, or a new temporary one.

    A new temporary directory is stored back in ``args.output_dir``, so that a
    script that asks twice gets the same folder.
    """
    if args.output_dir is None:
        args.output_dir = tempfile.mkdtemp(prefix="skaae-figures-")
    path = Path(args.output_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, path):
    """Write ``fig`` as a PNG with reproducible bytes, and print its path.

    The figure stays open: sphinx-gallery's scraper collects the open figures
    into the example's page (a plain run exits with them).
    """
    fig.savefig(path, dpi=110, metadata=PNG_METADATA)
    print(f"wrote {path}")


def report_output(args):
    """Print the folder the figures went to (the last line of every example's output)."""
    print(f"figures written to {output_dir(args)}")

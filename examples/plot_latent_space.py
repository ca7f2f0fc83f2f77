"""
Latent space of an adversarial autoencoder
==========================================

Fit an :class:`~skaae.AdversarialAutoencoder` with a two-dimensional code and
the paper's ten-component Gaussian mixture prior (``prior="mixture"``) on
handwritten digits, then look at its training history, its codes against the
prior, its samples and its decoder over the latent space.

By default the data are scikit-learn's digits (8x8 images, scaled to [0, 1]
by dividing by 16, split 75/25 stratified with seed 0); the fit (300 epochs)
took 28.5 s with ``OMP_NUM_THREADS=1`` while another job ran on the other
core. With ``--data mnist`` it reads MNIST from ``../shared/data/mnist.npz``
(override with ``--mnist-path`` or the ``SKAAE_MNIST`` environment variable),
fits on the first ``--n-train`` (10,000) training images scaled by 1/255 for
``--max-iter`` 10 epochs (about seven times the digits' training set per
epoch; the fit took 14.4 s in the same conditions, 5-NN accuracy 0.709), and
shows the official test set of 10,000 images.

The figures go to a new temporary directory, printed at the end, unless
``--output-dir`` names one. Everything is seeded, so a rerun on the same
machine redraws the same figures::

    python examples/plot_latent_space.py --output-dir examples/figures
    python examples/plot_latent_space.py --data mnist
"""
# sphinx_gallery_thumbnail_number = 2

# %%
# Options and data
# ----------------
# The script's options come from its command line (``--help`` lists them);
# ``--max-iter`` sets the epochs, low for a quick run.

import argparse
import time

import matplotlib.pyplot as plt
import numpy as np
from _common import (
    DATA_NAMES,
    add_data_arguments,
    add_output_dir_argument,
    load_data,
    output_dir,
    report_output,
    save_figure,
)
from sklearn.neighbors import KNeighborsClassifier

from skaae import AdversarialAutoencoder
from skaae.metrics import two_sample_statistics
from skaae.plotting import plot_codes, plot_decoder_grid, plot_history, plot_samples

# Epochs on MNIST unless --max-iter says otherwise (digits use the estimator's default).
MNIST_MAX_ITER = 10
# Codes compared with prior draws by the energy distance (its cost is quadratic).
MAX_ENERGY_SAMPLES = 2000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Fit an adversarial autoencoder with a 2-D mixture prior and plot its "
        "latent space and samples.",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help=f"epochs (default: the estimator's default on digits, {MNIST_MAX_ITER} on MNIST; "
        "set it low for a quick smoke run)",
    )
    add_output_dir_argument(parser)
    return parser.parse_args(argv)


args = parse_args()
X_train, X_test, y_train, y_test = load_data(args.data, args.mnist_path, args.n_train)
print(f"{args.data}: {X_train.shape[0]} training and {X_test.shape[0]} test images")
figures = output_dir(args)

# %%
# Fit the adversarial autoencoder
# -------------------------------
# Two code dimensions, so that the codes can be drawn as they are, and the
# ten-mode mixture prior. The estimator keeps its other defaults, so the
# neighbourhood term is on (``neighbor_weight="auto"`` turns it on for a 2-D
# map).

aae = AdversarialAutoencoder(n_components=2, prior="mixture", verbose=1, random_state=0)
max_iter = args.max_iter or (MNIST_MAX_ITER if args.data == "mnist" else None)
if max_iter is not None:
    aae.set_params(max_iter=max_iter)
start = time.perf_counter()
aae.fit(X_train)
fit_time = time.perf_counter() - start
print(f"fit: {aae.n_iter_} epoch(s) in {fit_time:.1f} s")
print(f"reconstruction loss ({aae.reconstruction_loss_}), test: {-aae.score(X_test):.4f}")

# %%
# Training history
# ----------------
# ``history_`` holds one record per epoch: the mean of each loss over the
# epoch's mini-batches and how well the epoch's codes match the prior (an
# energy distance, 0 at a perfect match, and a 1-nearest-neighbour two-sample
# accuracy, 0.5 at a perfect match). :func:`skaae.plotting.plot_history`
# draws them.

plot_history(aae)
print(f"prior match in the last epoch (history_): {aae.history_[-1]['prior_match']:.4f}")

# %%
# Codes against the prior
# -----------------------
# :func:`skaae.plotting.plot_codes` draws the codes ``transform(X_test)`` of
# the held-out images, one colour per digit class (left), beside as many draws
# from the fitted prior ``aae.prior_.sample(n)`` on the same axes (right). The
# adversarial regulariser is doing its job when the two clouds look alike (ten
# radial arms around the origin) and the classes form separate groups in the
# left panel.
#
# The title gives the accuracy of a 5-nearest-neighbour classifier fitted on
# the training codes and scored on the test codes (how well the map keeps the
# classes apart) and two measures of how well the test codes match the prior
# draws, computed at once by :func:`skaae.metrics.two_sample_statistics`: the
# energy distance, in units of the prior's standard deviation (0 is a perfect
# match), and the accuracy of a 1-nearest-neighbour two-sample test (0.5 is a
# perfect match). The figure is ``latent_space.png``.

Z_train, Z_test = aae.transform(X_train), aae.transform(X_test)
knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
accuracy = knn.score(Z_test, y_test)
prior_draws = aae.prior_.sample(len(Z_test), random_state=0)  # the draws plot_codes shows
n_energy = min(len(Z_test), MAX_ENERGY_SAMPLES)
distance, nearest = two_sample_statistics(
    Z_test[:n_energy], prior_draws[:n_energy], scale=aae.prior_.std_
)
print(f"5-NN accuracy of the test codes: {accuracy:.3f}")
print(f"energy distance, test codes vs. prior draws (prior std units): {distance:.4f}")
print(f"1-NN two-sample accuracy, test codes vs. prior draws (0.5 = match): {nearest:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.6), layout="constrained")
plot_codes(aae, X_test, y_test, ax=axes, legend=False)
axes[0].set_title(f"codes of {len(Z_test)} held-out images")
marker_size = axes[0].collections[0].get_sizes()[0]
fig.legend(
    *axes[0].get_legend_handles_labels(),
    title="digit",
    loc="outside right center",
    markerscale=8 / np.sqrt(marker_size),
    frameon=False,
)
fig.suptitle(
    f"Adversarial autoencoder on {DATA_NAMES[args.data]}, 2-D mixture prior: 5-NN accuracy "
    f"{accuracy:.3f}\nprior match of the codes: energy distance {distance:.3f}, "
    f"1-NN two-sample accuracy {nearest:.2f} (0.5 = perfect)"
)
save_figure(fig, figures / "latent_space.png")

# %%
# Samples and the decoder over the latent space
# ---------------------------------------------
# Left: 100 images generated by ``aae.sample(100, random_state=0)``, i.e.
# prior draws decoded (:func:`skaae.plotting.plot_samples`). Right: the
# decoder's output over a regular grid of codes spanning the prior
# (:func:`skaae.plotting.plot_decoder_grid`), which shows how the images
# change across the latent space. The figure is ``samples.png``.

fig, (ax_samples, ax_walk) = plt.subplots(1, 2, figsize=(11, 5.8), layout="constrained")
plot_samples(aae, 100, n_cols=10, ax=ax_samples, vmin=0, vmax=1)
ax_samples.set_title("aae.sample(100): prior draws, decoded")
ax_samples.set_axis_off()
plot_decoder_grid(aae, n=15, ax=ax_walk, vmin=0, vmax=1)
save_figure(fig, figures / "samples.png")
report_output(args)

# %%
# The full-length run
# -------------------
# A run of a few epochs cannot show the mixture's arms. The committed figures
# ``examples/figures/latent_space.png`` and ``examples/figures/samples.png``
# come from the default run (300 epochs on the digits), which
# ``python examples/plot_latent_space.py --output-dir examples/figures``
# redraws. In it the classes form separate groups, most of them on an arm of
# their own (the 1s, 5s and 8s nearer the centre), but the codes are more
# compact than the prior's arms: 5-NN accuracy 0.909, energy distance 0.021,
# two-sample accuracy 0.67.

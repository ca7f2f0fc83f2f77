"""
Adversarial vs. variational autoencoder on MNIST
================================================

The paper's Figure 2: the same two-dimensional codes regularised towards the
same prior, once by an adversary on the aggregated codes
(:class:`~skaae.AdversarialAutoencoder`, ``neighbor_weight=0``: the paper's
model, without skaae's neighbourhood term) and once by the KL divergence of
each image's Gaussian posterior from the prior
(:class:`~skaae.VariationalAutoencoder`, ``beta=1``: the VAE). Two priors:
the standard Gaussian (``prior="gaussian"``) and the mixture of ten thin
Gaussians on a circle (``prior="mixture"``).

Every model is fitted on the first ``--n-train`` (10,000) MNIST training
images scaled by 1/255, for the same ``--max-iter`` epochs (50), with
``random_state=0`` and otherwise the estimators' defaults. The numbers of the
comparison (holes, 5-NN accuracy, sample quality) are measured by
``benchmarks/aae_vs_vae.py``, which draws this figure too.

MNIST is read from ``../shared/data/mnist.npz`` (override with
``--mnist-path`` or the ``SKAAE_MNIST`` environment variable). ``--models``
fits a subset of the four (the others' panels stay empty). The figure goes to
a new temporary directory, printed at the end, unless ``--output-dir`` names
one::

    python examples/plot_aae_vs_vae.py
    python examples/plot_aae_vs_vae.py --max-iter 1 --output-dir /tmp/figures
    python examples/plot_aae_vs_vae.py --models aae-gaussian aae-mixture
"""

# %%
# The four models, and the figure
# -------------------------------
# ``benchmarks/aae_vs_vae.py`` imports this file for its models
# (:data:`MODELS`, :func:`fit_model`), its options and its figure
# (:func:`plot_aae_vs_vae`), so the steps after these definitions run only when
# the file runs as a script (``if __name__ == "__main__"``). Each panel of the
# figure is drawn by :func:`skaae.plotting.plot_codes` on one Axes: the codes
# over the prior draws.

import argparse
import time

import matplotlib.pyplot as plt
import numpy as np
from _common import (
    add_max_iter_argument,
    add_mnist_path_argument,
    add_output_dir_argument,
    load_mnist,
    output_dir,
    report_output,
    save_figure,
)

import skaae
from skaae.metrics import two_sample_statistics
from skaae.plotting import plot_codes

# name: (title, estimator's name in skaae, prior)
MODELS = {
    "aae-gaussian": ("AAE, Gaussian prior", "AdversarialAutoencoder", "gaussian"),
    "aae-mixture": ("AAE, 10-mode mixture prior", "AdversarialAutoencoder", "mixture"),
    "vae-gaussian": ("VAE, Gaussian prior", "VariationalAutoencoder", "gaussian"),
    "vae-mixture": ("VAE, 10-mode mixture prior", "VariationalAutoencoder", "mixture"),
}
# Rows of the figure (the prior) and its columns (the regulariser).
PRIORS, KINDS = ("gaussian", "mixture"), ("aae", "vae")
# Epochs of every model unless --max-iter says otherwise.
MAX_ITER = 50
# Codes and prior draws the printed prior match compares (its cost is quadratic).
MATCH_SAMPLES = 2000


def make_model(name, max_iter, verbose=0):
    """The unfitted estimator of the model ``name`` (a key of :data:`MODELS`)."""
    _, estimator, prior = MODELS[name]
    params = {"n_components": 2, "prior": prior, "max_iter": max_iter, "random_state": 0}
    if estimator == "AdversarialAutoencoder":
        params["neighbor_weight"] = 0  # the paper's AAE: the adversary alone
    return getattr(skaae, estimator)(verbose=verbose, **params)


def fit_model(name, X_train, X_test, max_iter, verbose=0):
    """Fit the model ``name``; return it with its test data, codes, prior draws and fit time."""
    model = make_model(name, max_iter, verbose)
    start = time.perf_counter()
    model.fit(X_train)
    fit_time = time.perf_counter() - start
    Z_test = model.transform(X_test)
    return {
        "model": model,
        "X_test": X_test,
        "codes": Z_test,
        # The draws plot_codes shows: as many as codes, random_state=0.
        "prior_draws": model.prior_.sample(len(Z_test), random_state=0),
        "fit_time": fit_time,
    }


def plot_aae_vs_vae(fits, y, title, path):
    """A 2x2 grid (rows: prior, columns: AAE/VAE) of test codes over prior draws.

    ``fits`` maps model names to :func:`fit_model`'s results; a model
    missing from it leaves its panel empty. The figure is saved to ``path``
    and left open.
    """
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 10), layout="constrained")
    for row, prior in enumerate(PRIORS):
        names = [f"{kind}-{prior}" for kind in KINDS]
        for ax, name in zip(axes[row], names, strict=True):
            if name not in fits:
                ax.text(0.5, 0.5, "not run (--models)", ha="center", va="center", color="0.4")
                ax.set_axis_off()
            else:
                fit = fits[name]
                plot_codes(fit["model"], fit["X_test"], y, ax=ax, legend=False)
            ax.set_title(MODELS[name][0])
        # Both panels of a row (one prior) on the wider of their limits.
        drawn = [ax for ax in axes[row] if ax.axison]
        if drawn:
            low = np.min([[ax.get_xlim()[0], ax.get_ylim()[0]] for ax in drawn], axis=0)
            high = np.max([[ax.get_xlim()[1], ax.get_ylim()[1]] for ax in drawn], axis=0)
            for ax in drawn:
                ax.set_xlim(low[0], high[0])
                ax.set_ylim(low[1], high[1])
    handles = next((ax for ax in axes.flat if ax.get_legend_handles_labels()[0]), None)
    if handles is not None:
        fig.legend(
            *handles.get_legend_handles_labels(),
            title="digit",
            loc="outside right center",
            markerscale=6,
            frameon=False,
        )
    fig.suptitle(title)
    save_figure(fig, path)
    return fig


def figure_title(n_codes, n_train, max_iter):
    return (
        f"Codes of {n_codes} MNIST test images (colour: digit) over as many prior draws "
        f"(grey)\n{max_iter} epoch{'s' * (max_iter != 1)} on {n_train} training images, "
        "n_components=2"
    )


def add_arguments(parser, output_help=True):
    """The options this script and ``benchmarks/aae_vs_vae.py`` share."""
    parser.add_argument(
        "--models",
        nargs="+",
        choices=list(MODELS),
        default=list(MODELS),
        metavar="MODEL",
        help=f"models to fit, of {', '.join(MODELS)} (default: all four)",
    )
    add_max_iter_argument(parser, MAX_ITER, "epochs of every model")
    parser.add_argument(
        "--n-train",
        type=int,
        default=10_000,
        help="MNIST training images to fit on, from the first (default: 10000)",
    )
    add_mnist_path_argument(parser)
    parser.add_argument(
        "--verbose", type=int, default=1, help="the estimators' verbose (default: 1)"
    )
    if output_help:
        add_output_dir_argument(parser)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Fit AAEs and VAEs with a 2-D Gaussian and mixture prior on MNIST and plot "
        "their test codes over the prior (the paper's Figure 2)."
    )
    add_arguments(parser)
    return parser.parse_args(argv)


# %%
# Options and data
# ----------------
# The script's options come from its command line (``--help`` lists them);
# ``--max-iter`` sets the epochs of every model, low for a quick run.

if __name__ == "__main__":
    args = parse_args()
    X_train, X_test, _, y_test = load_mnist(args.mnist_path, args.n_train)
    print(f"MNIST: {X_train.shape[0]} training and {X_test.shape[0]} test images")
    figures = output_dir(args)

# %%
# Fit the models
# --------------
# Each fit prints its time and the prior match of its test codes: the energy
# distance in units of the prior's standard deviation (0 = match) and the 1-NN
# two-sample accuracy (0.5 = match), on the first 2,000 codes and draws.

if __name__ == "__main__":
    fits = {}
    for name in args.models:
        fit = fits[name] = fit_model(name, X_train, X_test, args.max_iter, args.verbose)
        energy, nearest = two_sample_statistics(
            fit["codes"][:MATCH_SAMPLES],
            fit["prior_draws"][:MATCH_SAMPLES],
            scale=fit["model"].prior_.std_,
        )
        print(
            f"{MODELS[name][0]}: {fit['model'].n_iter_} epoch(s) in {fit['fit_time']:.1f} s; "
            f"test codes vs. prior draws: energy distance {energy:.3f}, "
            f"1-NN two-sample accuracy {nearest:.3f}"
        )

# %%
# Codes over the prior
# --------------------
# One panel per model: the codes ``transform(X_test)`` of the 10,000 MNIST
# test images, coloured by digit, drawn over as many draws from the fitted
# prior ``prior_.sample(n)`` in grey. Rows: the prior; columns: AAE, VAE.
# Where grey shows through, the codes leave the prior's mass uncovered (a
# hole: decoded prior draws from there are not digits); where colour lies off
# the grey, the codes sit where the prior has little mass. The figure is
# ``aae_vs_vae.png``.

if __name__ == "__main__":
    title = figure_title(len(X_test), len(X_train), args.max_iter)
    plot_aae_vs_vae(fits, y_test, title, figures / "aae_vs_vae.png")
    report_output(args)

# %%
# The full-length run
# -------------------
# The paper's point is that the adversary, which only sees draws, fills the
# prior's shape, while the VAE's codes leave gaps and, with the mixture, bunch
# between and off the thin arms. A run of one epoch cannot show it: the
# committed figure ``benchmarks/results/aae_vs_vae.png`` comes from
# ``python benchmarks/aae_vs_vae.py`` (50 epochs per model), which draws it
# with this file's :func:`plot_aae_vs_vae`; ``python examples/plot_aae_vs_vae.py``
# (the same models, 50 epochs each) draws it too.

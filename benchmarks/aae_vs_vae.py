"""AAE vs. VAE on MNIST: the numbers behind the paper's Figure 2.

Run from the repository root::

    python benchmarks/aae_vs_vae.py                      # the recorded run, 4 models x 50 epochs
    python benchmarks/aae_vs_vae.py --max-iter 1 --models aae-gaussian aae-mixture   # a smoke run

It fits the four models of ``examples/plot_aae_vs_vae.py`` (whose model list,
fit and figure it uses): ``AdversarialAutoencoder(n_components=2,
neighbor_weight=0)`` (the paper's AAE) and ``VariationalAutoencoder(
n_components=2)`` (``beta=1``), each with ``prior="gaussian"`` and
``prior="mixture"`` (10 modes), ``random_state=0``, the same ``--max-iter``
epochs (50), on the first ``--n-train`` MNIST training images (10,000), and
measures on the codes of the 10,000 test images (``transform``):

- prior match: energy distance (prior-std units, 0 = match) and 1-NN
  two-sample accuracy (0.5 = match) of the test codes against as many prior
  draws (``prior_.sample(n, random_state=0)``), by
  ``skaae.metrics.two_sample_statistics`` on the first ``--n-match`` of each
  (10,000: all; it takes about 20 s and 3.5 GB per model);
- holes: the share of 10,000 prior draws (the same draws) whose nearest test
  code is farther than the median distance from a prior draw to its nearest
  other prior draw. About 0.5 when the codes match the prior (the reference
  rows: a second, independent set of prior draws in place of the codes, with
  ``random_state=1``); above it, the codes leave parts of the prior's mass
  uncovered;
- 5-NN accuracy: a 5-nearest-neighbour classifier fitted on the training
  codes (``transform(X_train)``) with their labels, scored on the test codes;
- confident samples: the share of 1,000 decoded prior draws
  (``sample(1000, random_state=0)``) that a ``LogisticRegression(max_iter=1000)``
  fitted on the same ``--n-train`` real training images gives a class
  probability of at least 0.9 (a reference row gives the share of the real
  test images, and the note under the table the classifier's test accuracy).

It writes ``benchmarks/results/aae_vs_vae.json``, ``aae_vs_vae.md`` (the
table, the command, CPU, versions and date) and ``aae_vs_vae.png`` (the
example's figure), and prints the table. ``--models`` runs a subset. Set
``OMP_NUM_THREADS=1`` on a busy 2-core machine. :func:`compare` is the
measurement without the command line, for other runners.
"""

import argparse
import functools
import importlib.util
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, cpu_model, environment_line, knn_accuracy, load_mnist, write_results
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from skaae.metrics import two_sample_statistics

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plot_aae_vs_vae.py"
# Prior draws of the holes measure (and of the prior match, its first --n-match).
N_PRIOR_DRAWS = 10_000
# Decoded prior draws that the classifier judges, and the probability it must give.
N_SAMPLES, CONFIDENCE = 1000, 0.9


@functools.cache
def load_example():
    """``examples/plot_aae_vs_vae.py`` as a module: the models and the figure are the example's.

    The example imports the examples' ``_common``, a namesake of this
    folder's: it gets its own while it loads.
    """
    ours = sys.modules.get("_common")
    try:
        sys.modules["_common"] = _module_from(EXAMPLE.with_name("_common.py"), "_examples_common")
        return _module_from(EXAMPLE, "plot_aae_vs_vae")
    finally:
        if ours is None:
            sys.modules.pop("_common", None)
        else:
            sys.modules["_common"] = ours


def _module_from(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ measures
def holes(codes, prior_draws):
    """Share of ``prior_draws`` whose nearest code is farther than their median NN distance.

    The threshold is the median, over the prior draws, of the distance to
    the nearest other prior draw (excluding the draw itself). About 0.5
    when ``codes`` are as many draws of the prior; more when the codes
    leave regions of the prior empty.
    """
    within = NearestNeighbors(n_neighbors=1).fit(prior_draws).kneighbors()[0][:, 0]
    to_codes = NearestNeighbors(n_neighbors=1).fit(codes).kneighbors(prior_draws)[0][:, 0]
    return float(np.mean(to_codes > np.median(within)))


def confident_share(classifier, images, threshold=CONFIDENCE):
    """Share of ``images`` that ``classifier`` gives some class a probability >= ``threshold``."""
    return float(np.mean(classifier.predict_proba(images).max(axis=1) >= threshold))


def prior_match(codes, prior_draws, prior, n_match):
    """Energy distance, 1-NN two-sample accuracy and holes of ``codes`` against the draws."""
    energy, nearest = two_sample_statistics(
        codes[:n_match], prior_draws[:n_match], scale=prior.std_
    )
    return {
        "energy_distance": energy,
        "two_sample_1nn": nearest,
        "holes": holes(codes, prior_draws),
    }


def compare(
    X_train, y_train, X_test, y_test, models, max_iter, *, n_match=N_PRIOR_DRAWS, verbose=0
):
    """Fit and measure ``models`` (names of the example's ``MODELS``).

    Returns
    -------
    rows : list of dict
        One per model, then the references: each prior's draws against
        independent draws, and the real test images' confident share.
    fits : dict
        The example's :func:`fit_model` result of each model (for its figure).
    classifier_accuracy : float
        Test accuracy of the classifier that judges the samples.
    """
    example = load_example()
    classifier = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    classifier_accuracy = float(classifier.score(X_test, y_test))
    rows, fits, priors = [], {}, {}
    for name in models:
        fit = fits[name] = example.fit_model(name, X_train, X_test, max_iter, verbose)
        model = fit["model"]
        draws = model.prior_.sample(N_PRIOR_DRAWS, random_state=0)
        row = {
            "model": example.MODELS[name][0],
            "name": name,
            "epochs": int(model.n_iter_),
            "fit_time": fit["fit_time"],
            **prior_match(fit["codes"], draws, model.prior_, n_match),
            "knn_accuracy": knn_accuracy(model.transform(X_train), y_train, fit["codes"], y_test),
            "confident_samples": confident_share(
                classifier, model.sample(N_SAMPLES, random_state=0)
            ),
        }
        rows.append(row)
        priors.setdefault(example.MODELS[name][2], model.prior_)
        print(", ".join(f"{key} {_cell(key, value)}" for key, value in row.items()), flush=True)
    for prior_name, prior in priors.items():
        draws = prior.sample(N_PRIOR_DRAWS, random_state=0)
        others = prior.sample(N_PRIOR_DRAWS, random_state=1)
        rows.append(
            {
                "model": f"reference: {prior_name} prior draws in place of the codes",
                "name": f"prior-{prior_name}",
                **prior_match(others, draws, prior, n_match),
            }
        )
    rows.append(
        {
            "model": "reference: real MNIST test images in place of the samples",
            "name": "mnist-test",
            "confident_samples": confident_share(classifier, X_test),
        }
    )
    return rows, fits, classifier_accuracy


# ------------------------------------------------------------------- output
COLUMNS = {
    "model": "model",
    "epochs": "epochs",
    "fit_time": "fit (s)",
    "energy_distance": "energy distance (0 = match)",
    "two_sample_1nn": "1-NN two-sample (0.5 = match)",
    "holes": "holes (about 0.5 = match)",
    "knn_accuracy": "5-NN accuracy",
    "confident_samples": f"samples with p >= {CONFIDENCE}",
}


def _cell(key, value):
    if value is None:
        return ""
    if key == "fit_time":
        return f"{value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(rows):
    lines = ["| " + " | ".join(COLUMNS.values()) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(key, row.get(key)) for key in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def renderer(command, settings):
    def render(rows, env):
        return f"{environment_line(env)}\n\nCommand: `{command}`\n\n{settings}\n\n{table(rows)}"

    return render


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    load_example().add_arguments(parser, output_help=False)
    parser.add_argument(
        "--n-match",
        type=int,
        default=N_PRIOR_DRAWS,
        help="test codes and prior draws of the energy distance and 1-NN two-sample test "
        f"(default: {N_PRIOR_DRAWS}, all; quadratic memory: 3.5 GB at 10000)",
    )
    parser.add_argument(
        "--output-dir",
        default=str(RESULTS),
        help="where to write aae_vs_vae.{json,md,png} (default: benchmarks/results/)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    X_train, y_train, X_test, y_test = load_mnist(args.mnist_path, args.n_train)
    start = time.perf_counter()
    rows, fits, classifier_accuracy = compare(
        X_train,
        y_train,
        X_test,
        y_test,
        args.models,
        args.max_iter,
        n_match=args.n_match,
        verbose=args.verbose,
    )
    threads = os.environ.get("OMP_NUM_THREADS")
    command = shlex.join(["python", "benchmarks/aae_vs_vae.py", *sys.argv[1:]])
    if threads is not None:
        command = f"OMP_NUM_THREADS={threads} {command}"
    settings = (
        f"MNIST: fit on the first {len(X_train)} training images, measured on the "
        f"{len(X_test)} test images; n_components=2, random_state=0, "
        f"{args.max_iter} epoch{'s' * (args.max_iter != 1)}. "
        f"Prior match on {min(args.n_match, len(X_test))} codes and as many prior draws; "
        f"holes against {N_PRIOR_DRAWS} prior draws; 5-NN fitted on the training codes, "
        f"scored on the test codes; {N_SAMPLES} samples judged by a LogisticRegression "
        f"fitted on the same training images (test accuracy {classifier_accuracy:.3f}). "
        f"Total time {time.perf_counter() - start:.0f} s."
    )
    output = Path(args.output_dir)
    write_results(
        "aae_vs_vae",
        rows,
        output,
        render=renderer(command, settings),
        versions={"cpu": cpu_model()},
        command=command,
        settings=settings,
        classifier_accuracy=classifier_accuracy,
    )
    example = load_example()
    title = example.figure_title(len(X_test), len(X_train), args.max_iter)
    example.plot_aae_vs_vae(fits, y_test, title, output / "aae_vs_vae.png")
    print(f"wrote {output / 'aae_vs_vae.md'}, .json and .png")


if __name__ == "__main__":
    main()

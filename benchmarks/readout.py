"""AAEClassifier's read-outs where the classes are clusters: digits, and one more table.

``readout="auto"`` (the default) holds a quarter of each class's labels out
of the supervised step for its first epochs, to compare the head with the
linear read-out. ``benchmarks/tabular_family.py --sections semi`` and
``benchmarks/tabular_semi_diagnosis.py`` measure it on letter, wa_churn and
lending_club, and ``benchmarks/family.py`` on MNIST; this suite measures
what the held-out labels cost where the head is the right read-out, and
what it chooses on a table outside the bars:

- digits (scaled to [0, 1], stratified 75/25 split, seed 0), 100 labels
  (10 per class), seeds 0-4: test accuracy of ``readout="head"`` and of the
  default, with the read-out it chose;
- credit_data (``tabular_family``'s split and encoding), 5 % of the labels,
  stratified, seeds 0-2: the same;
- with ``--mnist`` instead: MNIST's first 10,000 training images with 100
  labels (10 per class, seed 0), 150 epochs without augmentation, seeds
  0-1, scored on the 10,000 test images (``family.py`` fits against a time
  budget, so its runs differ in epochs with the machine's load).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/readout.py          # about 10 minutes
    OMP_NUM_THREADS=1 python benchmarks/readout.py --mnist  # about 20 minutes

It writes ``benchmarks/results/readout.{json,md}`` (``readout_mnist`` with
``--mnist``).
"""

from pathlib import Path

import numpy as np
from _common import load_mnist, mnist_path_argument, partial_labels, results_header
from _common import write_results as _write_results
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tabular import small_suite_arguments
from tabular_family import SEED, Table, semi_labels
from tabular_semi_diagnosis import readout_cell

from skaae import AAEClassifier

NAME = "readout"
READOUTS = ("head", "auto")


def digits_rows():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    y_partial = partial_labels(y_train, 10)
    for seed in range(5):
        for readout in READOUTS:
            model = AAEClassifier(readout=readout, random_state=seed).fit(X_train, y_partial)
            yield _row("digits, 100 labels", model, seed, model.score(X_test, y_test))


def credit_rows(data_dir):
    table = Table("credit_data", Path(data_dir) / "credit_data.parquet", quick=False)
    classes = np.unique(table.y_train)
    y_partial, _ = semi_labels(table, ("share", 0.05))
    n_labels = int(np.sum(y_partial >= 0))
    truth = np.searchsorted(classes, table.y_test)
    for seed in range(3):
        for readout in READOUTS:
            model = AAEClassifier(readout=readout, random_state=seed)
            model.fit(table.X_train, y_partial)
            accuracy = float(np.mean(model.predict(table.X_test) == truth))
            yield _row(f"credit_data, {n_labels} labels (5 %)", model, seed, accuracy)


def mnist_rows(path):
    X, y, X_test, y_test = load_mnist(path, 10000)
    y_partial = partial_labels(y, 10)
    for seed in range(2):
        for readout in READOUTS:
            model = AAEClassifier(readout=readout, max_iter=150, random_state=seed)
            model.fit(X, y_partial)
            yield _row(
                "MNIST 10k, 100 labels, 150 epochs", model, seed, model.score(X_test, y_test)
            )


def _row(data, model, seed, accuracy):
    row = {
        "data": data,
        "readout": model.readout,
        "seed": seed,
        "chosen": model.readout_,
        "scores": model.readout_scores_,
        "accuracy": float(accuracy),
    }
    print(row, flush=True)
    return row


def render(command):
    def markdown(rows, env):
        title = "AAEClassifier's read-outs where the classes are clusters"
        lines = [
            *results_header(title, env, command),
            "Test accuracy of `AAEClassifier(readout=...)` at its defaults otherwise; "
            "chosen: `readout_`, with the Brier scores of the head and the linear read-out "
            "on the held-out labels.",
            "",
            '| data | seed | `readout="head"` | `readout="auto"` | chosen (Brier: head / linear) |',
            "|---|---|---|---|---|",
        ]
        pairs = {}
        for row in rows:
            pairs.setdefault((row["data"], row["seed"]), {})[row["readout"]] = row
        for (data, seed), pair in pairs.items():
            auto = pair["auto"]
            chosen = readout_cell(auto["chosen"], auto["scores"])
            lines.append(
                f"| {data} | {seed} | {pair['head']['accuracy']:.3f} | "
                f"{auto['accuracy']:.3f} | {chosen} |"
            )
        for data in dict.fromkeys(data for data, _ in pairs):
            means = {
                readout: np.mean(
                    [r["accuracy"] for r in rows if r["data"] == data and r["readout"] == readout]
                )
                for readout in READOUTS
            }
            lines.append(f"| {data} | mean | {means['head']:.3f} | {means['auto']:.3f} | |")
        return "\n".join(lines) + "\n"

    return markdown


def _add_mnist_arguments(parser):
    parser.add_argument("--mnist", action="store_true", help="MNIST instead of the others")
    mnist_path_argument(parser)


def main(argv=None):
    args = small_suite_arguments(__doc__.split("\n")[0], argv, _add_mnist_arguments)
    command = "OMP_NUM_THREADS=1 python benchmarks/readout.py"
    if args.mnist:
        rows, name, command = (
            list(mnist_rows(args.mnist_path)),
            f"{NAME}_mnist",
            command + " --mnist",
        )
    else:
        rows, name = list(digits_rows()) + list(credit_rows(args.data_dir)), NAME
    _write_results(name, rows, args.output_dir, render=render(command), seed=SEED)


if __name__ == "__main__":
    main()

"""
Adversarial autoencoder on a mixed-type table
=============================================

skaae's estimators take a pandas DataFrame of numeric, boolean and
categorical columns (with missing values) as it is: ``fit(df)`` learns a
one-hot / quantile-normalised layout of the columns, ``transform(df)`` gives
codes, and ``sample(n)`` returns new rows with the table's columns, dtypes and
categories. This example uses the IBM telco churn table
(``../shared/data/tabular/wa_churn.parquet``: 7,043 customers, 20 columns, 11
of them categorical, 11 missing cells in ``total_charges``), split 80/20 with
``numpy.random.default_rng(0).permutation``, and fits two models on the
training rows:

- a map: ``AdversarialAutoencoder(n_components=2, random_state=0)`` on the
  table without the ``churn`` column;
- a generator: ``AdversarialAutoencoder(n_components=8, random_state=0)`` on
  the whole table, ``churn`` included (a 2-D code is for looking at; an 8-D
  one leaves the decoder more room to reproduce the columns' joint
  distribution), whose ``sample(len(train), random_state=0)`` gives as many
  synthetic rows as there are training rows.

``tabular_map.png``
    The 2-D codes ``transform`` of the held-out customers, coloured by
    whether they churned, a column the map never saw. The title gives the
    ROC AUC of a 25-nearest-neighbour vote of training codes (0.5: the map
    knows nothing of churn).

``tabular_marginals.png``
    Real (training) against synthetic rows, column by column: the shares of
    ``contract`` and ``internet_service`` levels side by side, and overlaid
    histograms of ``tenure`` and ``monthly_charges``.

``tabular_correlations.png``
    Pearson correlations between the columns of the real (left) and the
    synthetic rows (right), categorical columns one-hot encoded (one
    ``column: level`` row per level), numeric and 0/1 columns as they are;
    the title gives the mean absolute difference of the two matrices.

The script also prints the fit times, the share of churners among real and
synthetic rows, and the churn rate of a conditional sample,
``sample(1000, random_state=0, conditions={"contract": "Two year"})``,
against that of the real two-year customers. In the default run (30 epochs
each, ``OMP_NUM_THREADS=1`` while other jobs shared the machine) the fits took
31 s (map) and 23 s (generator); the map's churn AUC was 0.83; churners made
26.5 % of the real training rows and 27.4 % of the synthetic ones; among
two-year contracts, 2.4 % of the 1,366 real customers churned and 3.2 % of the
conditional sample; the correlations differed by 0.057 on average.

The table is read with pandas and pyarrow (``pip install -e ".[examples]"``);
``--data`` points at another copy of it::

    python examples/plot_tabular.py
    python examples/plot_tabular.py --max-iter 1 --output-dir /tmp/figures
"""

import argparse
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import HERE, add_output_dir_argument, output_dir, save_figure, style_code_axes
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier

from skaae import AdversarialAutoencoder

# The figures this script writes, in --output-dir.
FIGURES = ["tabular_map.png", "tabular_marginals.png", "tabular_correlations.png"]
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "tabular" / "wa_churn.parquet"
LABEL, POSITIVE = "churn", "Yes"
# Columns whose real and synthetic marginals are drawn: two categorical, two numeric.
MARGINAL_COLUMNS = ("contract", "internet_service", "tenure", "monthly_charges")
# The condition of the conditional sample, and its size.
CONDITION = {"contract": "Two year"}
N_CONDITIONAL = 1000
# Epochs of each model unless --max-iter says otherwise.
MAX_ITER = 30
# Code dimension of the generator (the map's is 2).
GENERATOR_COMPONENTS = 8
# Training codes that vote on a held-out customer's churn in the map's score.
N_NEIGHBORS = 25
REAL_COLOUR, SYNTHETIC_COLOUR = "tab:blue", "tab:orange"
CHURN_COLOURS = {"No": "tab:blue", "Yes": "tab:red"}


def load_table(path):
    """The table at ``path`` (Parquet), or an exit with a message saying what is missing."""
    if not path.is_file():
        sys.exit(
            f"Table not found at {path}. Pass --data PATH to wa_churn.parquet "
            "(see ../shared/data/tabular/README.md)."
        )
    try:
        import pandas as pd
        import pyarrow  # noqa: F401 (pandas reads Parquet with it)
    except ImportError as error:
        sys.exit(
            f"Reading the Parquet table needs pandas and pyarrow ({error}). Install them with "
            'python -m pip install -e ".[examples]" (or: python -m pip install pandas pyarrow).'
        )
    return pd.read_parquet(path)


def split(table, test_fraction=0.2, seed=0):
    """``train, test``: the rows shuffled by ``default_rng(seed)``, the last 20 % held out."""
    order = np.random.default_rng(seed).permutation(len(table))
    n_train = len(table) - round(test_fraction * len(table))
    train = table.iloc[order[:n_train]].reset_index(drop=True)
    test = table.iloc[order[n_train:]].reset_index(drop=True)
    return train, test


def fit_timed(model, X):
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


def churn_rate(rows):
    return float(np.mean(rows[LABEL] == POSITIVE))


def _square_limits(points):
    """Equal x and y ranges around the bulk (0.5-99.5 percentiles) of ``points``."""
    low, high = np.percentile(points, [0.5, 99.5], axis=0)
    centre, half = (low + high) / 2, (high - low).max() / 2 * 1.1
    return [(c - half, c + half) for c in centre]


def plot_map(Z, churned, title, path):
    """Held-out codes coloured by churn, churners drawn on top."""
    fig, ax = plt.subplots(figsize=(7.4, 6.6), layout="constrained")
    for value, label in ((False, "stayed"), (True, "churned")):
        mask = churned == value
        colour = CHURN_COLOURS[POSITIVE if value else "No"]
        ax.scatter(*Z[mask].T, s=9, color=colour, alpha=0.55, lw=0, label=f"{label} ({mask.sum()})")
    style_code_axes(ax, _square_limits(Z))
    ax.legend(title="customer", loc="upper right", markerscale=2.5, framealpha=0.9)
    ax.set_title(title)
    save_figure(fig, path)


def plot_marginals(real, synthetic, title, path):
    """One panel per column: level shares side by side, or overlaid histograms."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")
    for ax, name in zip(axes.flat, MARGINAL_COLUMNS, strict=True):
        column = real[name]
        if column.dtype == "category":
            levels = list(column.cat.categories)
            x = np.arange(len(levels))
            for offset, rows, colour, label in (
                (-0.2, real, REAL_COLOUR, "real"),
                (0.2, synthetic, SYNTHETIC_COLOUR, "synthetic"),
            ):
                shares = rows[name].value_counts(normalize=True).reindex(levels, fill_value=0)
                ax.bar(x + offset, 100 * shares.to_numpy(), width=0.4, color=colour, label=label)
            ax.set_xticks(x, levels)
            ax.set_ylabel("share of rows (%)")
        else:
            values = [np.asarray(rows[name].dropna(), dtype=float) for rows in (real, synthetic)]
            bins = np.histogram_bin_edges(np.concatenate(values), bins=30)
            for data, colour, label in zip(
                values, (REAL_COLOUR, SYNTHETIC_COLOUR), ("real", "synthetic"), strict=True
            ):
                ax.hist(data, bins=bins, density=True, color=colour, alpha=0.45, label=label)
                ax.hist(data, bins=bins, density=True, histtype="step", color=colour, lw=1.2)
            ax.set_ylabel("density")
        ax.set_title(f"{name} ({'categorical' if column.dtype == 'category' else 'numeric'})")
        ax.set_xlabel(name)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(frameon=False)
    fig.suptitle(title)
    save_figure(fig, path)


# Shorter tick labels of some category levels in the correlation figure.
SHORT_LEVELS = {
    "No internet service": "no internet",
    "No phone service": "no phone",
    "Bank transfer (automatic)": "Bank transfer",
    "Credit card (automatic)": "Credit card",
}


def one_hot(rows, columns):
    """Numeric columns as floats and one 0/1 ``column: level`` column per category level."""
    import pandas as pd

    parts = []
    for name in columns:
        column = rows[name]
        if column.dtype == "category":
            for level in column.cat.categories:
                label = f"{name}: {SHORT_LEVELS.get(level, level)}"
                parts.append((column == level).astype(float).rename(label))
        else:
            parts.append(column.astype(float))
    return pd.concat(parts, axis=1)


def plot_correlations(real, synthetic, title, path):
    """Correlation matrices of the real and synthetic rows side by side, one colour bar."""
    columns = list(real.columns)
    matrices = [one_hot(rows, columns).corr().to_numpy() for rows in (real, synthetic)]
    names = list(one_hot(real.head(1), columns).columns)
    cmap = plt.get_cmap("RdBu_r").copy()
    cmap.set_bad("0.8")  # a column constant in the synthetic rows has no correlation
    # Margins set by hand: the constrained layout clips the longest rotated tick labels.
    fig, axes = plt.subplots(1, 2, figsize=(17, 9.9))
    fig.subplots_adjust(left=0.1, right=0.92, bottom=0.18, top=0.88, wspace=0.04)
    ticks = np.arange(len(names))
    for ax, matrix, label in zip(axes, matrices, ("real", "synthetic"), strict=True):
        image = ax.imshow(matrix, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks(ticks, names, rotation=90, fontsize=6.5)
        ax.set_yticks(ticks, names if label == "real" else [], fontsize=6.5)
        ax.set_title(f"{label} rows ({len(real if label == 'real' else synthetic)})")
    colour_bar = fig.add_axes((0.935, 0.3, 0.01, 0.45))
    fig.colorbar(image, cax=colour_bar, label="Pearson correlation")
    difference = np.abs(matrices[0] - matrices[1])
    gap = float(np.nanmean(difference[~np.eye(len(names), dtype=bool)]))
    title = f"{title}\nmean absolute difference of the correlations: {gap:.3f}"
    if np.isnan(matrices[1]).any():
        title += " (grey: a column constant in the synthetic rows)"
    fig.suptitle(title)
    save_figure(fig, path)
    return gap


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Fit adversarial autoencoders on the telco churn table: a 2-D map of the "
        "customers, and real against synthetic marginals and correlations."
    )
    parser.add_argument(
        "--data",
        default=str(DEFAULT_DATA),
        help="path of wa_churn.parquet (default: ../shared/data/tabular/wa_churn.parquet next "
        "to the repository)",
    )
    parser.add_argument(
        "--max-iter",
        type=int,
        default=MAX_ITER,
        help=f"epochs of each model (default: {MAX_ITER}; 1 for a quick smoke run)",
    )
    add_output_dir_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    table = load_table(Path(args.data))
    train, test = split(table)
    print(f"{Path(args.data).name}: {len(train)} training and {len(test)} test rows")
    figures = output_dir(args)

    # The map: a 2-D code of every column but churn.
    features = [name for name in table.columns if name != LABEL]
    mapper, map_time = fit_timed(
        AdversarialAutoencoder(n_components=2, max_iter=args.max_iter, random_state=0),
        train[features],
    )
    Z_train, Z_test = mapper.transform(train[features]), mapper.transform(test[features])
    knn = KNeighborsClassifier(n_neighbors=N_NEIGHBORS).fit(Z_train, train[LABEL] == POSITIVE)
    auc = roc_auc_score(test[LABEL] == POSITIVE, knn.predict_proba(Z_test)[:, 1])
    print(f"map (n_components=2, without {LABEL}): {mapper.n_iter_} epoch(s) in {map_time:.1f} s")
    print(f"ROC AUC of churn from the test codes ({N_NEIGHBORS}-NN of training codes): {auc:.3f}")
    epochs = f"{args.max_iter} epoch{'s' * (args.max_iter != 1)}"
    plot_map(
        Z_test,
        np.asarray(test[LABEL] == POSITIVE),
        f"2-D codes of {len(test)} held-out customers, fitted without {LABEL!r}\n"
        f"({epochs}; churn ROC AUC of a {N_NEIGHBORS}-NN vote on the codes: {auc:.2f})",
        figures / FIGURES[0],
    )

    # The generator: every column, churn included.
    generator, generator_time = fit_timed(
        AdversarialAutoencoder(
            n_components=GENERATOR_COMPONENTS, max_iter=args.max_iter, random_state=0
        ),
        train,
    )
    synthetic = generator.sample(len(train), random_state=0)
    print(
        f"generator (n_components={GENERATOR_COMPONENTS}, all columns): "
        f"{generator.n_iter_} epoch(s) in {generator_time:.1f} s"
    )
    print(
        f"churners: {100 * churn_rate(train):.1f} % of the real training rows, "
        f"{100 * churn_rate(synthetic):.1f} % of {len(synthetic)} synthetic rows"
    )
    [(name, value)] = CONDITION.items()
    real_condition = train[train[name] == value]
    try:
        conditional = generator.sample(N_CONDITIONAL, random_state=0, conditions=CONDITION)
    except ValueError as error:  # the condition too rare in a barely trained model
        print(f"conditional sample {CONDITION}: none ({error})")
    else:
        print(
            f"churners with {name} == {value!r}: {100 * churn_rate(real_condition):.1f} % of "
            f"{len(real_condition)} real training rows, {100 * churn_rate(conditional):.1f} % "
            f"of {len(conditional)} rows of sample(conditions={CONDITION})"
        )

    source = f"{len(train)} real training rows and as many synthetic ones"
    plot_marginals(
        train,
        synthetic,
        f"Telco churn: {source}\n(AdversarialAutoencoder, n_components="
        f"{GENERATOR_COMPONENTS}, {epochs}, fitted on all {table.shape[1]} columns)",
        figures / FIGURES[1],
    )
    gap = plot_correlations(
        train,
        synthetic,
        f"Pearson correlations, categorical columns one-hot (one row per level), numeric and "
        f"0/1 columns as they are:\n{source}",
        figures / FIGURES[2],
    )
    print(f"mean absolute difference of the correlations, real vs. synthetic: {gap:.3f}")
    print(f"wrote {', '.join(str(figures / name) for name in FIGURES)}")


if __name__ == "__main__":
    main()

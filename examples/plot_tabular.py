"""
Adversarial autoencoder on a mixed-type table
=============================================

skaae's estimators take a pandas DataFrame of numeric, boolean and
categorical columns (with missing values) as it is: ``fit(df)`` learns a
one-hot / quantile-normalised layout of the columns, ``transform(df)`` gives
codes, and ``sample(n)`` returns new rows with the table's columns, dtypes and
categories. This example maps the customers of a telco churn table in two
dimensions and compares synthetic rows with the real ones.

The table is the IBM telco churn table
(``../shared/data/tabular/wa_churn.parquet``: 7,043 customers, 20 columns, 11
of them categorical, 11 missing cells in ``total_charges``), read with pandas
and fastparquet or pyarrow (``pip install -e ".[examples]"`` installs
fastparquet); ``--data`` points at another
copy of it. In the default run (30 epochs each, ``OMP_NUM_THREADS=1`` while
other jobs shared the machine) the fits took 31 s (map) and 23 s
(generator).

The figures go to a new temporary directory, printed at the end, unless
``--output-dir`` names one::

    python examples/plot_tabular.py --output-dir examples/figures
    python examples/plot_tabular.py --max-iter 1
"""
# sphinx_gallery_thumbnail_number = 3

# %%
# Options and data
# ----------------
# The script's options come from its command line (``--help`` lists them);
# ``--max-iter`` sets the epochs of each model, low for a quick run. The rows
# are split 80/20 with ``numpy.random.default_rng(0).permutation``.

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import (
    HERE,
    add_max_iter_argument,
    add_output_dir_argument,
    output_dir,
    report_output,
    save_figure,
)
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier

from skaae import AdversarialAutoencoder
from skaae.plotting import plot_codes, plot_samples

# The figures this script writes, in --output-dir.
FIGURES = ["tabular_map.png", "tabular_marginals.png", "tabular_correlations.png"]
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "tabular" / "wa_churn.parquet"
LABEL, POSITIVE = "churn", "Yes"
# Columns whose real and synthetic marginals are drawn: two categorical, two numeric.
MARGINAL_COLUMNS = ("contract", "internet_service", "tenure", "monthly_charges")
# Columns of the table of synthetic rows.
TABLE_COLUMNS = ("churn", "contract", "tenure", "monthly_charges", "internet_service", "partner")
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
    add_max_iter_argument(parser, MAX_ITER, "epochs of each model")
    add_output_dir_argument(parser)
    return parser.parse_args(argv)


_INSTALL = (
    'install them with python -m pip install -e ".[examples]" '
    "(or: python -m pip install pandas fastparquet)."
)


def load_table(path):
    """The table at ``path`` (Parquet), or an exit with a message saying what is missing."""
    if not path.is_file():
        sys.exit(
            f"Table not found at {path}. Pass --data PATH to wa_churn.parquet "
            "(see ../shared/data/tabular/README.md)."
        )
    try:
        import pandas as pd
    except ImportError as error:
        sys.exit(f"Reading the table needs pandas ({error}): {_INSTALL}")
    if not any(importlib.util.find_spec(engine) for engine in ("pyarrow", "fastparquet")):
        sys.exit(f"Reading the Parquet table needs pyarrow or fastparquet: {_INSTALL}")
    return pd.read_parquet(path)  # with pyarrow if installed, else fastparquet


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


args = parse_args()
table = load_table(Path(args.data))
train, test = split(table)
print(f"{Path(args.data).name}: {len(train)} training and {len(test)} test rows")
figures = output_dir(args)
epochs = f"{args.max_iter} epoch{'s' * (args.max_iter != 1)}"

# %%
# A map of the customers
# ----------------------
# ``AdversarialAutoencoder(n_components=2, random_state=0)`` on the table
# without the ``churn`` column: the DataFrame goes to ``fit`` as it is.
# :func:`skaae.plotting.plot_codes` draws the 2-D codes ``transform`` of the
# held-out customers, coloured by whether they churned, a column the map never
# saw (churners on top). The title gives the ROC AUC of a
# 25-nearest-neighbour vote of training codes (0.5: the map knows nothing of
# churn). The figure is ``tabular_map.png``.

features = [name for name in table.columns if name != LABEL]
mapper, map_time = fit_timed(
    AdversarialAutoencoder(n_components=2, max_iter=args.max_iter, verbose=1, random_state=0),
    train[features],
)
Z_train, Z_test = mapper.transform(train[features]), mapper.transform(test[features])
knn = KNeighborsClassifier(n_neighbors=N_NEIGHBORS).fit(Z_train, train[LABEL] == POSITIVE)
auc = roc_auc_score(test[LABEL] == POSITIVE, knn.predict_proba(Z_test)[:, 1])
print(f"map (n_components=2, without {LABEL}): {mapper.n_iter_} epoch(s) in {map_time:.1f} s")
print(f"ROC AUC of churn from the test codes ({N_NEIGHBORS}-NN of training codes): {auc:.3f}")

churned = np.asarray(test[LABEL] == POSITIVE)
fig, ax = plt.subplots(figsize=(7.4, 6.6), layout="constrained")
# Labels that sort the stayers first, so that the churners are drawn on top.
plot_codes(
    mapper, test[features], np.where(churned, "1 churned", "0 stayed"), n_prior=0, ax=ax, s=9
)
ax.legend(
    ax.collections,
    [f"stayed ({np.sum(~churned)})", f"churned ({np.sum(churned)})"],
    title="customer",
    loc="upper right",
    markerscale=2.5,
    framealpha=0.9,
)
ax.set_title(
    f"2-D codes of {len(test)} held-out customers, fitted without {LABEL!r}\n"
    f"({epochs}; churn ROC AUC of a {N_NEIGHBORS}-NN vote on the codes: {auc:.2f})"
)
save_figure(fig, figures / FIGURES[0])

# %%
# A generator of rows
# -------------------
# ``AdversarialAutoencoder(n_components=8, random_state=0)`` on the whole
# table, ``churn`` included (a 2-D code is for looking at; an 8-D one leaves
# the decoder more room to reproduce the columns' joint distribution), whose
# ``sample(len(train), random_state=0)`` gives as many synthetic rows as there
# are training rows, with the table's columns, dtypes and categories. The
# first rows of some of the columns, drawn by
# :func:`skaae.plotting.plot_samples` as a table:

generator, generator_time = fit_timed(
    AdversarialAutoencoder(
        n_components=GENERATOR_COMPONENTS, max_iter=args.max_iter, verbose=1, random_state=0
    ),
    train,
)
synthetic = generator.sample(len(train), random_state=0)
print(
    f"generator (n_components={GENERATOR_COMPONENTS}, all columns): "
    f"{generator.n_iter_} epoch(s) in {generator_time:.1f} s"
)
ax = plot_samples(synthetic[list(TABLE_COLUMNS)], 8)
ax.set_title(f"the first rows of generator.sample(n), {len(TABLE_COLUMNS)} of the columns")

# %%
# Churners among the synthetic rows, and a conditional sample
# -----------------------------------------------------------
# The share of churners among real and synthetic rows, and the churn rate of a
# conditional sample, ``sample(1000, random_state=0, conditions={"contract":
# "Two year"})``, against that of the real two-year customers.

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

# %%
# Real against synthetic marginals
# --------------------------------
# Real (training) against synthetic rows, column by column: the shares of
# ``contract`` and ``internet_service`` levels side by side, and overlaid
# histograms of ``tenure`` and ``monthly_charges``. The figure is
# ``tabular_marginals.png``.

source = f"{len(train)} real training rows and as many synthetic ones"
fig, axes = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")
for ax, name in zip(axes.flat, MARGINAL_COLUMNS, strict=True):
    column = train[name]
    if column.dtype == "category":
        levels = list(column.cat.categories)
        x = np.arange(len(levels))
        for offset, rows, colour, label in (
            (-0.2, train, REAL_COLOUR, "real"),
            (0.2, synthetic, SYNTHETIC_COLOUR, "synthetic"),
        ):
            shares = rows[name].value_counts(normalize=True).reindex(levels, fill_value=0)
            ax.bar(x + offset, 100 * shares.to_numpy(), width=0.4, color=colour, label=label)
        ax.set_xticks(x, levels)
        ax.set_ylabel("share of rows (%)")
    else:
        values = [np.asarray(rows[name].dropna(), dtype=float) for rows in (train, synthetic)]
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
fig.suptitle(
    f"Telco churn: {source}\n(AdversarialAutoencoder, n_components="
    f"{GENERATOR_COMPONENTS}, {epochs}, fitted on all {table.shape[1]} columns)"
)
save_figure(fig, figures / FIGURES[1])

# %%
# Real against synthetic correlations
# -----------------------------------
# Pearson correlations between the columns of the real (left) and the
# synthetic rows (right), categorical columns one-hot encoded (one
# ``column: level`` row per level), numeric and 0/1 columns as they are; the
# title gives the mean absolute difference of the two matrices. The figure is
# ``tabular_correlations.png``.

# Shorter tick labels of some category levels.
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


columns = list(train.columns)
matrices = [one_hot(rows, columns).corr().to_numpy() for rows in (train, synthetic)]
names = list(one_hot(train.head(1), columns).columns)
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
    ax.set_title(f"{label} rows ({len(train if label == 'real' else synthetic)})")
fig.colorbar(image, cax=fig.add_axes((0.935, 0.3, 0.01, 0.45)), label="Pearson correlation")
difference = np.abs(matrices[0] - matrices[1])
gap = float(np.nanmean(difference[~np.eye(len(names), dtype=bool)]))
title = (
    "Pearson correlations, categorical columns one-hot (one row per level), numeric and "
    f"0/1 columns as they are:\n{source}\nmean absolute difference of the correlations: "
    f"{gap:.3f}"
)
if np.isnan(matrices[1]).any():
    title += " (grey: a column constant in the synthetic rows)"
fig.suptitle(title)
save_figure(fig, figures / FIGURES[2])
print(f"mean absolute difference of the correlations, real vs. synthetic: {gap:.3f}")
report_output(args)

# %%
# The full-length run
# -------------------
# A run of one epoch is far from the table. The committed figures
# ``examples/figures/tabular_map.png``, ``examples/figures/tabular_marginals.png``
# and ``examples/figures/tabular_correlations.png`` come from the default run
# (30 epochs each), which ``python examples/plot_tabular.py --output-dir
# examples/figures`` redraws. In it the map's churn AUC was 0.83; churners
# made 26.5 % of the real training rows and 27.4 % of the synthetic ones;
# among two-year contracts, 2.4 % of the 1,366 real customers churned and
# 3.2 % of the conditional sample; the correlations differed by 0.057 on
# average.

"""Synthetic tabular data: skaae next to TVAE, CTGAN and a Gaussian mixture on four real tables.

Run from the repository root, in a virtual environment with the ``bench``
extra (``pip install -e ".[bench]"``: ctgan, sdmetrics and pyarrow; they pin
pandas < 3)::

    OMP_NUM_THREADS=1 python benchmarks/tabular.py               # every table, peers cached
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --skip-skaae  # the peers only
    python benchmarks/tabular.py --datasets wa_churn --peers GaussianMixture \\
        --skaae-params '{"max_iter": 5}'                           # a smoke run

For every table ``--data-dir/<name>.parquet`` (default: the four of
``../shared/data/tabular``; ``--datasets`` chooses) it reads the table with
``pd.read_parquet`` (dtypes kept, rows with missing values kept), splits it
80/20 with ``numpy.random.default_rng(0).permutation`` and fits every model
on the training rows, the label column included in the table being
synthesised, on one thread (``torch.set_num_threads(1)``, BLAS and OpenMP
limited by threadpoolctl, joblib sequential). It times the fit and the
sampling of 10,000 rows, samples as many rows as there are training rows
(seed 0), sets the samples' columns to the training dtypes (categorical
columns to the training categories, integer columns rounded) and measures:

- fidelity: SDMetrics' single-table ``QualityReport`` of the training rows
  against the synthetic rows: Column Shapes, Column Pair Trends and the
  overall score (their mean). Metadata: a column is ``categorical`` if its
  dtype is category, object or bool or if it has two distinct values in the
  training rows, ``numerical`` otherwise;
- machine-learning efficacy: macro F1 on the real test rows of
  ``HistGradientBoostingClassifier(categorical_features="from_dtype",
  random_state=0)`` trained on the synthetic rows to predict the label
  (synthetic rows without a label are left out), next to the same
  classifier trained on the real training rows;
- privacy sanity: the share of synthetic rows identical to some training
  row (every column equal; missing equals missing), and the median distance
  from a synthetic row to its closest training row (DCR) next to the same
  median for the real test rows. Distances are Euclidean on the training
  rows' encoding: numerical columns with missing values set to the training
  median, then standardised; categorical columns one-hot, missing as a
  category of its own.

A reference row "real test rows" gives the QualityReport, the identical
share and the DCR of the real test rows in place of synthetic ones.

Models:

- ``TVAE()`` and ``CTGAN()`` of ctgan, at their defaults (300 epochs),
  ``discrete_columns`` = the categorical columns, nullable integers cast to
  float, seeded with ``set_random_state(0)``. Both handle a missing value in
  a discrete column (as a category) but not in a continuous one: CTGAN
  refuses such rows and TVAE fits them and then fails to sample; each peer
  is therefore fitted on the training rows without a missing numerical
  value (the rows it got are recorded), and still samples as many rows as
  there are training rows.
- ``GaussianMixture``: ``sklearn.mixture.GaussianMixture`` (full
  covariances, ``random_state=0``), the number of components chosen by BIC
  among 5, 10, 20 and 40 (the fit time includes the four fits), on the
  training rows encoded as one column per numerical column (standardised,
  its missing values set to the mean) plus a 0/1 indicator for a numerical
  column with missing values, and one-hot blocks for the categorical
  columns (a missing value a category of its own). Samples are mapped back:
  the most likely category of each block (which may be "missing"), the
  numerical values unscaled, clipped to the training range and rounded when
  every training value is whole, and missing where the indicator exceeds 0.5.
- skaae: :func:`skaae_models`, each fitted with ``model.fit(train)`` on the
  whole DataFrame (mixed types, missing values) and sampled with
  ``model.sample(n, random_state=0)``. ``--skaae-params`` (a JSON dict) is
  passed to ``set_params`` to try settings; ``--skip-skaae`` leaves them out.
  A model whose fit or sample raises gets a row with the error.

The peers' rows are cached in ``benchmarks/results/tabular_peers.json``
under the CPU model, the table and the peer, each with its environment
(date, load average, versions) and the table's sha256; a later run on the
same CPU model (and the same table) reuses them, ``--refit-peers`` fits
them again. The whole run writes ``benchmarks/results/tabular.json`` and
``tabular.md`` (rewritten after each table) and prints the tables.

Times, one thread on a 2-core machine shared with other jobs: TVAE took 68 s
on wa_churn (5,634 training rows) and CTGAN 251 s; CTGAN took 29 minutes on
letter (16,000 rows). A run of skaae's rows with the peers cached takes
about half an hour for the four tables.
"""

import argparse
import contextlib
import hashlib
import json
import os
import shlex
import sys
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, cpu_model, environment, environment_line, write_results
from joblib import parallel_config
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

import skaae

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tabular"
PEERS_CACHE = "tabular_peers.json"
# The label column of each table (shared/data/tabular/README.md).
LABELS = {"wa_churn": "churn", "lending_club": "Class", "credit_data": "Status", "letter": "lettr"}
SEED = 0
TEST_SHARE = 0.2
N_TIMED = 10_000  # rows whose sampling is timed
GMM_COMPONENTS = (5, 10, 20, 40)
PEERS = ("TVAE", "CTGAN", "GaussianMixture")
MISSING = "<missing>"  # a missing categorical value, as a category of its own


def skaae_models():
    """skaae's models of the table: name -> ``factory(seed)`` of an unfitted estimator.

    The first two run by default: the estimator at its defaults (a 2-D code,
    made for maps) and with an 8-D code, the setting for synthetic rows. The
    others measure the choices of the table transformer (``--skaae-models``):
    0/1 columns as numbers instead of two-level categories, standardised
    numbers instead of the quantile transform, and the VAE on the same table.
    """
    aae = skaae.AdversarialAutoencoder
    return {
        "AdversarialAutoencoder": lambda seed: aae(random_state=seed),
        "AdversarialAutoencoder(n_components=8)": lambda seed: aae(
            n_components=8, random_state=seed
        ),
        "AAE 8-D, 0/1 columns numeric": lambda seed: aae(
            n_components=8,
            table=skaae.TableTransformer(binary_columns="numeric"),
            random_state=seed,
        ),
        "AAE 8-D, standardised numbers": lambda seed: aae(
            n_components=8,
            table=skaae.TableTransformer(numeric_transform="standard"),
            random_state=seed,
        ),
        "VariationalAutoencoder(n_components=8)": lambda seed: skaae.VariationalAutoencoder(
            n_components=8, random_state=seed
        ),
    }


DEFAULT_SKAAE_MODELS = ("AdversarialAutoencoder", "AdversarialAutoencoder(n_components=8)")


# --------------------------------------------------------------------- data
def load_table(path, label):
    """``train, test``: the table at ``path`` split 80/20 by ``default_rng(0).permutation``."""
    table = pd.read_parquet(path)
    if label not in table.columns:
        sys.exit(f"{path}: no label column {label!r}")
    order = np.random.default_rng(SEED).permutation(len(table))
    n_train = len(table) - round(TEST_SHARE * len(table))
    train = table.iloc[order[:n_train]].reset_index(drop=True)
    test = table.iloc[order[n_train:]].reset_index(drop=True)
    return train, test


def file_digest(path):
    """The first 16 hex digits of the file's sha256 (as the data README gives them)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def is_categorical(column):
    """Category, object or bool dtype, or two distinct values."""
    dtype = column.dtype
    if (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    ):
        return True
    return column.nunique(dropna=True) == 2


def categorical_columns(train):
    return [name for name in train.columns if is_categorical(train[name])]


def metadata(train):
    """SDMetrics single-table metadata of the training rows."""
    categorical = set(categorical_columns(train))
    return {
        "columns": {
            name: {"sdtype": "categorical" if name in categorical else "numerical"}
            for name in train.columns
        }
    }


def conform(sample, train):
    """``sample`` with the training columns, in order, cast to the training dtypes.

    Categorical columns get the training categories (another value becomes
    missing); integer columns are rounded (a missing value makes a numpy
    integer column nullable ``Int64``); other columns become numbers.
    """
    columns = {}
    for name in train.columns:
        dtype, values = train[name].dtype, sample[name]
        if isinstance(dtype, pd.CategoricalDtype):
            columns[name] = pd.Categorical(
                np.asarray(values, dtype=object), categories=dtype.categories, ordered=dtype.ordered
            )
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            columns[name] = values.astype(dtype)
        elif pd.api.types.is_integer_dtype(dtype):
            numbers = pd.to_numeric(values, errors="coerce").astype(float).round()
            nullable = isinstance(dtype, pd.api.extensions.ExtensionDtype)
            columns[name] = numbers.astype(dtype if nullable or numbers.notna().all() else "Int64")
        else:
            columns[name] = pd.to_numeric(values, errors="coerce").astype(dtype)
    return pd.DataFrame(columns)


def _category_strings(column):
    """A categorical column as strings, a missing value as :data:`MISSING`."""
    return column.astype(object).where(column.notna(), MISSING).astype(str)


def _numbers(column):
    return pd.to_numeric(column, errors="coerce").astype(float)


def plain(frame, categorical):
    """Categorical columns as strings, the others as floats (missing: NaN)."""
    return pd.DataFrame(
        {
            name: _category_strings(frame[name]) if name in categorical else _numbers(frame[name])
            for name in frame.columns
        }
    )


# ----------------------------------------------------------------- measures
def quality(train, synthetic, meta):
    """``quality, column_shapes, column_pair_trends`` of SDMetrics' QualityReport."""
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(train, synthetic, meta, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
    }


def efficacy(rows, test, label):
    """Macro F1 on ``test`` of the gradient-boosting classifier trained on ``rows``.

    Rows of a single class make a classifier that always predicts it.
    """
    rows = rows[rows[label].notna()]
    classes = rows[label].astype(str).unique()
    if len(classes) == 0:
        return None
    truth = test[label].astype(str)
    if len(classes) == 1:
        predicted = np.full(len(test), classes[0], dtype=object)
    else:
        classifier = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=0
        )
        classifier.fit(rows.drop(columns=label), rows[label].astype(str))
        predicted = classifier.predict(test.drop(columns=label))
    return float(f1_score(truth, predicted, average="macro", labels=np.unique(truth)))


class Privacy:
    """Identical-row share and distance to the closest training row (DCR)."""

    def __init__(self, train):
        self.categorical = categorical_columns(train)
        numerical = [name for name in train.columns if name not in self.categorical]
        self.encoder = ColumnTransformer(
            [
                (
                    "numerical",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    numerical,
                ),
                ("categorical", OneHotEncoder(handle_unknown="ignore"), self.categorical),
            ],
            sparse_threshold=0,
        )
        train = plain(train, self.categorical)
        self.neighbours = NearestNeighbors(n_neighbors=1).fit(self.encoder.fit_transform(train))
        self.train_rows = set(pd.util.hash_pandas_object(train, index=False))

    def __call__(self, rows):
        """``identical_share, median_dcr`` of ``rows`` (conformed to the training dtypes)."""
        rows = plain(rows, self.categorical)
        hashes = pd.util.hash_pandas_object(rows, index=False)
        identical = float(np.mean([value in self.train_rows for value in hashes]))
        distances = self.neighbours.kneighbors(self.encoder.transform(rows))[0][:, 0]
        return identical, float(np.median(distances))


def measure(synthetic, train, test, label, meta, privacy):
    """Every measure of ``synthetic`` rows (conformed to the training dtypes)."""
    identical, dcr = privacy(synthetic)
    return {
        **quality(train, synthetic, meta),
        "efficacy": efficacy(synthetic, test, label),
        "label_classes": int(synthetic[label].nunique()),
        "identical_share": identical,
        "dcr_synthetic": dcr,
    }


# -------------------------------------------------------------------- peers
class GaussianMixtureRows:
    """A GaussianMixture on one-hot + standardised columns, its samples mapped back to rows.

    See the module docstring for the encoding and the way back.
    """

    def __init__(self, categorical, n_components=GMM_COMPONENTS, random_state=SEED):
        self.categorical = list(categorical)
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, frame):
        self.columns_, blocks = [], []
        for name in frame.columns:
            if name in self.categorical:
                values = _category_strings(frame[name]).to_numpy()
                levels = np.unique(values)
                originals = {
                    text: value
                    for text, value in zip(values, frame[name].astype(object), strict=True)
                }
                self.columns_.append(("categorical", name, levels, [originals[v] for v in levels]))
                blocks.append((values[:, None] == levels[None, :]).astype(float))
            else:
                x = _numbers(frame[name]).to_numpy()
                missing = np.isnan(x)
                known = x[~missing]
                mean, std = known.mean(), known.std() or 1.0
                whole = bool(np.all(known == np.round(known)))
                spec = (mean, std, known.min(), known.max(), whole, bool(missing.any()))
                self.columns_.append(("numerical", name, spec))
                blocks.append(np.where(missing, 0.0, (x - mean) / std)[:, None])
                if missing.any():
                    blocks.append(missing[:, None].astype(float))
        X = np.hstack(blocks)
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=self.random_state).fit(X)
            for k in self.n_components
            if k <= len(X)
        ]
        self.bic_ = {int(fit.n_components): float(fit.bic(X)) for fit in fits}
        self.mixture_ = min(fits, key=lambda fit: self.bic_[fit.n_components])
        return self

    def sample(self, n, random_state=SEED):
        self.mixture_.random_state = random_state
        X = self.mixture_.sample(n)[0]  # grouped by component: shuffled
        X = X[np.random.default_rng(random_state).permutation(n)]
        columns, at = {}, 0
        for kind, name, *spec in self.columns_:
            if kind == "categorical":
                levels, originals = spec
                chosen = X[:, at : at + len(levels)].argmax(axis=1)
                at += len(levels)
                values = np.array(originals, dtype=object)[chosen]
                values[np.asarray(levels)[chosen] == MISSING] = None
                columns[name] = values
            else:
                mean, std, low, high, whole, has_missing = spec[0]
                x = np.clip(X[:, at] * std + mean, low, high)
                at += 1
                if whole:
                    x = np.round(x)
                if has_missing:
                    x[X[:, at] > 0.5] = np.nan
                    at += 1
                columns[name] = x
        return pd.DataFrame(columns)


def fit_peer(name, train, categorical, verbose):
    """``sample(n, seed), details``: the peer fitted on (some of) ``train``.

    ``details`` has ``fit_rows``, the training rows the peer was given.
    """
    if name == "GaussianMixture":
        model = GaussianMixtureRows(categorical).fit(train)
        details = {"n_components": int(model.mixture_.n_components), "bic": model.bic_}
        return model.sample, {"fit_rows": len(train), **details}
    from ctgan import CTGAN, TVAE

    frame = train.copy()
    for column in frame.columns:
        if pd.api.types.is_integer_dtype(frame[column].dtype):
            frame[column] = frame[column].astype(float)
    numerical = [column for column in frame.columns if column not in categorical]
    frame = frame.dropna(subset=numerical).reset_index(drop=True)
    model = {"TVAE": TVAE, "CTGAN": CTGAN}[name](verbose=verbose)
    model.set_random_state(SEED)
    model.fit(frame, discrete_columns=categorical)

    def sample(n, random_state=SEED):
        model.set_random_state(random_state)
        return model.sample(n)

    return sample, {"fit_rows": len(frame)}


def run_model(fit, train, test, label, meta, privacy):
    """Fit (``fit()`` returns ``sample, details``), time, sample and measure one model."""
    start = time.perf_counter()
    sample, details = fit()
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    sample(N_TIMED, SEED + 1)
    sample_time = time.perf_counter() - start
    synthetic = conform(sample(len(train), SEED), train)
    return {
        "fit_time": fit_time,
        "sample_time": sample_time,
        **measure(synthetic, train, test, label, meta, privacy),
        **details,
    }


# ------------------------------------------------------------------- driver
def versions():
    found = {"cpu": cpu_model()}
    for package in ("pandas", "pyarrow", "ctgan", "sdmetrics"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def load_cache(path):
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def save_cache(path, cache):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(cache, indent=2) + "\n")


def run_table(name, path, args, cache, cache_path):
    label = LABELS.get(name) or args.label
    train, test = load_table(path, label)
    meta = metadata(train)
    categorical = categorical_columns(train)
    privacy = Privacy(train)
    digest = file_digest(path)
    common = {
        "data": name,
        "n_train": len(train),
        "n_test": len(test),
        "label": label,
        "n_classes": int(train[label].nunique()),
    }
    test_identical, test_dcr = privacy(test)
    rows = [
        {
            **common,
            "model": "real training rows",
            "kind": "reference",
            "efficacy": efficacy(train, test, label),
        },
        {
            **common,
            "model": "real test rows",
            "kind": "reference",
            **quality(train, test, meta),
            "identical_share": test_identical,
            "dcr_synthetic": test_dcr,
        },
    ]
    print(
        f"{name}: {len(train)} training rows, {len(test)} test rows, label {label}, "
        f"categorical {categorical}",
        flush=True,
    )

    cpu = cpu_model()
    for peer in args.peers:
        cached = cache.get(cpu, {}).get(name, {}).get(peer)
        if cached and cached.get("sha256") == digest and not args.refit_peers:
            print(f"{name} {peer}: cached ({cached['environment']['date']})", flush=True)
            rows.append({**common, **cached, "model": peer, "kind": "peer", "cached": True})
            continue
        print(f"{name} {peer}: fitting", flush=True)

        def fit(peer=peer):
            return fit_peer(peer, train, categorical, args.verbose)

        row = run_model(fit, train, test, label, meta, privacy)
        row.update(sha256=digest, environment=environment(versions()))
        cache.setdefault(cpu, {}).setdefault(name, {})[peer] = row
        save_cache(cache_path, cache)
        rows.append({**common, **row, "model": peer, "kind": "peer", "cached": False})
        print(f"{name} {peer}: {_summary(row)}", flush=True)

    if not args.skip_skaae:
        params = json.loads(args.skaae_params) if args.skaae_params else {}
        factories = skaae_models()
        for model_name in args.skaae_models:
            factory = factories[model_name]
            print(f"{name} {model_name}: fitting", flush=True)

            def fit(factory=factory):
                model = factory(SEED)
                if params:
                    model.set_params(**params)
                if args.verbose:
                    with contextlib.suppress(ValueError):
                        model.set_params(verbose=1)
                model.fit(train)
                return (lambda n, seed: model.sample(n, random_state=seed)), {
                    "fit_rows": len(train)
                }

            row = {**common, "model": model_name, "kind": "skaae", "params": params}
            try:
                row.update(run_model(fit, train, test, label, meta, privacy))
            except Exception as error:  # the DataFrame API may not be there yet
                row["error"] = f"{type(error).__name__}: {error}"
            rows.append(row)
            print(f"{name} {model_name}: {row.get('error') or _summary(row)}", flush=True)
    return rows


def _summary(row):
    keys = (
        "fit_time",
        "sample_time",
        "quality",
        "column_shapes",
        "column_pair_trends",
        "efficacy",
        "identical_share",
        "dcr_synthetic",
    )
    return ", ".join(f"{key} {row[key]:.3f}" for key in keys if row.get(key) is not None)


# ------------------------------------------------------------------- output
COLUMNS = {
    "model": "model",
    "fit_time": "fit (s)",
    "sample_time": f"sample {N_TIMED:,} (s)",
    "quality": "Quality",
    "column_shapes": "Column Shapes",
    "column_pair_trends": "Column Pair Trends",
    "efficacy": "efficacy (macro F1)",
    "identical_share": "identical rows",
    "dcr": "median DCR synthetic / real test",
}


def _cell(row, key, test_dcr):
    if key == "dcr":
        value = row.get("dcr_synthetic")
        if value is None:
            return ""
        return (
            f"{value:.3f}" if row["model"] == "real test rows" else f"{value:.3f} / {test_dcr:.3f}"
        )
    value = row.get(key)
    if value is None:
        return "error" if key == "quality" and "error" in row else ""
    if key in ("fit_time", "sample_time"):
        return f"{value:.1f}" if value >= 1 else f"{value:.2f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _notes(rows):
    notes = []
    for row in rows:
        if row["kind"] == "peer":
            env = row["environment"]
            dropped = row["n_train"] - row["fit_rows"]
            text = (
                f"{row['model']}: measured {env['date']} (load average "
                f"{env['load_average']:.1f} at the end), fitted on {row['fit_rows']:,} rows"
            )
            if dropped:
                text += f" ({dropped} training rows with a missing numerical value left out)"
            if "n_components" in row:
                text += f", {row['n_components']} components by BIC"
            if row.get("cached"):
                text += ", cached"
        elif row["kind"] == "skaae":
            params = f" with {json.dumps(row['params'])}" if row.get("params") else ""
            text = f"{row['model']}{params}" + (f": {row['error']}" if "error" in row else "")
        else:
            continue
        classes = row.get("label_classes")
        if classes is not None and classes < row["n_classes"]:
            text += (
                f"; its rows have {classes} of the {row['n_classes']} label classes "
                "(the efficacy classifier predicts only those)"
            )
        notes.append(text + ".")
    return notes


def table(rows):
    by_data = {}
    for row in rows:
        by_data.setdefault(row["data"], []).append(row)
    parts = []
    for name, group in by_data.items():
        first = group[0]
        test_dcr = next(row["dcr_synthetic"] for row in group if row["model"] == "real test rows")
        lines = [
            f"## {name}",
            "",
            f"{first['n_train']:,} training rows, {first['n_test']:,} test rows, "
            f"label `{first['label']}`.",
            "",
            "| " + " | ".join(COLUMNS.values()) + " |",
            "|" + "---|" * len(COLUMNS),
        ]
        lines += [
            "| " + " | ".join(_cell(row, key, test_dcr) for key in COLUMNS) + " |" for row in group
        ]
        lines += [""] + [f"- {note}" for note in _notes(group)]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def renderer(command):
    def render(rows, env):
        return (
            f"# Synthetic tabular data\n\n{environment_line(env)}\n\nCommand: `{command}`\n\n"
            "Every model on one thread; the peers' rows are cached per CPU model in "
            f"`{PEERS_CACHE}` (their own dates and loads below each table). "
            "See the docstring of `benchmarks/tabular.py` for the protocol.\n\n" + table(rows)
        )

    return render


def add_data_dir_argument(parser):
    """The ``--data-dir`` option of the tabular benchmarks."""
    parser.add_argument(
        "--data-dir",
        default=str(DEFAULT_DATA),
        help="where the tables are (default: ../shared/data/tabular)",
    )


def small_suite_arguments(description, argv=None, add_arguments=None):
    """``--data-dir`` and ``--output-dir`` of a small suite, which then runs on one torch thread.

    ``add_arguments(parser)``, if given, adds the suite's own options.
    """
    parser = argparse.ArgumentParser(description=description)
    add_data_dir_argument(parser)
    parser.add_argument("--output-dir", default=str(RESULTS))
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    return args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir_argument(parser)
    parser.add_argument(
        "--datasets", nargs="+", help="tables to run, by file stem (default: every *.parquet)"
    )
    parser.add_argument("--label", help="label column of a table not among " + ", ".join(LABELS))
    parser.add_argument(
        "--peers",
        nargs="*",
        default=list(PEERS),
        choices=PEERS,
        help="peers to run (default: all; none: --peers alone)",
    )
    parser.add_argument(
        "--refit-peers",
        action="store_true",
        help="fit the peers again even if cached for this CPU model",
    )
    parser.add_argument("--skip-skaae", action="store_true", help="leave skaae's models out")
    parser.add_argument("--skaae-params", help="JSON dict passed to set_params of skaae's models")
    parser.add_argument(
        "--skaae-models",
        nargs="+",
        default=list(DEFAULT_SKAAE_MODELS),
        choices=list(skaae_models()),
        metavar="NAME",
        help=f"skaae's models to run (default: {', '.join(DEFAULT_SKAAE_MODELS)}; "
        f"all: {', '.join(skaae_models())})",
    )
    parser.add_argument("--verbose", action="store_true", help="the models report their progress")
    parser.add_argument(
        "--output-dir",
        default=str(RESULTS),
        help="where to write tabular.{json,md} and the peers' cache (default: benchmarks/results/)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    data_dir = Path(args.data_dir)
    names = args.datasets or sorted(path.stem for path in data_dir.glob("*.parquet"))
    if not names:
        sys.exit(f"no tables in {data_dir}")
    torch.set_num_threads(1)
    threadpool_limits(1)
    command = shlex.join(["python", "benchmarks/tabular.py", *sys.argv[1:]])
    if os.environ.get("OMP_NUM_THREADS") is not None:
        command = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} {command}"
    output = Path(args.output_dir)
    cache_path = output / PEERS_CACHE
    cache = load_cache(cache_path)
    rows = []
    with parallel_config(backend="sequential"):
        for name in names:
            path = data_dir / f"{name}.parquet"
            if not path.exists():
                sys.exit(f"{path} not found; pass --data-dir")
            rows += run_table(name, path, args, cache, cache_path)
            write_results(
                "tabular",
                rows,
                output,
                render=renderer(command),
                versions=versions(),
                command=command,
            )
    print(f"wrote {output / 'tabular.md'} and .json")


if __name__ == "__main__":
    main()

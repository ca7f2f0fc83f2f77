"""The model family on the real tables: 2-D maps, semi-supervised classification, clustering.

Issue 20's "2-D maps of the tables" and "Defaults that hold beyond MNIST",
on the tables of ``../shared/data/tabular`` (``benchmarks/tabular.py``'s
``load_table``: 80/20 split by ``numpy.random.default_rng(0).permutation``;
the label column of ``LABELS`` is never an input). Run from the repository
root::

    OMP_NUM_THREADS=1 python benchmarks/tabular_family.py            # everything
    OMP_NUM_THREADS=1 python benchmarks/tabular_family.py --quick    # smoke run (a minute or two)
    python benchmarks/tabular_family.py --datasets letter --sections clustering \\
        --params '{"AAEClustering": {"max_iter": 100}}'

Every model runs on one thread (``torch.set_num_threads(1)``, BLAS and
OpenMP limited by threadpoolctl, joblib sequential, ``NUMBA_NUM_THREADS=1``
unless set, UMAP seeded and so single-threaded, openTSNE ``n_jobs=1``):
without the numba limit, a quick run spent 830 s in a self-training fit
that takes 23 s alone, after UMAP had run in the same process. Fit times are wall times of
``fit`` on a machine other jobs may share (the load average is recorded
with every model). skaae's estimators run at their defaults plus the
arguments named below and ``random_state=0``, each given the training
DataFrame as it is (mixed types, missing values). The baselines get the
same table encoded (:func:`encoder`): a categorical column (category,
object or bool dtype, or two distinct values, as ``benchmarks/tabular.py``
decides) one-hot, a missing value a category of its own; a numeric column
with its missing values set to the training median, a 0/1 missing
indicator beside each column that had missing values in the training rows,
all numeric columns standardised. The same encoding is the input space in
which trustworthiness is measured, for every model.

Sections (``--sections``; run in the order that puts the issue's bars
first, the results grouped by section):

- ``maps``, every table: ``AdversarialAutoencoder(n_components=2)`` and
  ``AAEEmbedding()`` against ``PCA(2)``, ``umap.UMAP(random_state=0)`` and
  ``openTSNE.TSNE(random_state=0)``, each fitted on the training rows and
  transforming the test rows (openTSNE with its ``.transform``). Scores on
  the test rows: 5-NN accuracy of the label (the classifier fitted on the
  training codes, ``_common.knn_accuracy``), and
  ``sklearn.manifold.trustworthiness`` with 5 neighbours on at most 2,000
  test rows (drawn with seed 0).
- ``semi``, on ``letter`` (10 labels per class, ``_common.partial_labels``
  with seed 0: 260 labels), ``wa_churn`` and ``lending_club`` (1 % of the
  training labels, stratified: ``train_test_split(train_size=0.01,
  stratify=y, random_state=0)``); the rest -1: ``AAEClassifier()``
  against ``LabelSpreading(kernel="knn", n_neighbors=7)`` (as in
  ``benchmarks/family.py``) and
  ``SelfTrainingClassifier(HistGradientBoostingClassifier(random_state=0))``.
  Scores on the test rows: accuracy and macro F1.
- ``clustering``, on ``letter``: ``AAEClustering(n_clusters=26)`` and
  ``(n_clusters=52)`` against ``KMeans(k, n_init=10, random_state=0)``.
  Scores on the test rows: cluster accuracy as in ``benchmarks/family.py``
  (``skaae.metrics.cluster_accuracy``, each cluster named after the
  majority label of its training members) and NMI.

``--params`` takes a JSON dict from an estimator's name (``AAEEmbedding``,
``UMAP``, ``TSNE``, ``SelfTrainingClassifier``, ...; ``skaae``: every skaae
estimator) to keyword arguments added to its constructor. ``--quick`` fits
on 1,000 training rows and scores 400 test rows, skaae with ``max_iter=2``,
and writes to a temporary directory unless ``--output-dir`` says otherwise.
A model that raises gets a row with the error; every warning a model emits
is kept in its row and listed under the tables. The run writes
``benchmarks/results/tabular_family.{json,md}``, rewritten after each model,
with the git commit of the code measured (and the files of ``skaae/`` that
differed from it when the run began).
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS, cpu_model, environment_line, knn_accuracy, partial_labels
from _common import write_results as _write_results
from joblib import parallel_config
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.manifold import trustworthiness
from sklearn.metrics import accuracy_score, f1_score, normalized_mutual_info_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from tabular import (
    LABELS,
    add_data_dir_argument,
    categorical_columns,
    file_digest,
    load_table,
    plain,
)
from threadpoolctl import threadpool_limits

import skaae
from skaae.metrics import cluster_accuracy

ROOT = Path(__file__).resolve().parents[1]
NAME = "tabular_family"
SEED = 0
TRUST_ROWS = 2000  # trustworthiness on at most this many test rows
NEIGHBOURS = 5
# Semi-supervised protocol per table: ("per_class", n) or ("share", fraction).
SEMI = {"letter": ("per_class", 10), "wa_churn": ("share", 0.01), "lending_club": ("share", 0.01)}
CLUSTERING = {"letter": (26, 52)}
# Bars first: the order in which (section, table) pairs run.
ORDER = (
    ("semi", "wa_churn"),
    ("semi", "lending_club"),
    ("maps", "letter"),
    ("semi", "letter"),
    ("clustering", "letter"),
    ("maps", "wa_churn"),
    ("maps", "lending_club"),
    ("maps", "credit_data"),
)
SECTIONS = ("maps", "semi", "clustering")
SKAAE_NAMES = ("AdversarialAutoencoder", "AAEEmbedding", "AAEClassifier", "AAEClustering")
QUICK_ROWS = (1000, 400)


# --------------------------------------------------------------------- data
class Table:
    """A table's training and test rows: the DataFrames, their encoding, the labels."""

    def __init__(self, name, path, quick):
        self.name, self.label = name, LABELS[name]
        train, test = load_table(path, self.label)
        if quick:
            train, test = train.iloc[: QUICK_ROWS[0]], test.iloc[: QUICK_ROWS[1]]
        self.X_train = train.drop(columns=self.label)
        self.X_test = test.drop(columns=self.label)
        self.y_train = train[self.label].astype(str).to_numpy()
        self.y_test = test[self.label].astype(str).to_numpy()
        self.encoder = encoder(self.X_train)
        self.E_train = self.encoder.fit_transform(plain(self.X_train, self.categorical))
        self.E_test = self.encoder.transform(plain(self.X_test, self.categorical))
        self.digest = file_digest(path)
        rng = np.random.default_rng(SEED)
        n = len(self.X_test)
        self.trust_rows = (
            np.sort(rng.choice(n, TRUST_ROWS, replace=False)) if n > TRUST_ROWS else None
        )

    @property
    def categorical(self):
        return self.encoder.categorical

    def info(self):
        return {
            "data": self.name,
            "n_train": len(self.X_train),
            "n_test": len(self.X_test),
            "label": self.label,
            "n_classes": len(np.unique(self.y_train)),
            "encoded_width": int(self.E_train.shape[1]),
            "sha256": self.digest,
        }


def encoder(X):
    """The baselines' encoding of ``X`` (see the module docstring); ``.categorical`` names."""
    categorical = categorical_columns(X)
    numerical = [name for name in X.columns if name not in categorical]
    transformer = ColumnTransformer(
        [
            (
                "numerical",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                numerical,
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ],
        sparse_threshold=0,
    )
    transformer.categorical = categorical
    return transformer


def semi_labels(table, labelling=None):
    """``y_partial, how``: integer class codes with most training rows -1 (unlabelled).

    ``labelling`` is ``(kind, amount)`` as in ``SEMI`` (default: the table's entry there).
    """
    classes, y = np.unique(table.y_train, return_inverse=True)
    kind, amount = SEMI[table.name] if labelling is None else labelling
    if kind == "per_class":
        return partial_labels(y, amount, seed=SEED), f"{amount} labels per class"
    n_labels = max(round(amount * len(y)), len(classes))
    kept, _ = train_test_split(
        np.arange(len(y)), train_size=n_labels, stratify=y, random_state=SEED
    )
    partial = np.full_like(y, -1)
    partial[kept] = y[kept]
    return partial, f"{amount:.0%} of the labels, stratified"


# ------------------------------------------------------------------- models
class Models:
    """Constructors of every estimator, with ``--params`` and ``--quick`` applied."""

    def __init__(self, params, quick):
        self.params, self.quick = params, quick

    def arguments(self, name, **named):
        extra = dict(named)
        if name in SKAAE_NAMES:
            extra["random_state"] = SEED
            if self.quick:
                extra["max_iter"] = 2
            extra.update(self.params.get("skaae", {}))
        extra.update(self.params.get(name, {}))
        return extra

    def skaae(self, name, **named):
        return getattr(skaae, name)(**self.arguments(name, **named))

    def pca(self):
        return PCA(**self.arguments("PCA", n_components=2, random_state=SEED))

    def umap(self):
        import umap

        return umap.UMAP(**self.arguments("UMAP", n_components=2, random_state=SEED))

    def tsne(self):
        from openTSNE import TSNE

        return TSNE(**self.arguments("TSNE", n_components=2, random_state=SEED, n_jobs=1))

    def label_spreading(self):
        return LabelSpreading(**self.arguments("LabelSpreading", kernel="knn", n_neighbors=7))

    def self_training(self):
        boosting = HistGradientBoostingClassifier(
            **self.arguments("HistGradientBoostingClassifier", random_state=SEED)
        )
        return SelfTrainingClassifier(boosting, **self.arguments("SelfTrainingClassifier"))

    def kmeans(self, k):
        return KMeans(**self.arguments("KMeans", n_clusters=k, n_init=10, random_state=SEED))


def skaae_params(model):
    """The estimator's parameters that JSON can hold (the defaults in force, resolved)."""
    found = {}
    for key, value in model.get_params(deep=False).items():
        try:
            json.dumps(value)
        except TypeError:
            value = repr(value)
        found[key] = value
    return found


@contextlib.contextmanager
def recorded(row):
    """Time the block; its warnings go to ``row["warnings"]``, an exception to ``row["error"]``."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except Exception as error:
            row["error"] = f"{type(error).__name__}: {error}"
    row["wall_time"] = time.perf_counter() - start
    row["load_average"] = os.getloadavg()[0]
    messages = []
    for warning in caught:
        text = f"{warning.category.__name__}: {warning.message}"
        where = f" ({Path(warning.filename).name}:{warning.lineno})"
        if text + where not in messages:
            messages.append(text + where)
    if messages:
        row["warnings"] = messages


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


# ----------------------------------------------------------------- sections
def map_rows(table, models):
    def skaae_map(name, **named):
        def run():
            model = models.skaae(name, **named)
            _, fit_time = timed(model.fit, table.X_train)
            (Z_train, Z_test), transform_time = timed(
                lambda: (model.transform(table.X_train), model.transform(table.X_test))
            )
            return Z_train, Z_test, fit_time, transform_time, skaae_params(model)

        return run

    def encoded_map(make, tsne=False):
        def run():
            model = make()
            if tsne:  # openTSNE: fit returns the training embedding, which transforms
                embedding, fit_time = timed(model.fit, table.E_train)
                Z_test, transform_time = timed(embedding.transform, table.E_test)
                return np.asarray(embedding), np.asarray(Z_test), fit_time, transform_time, None
            Z_train, fit_time = timed(model.fit_transform, table.E_train)
            Z_test, transform_time = timed(model.transform, table.E_test)
            return Z_train, Z_test, fit_time, transform_time, None

        return run

    candidates = [
        (
            "AdversarialAutoencoder(n_components=2)",
            "skaae",
            skaae_map("AdversarialAutoencoder", n_components=2),
        ),
        ("AAEEmbedding()", "skaae", skaae_map("AAEEmbedding")),
        ("PCA(2)", "baseline", encoded_map(models.pca)),
        ("UMAP", "baseline", encoded_map(models.umap)),
        ("openTSNE", "baseline", encoded_map(models.tsne, tsne=True)),
    ]
    for model_name, kind, run in candidates:
        row = {**table.info(), "section": "maps", "model": model_name, "kind": kind}
        print(f"maps {table.name} {model_name}: fitting", flush=True)
        with recorded(row):
            Z_train, Z_test, fit_time, transform_time, params = run()
            row.update(fit_time=fit_time, transform_time=transform_time)
            if params is not None:
                row["params"] = params
            row["knn_accuracy"] = knn_accuracy(Z_train, table.y_train, Z_test, table.y_test)
            rows = table.trust_rows if table.trust_rows is not None else slice(None)
            row["trustworthiness"] = float(
                trustworthiness(table.E_test[rows], Z_test[rows], n_neighbors=NEIGHBOURS)
            )
        report(row)
        yield row


def semi_rows(table, models):
    classes = np.unique(table.y_train)
    y_partial, how = semi_labels(table)
    labelled = int(np.sum(y_partial >= 0))
    truth = np.searchsorted(classes, table.y_test)

    def skaae_classifier():
        model = models.skaae("AAEClassifier")
        _, fit_time = timed(model.fit, table.X_train, y_partial)
        return model.predict(table.X_test), fit_time, skaae_params(model)

    def encoded(make):
        def run():
            model = make()
            _, fit_time = timed(model.fit, table.E_train, y_partial)
            return model.predict(table.E_test), fit_time, None

        return run

    candidates = [
        ("AAEClassifier()", "skaae", skaae_classifier),
        ("LabelSpreading(knn, 7)", "baseline", encoded(models.label_spreading)),
        ("SelfTraining(HistGradientBoosting)", "baseline", encoded(models.self_training)),
    ]
    for model_name, kind, run in candidates:
        row = {
            **table.info(),
            "section": "semi",
            "model": model_name,
            "kind": kind,
            "labels": labelled,
            "labelling": how,
            "labelled_per_class": {
                str(classes[k]): int(np.sum(y_partial == k)) for k in range(len(classes))
            },
        }
        print(f"semi {table.name} {model_name}: fitting ({labelled} labels)", flush=True)
        with recorded(row):
            predicted, fit_time, params = run()
            row["fit_time"] = fit_time
            if params is not None:
                row["params"] = params
            predicted = np.asarray(predicted).astype(int)
            row["accuracy"] = float(accuracy_score(truth, predicted))
            row["macro_f1"] = float(
                f1_score(truth, predicted, average="macro", labels=np.arange(len(classes)))
            )
        report(row)
        yield row


def clustering_rows(table, models):
    for k in CLUSTERING[table.name]:

        def skaae_clustering(k=k):
            model = models.skaae("AAEClustering", n_clusters=k)
            _, fit_time = timed(model.fit, table.X_train)
            train = model.predict(table.X_train)
            return train, model.predict(table.X_test), fit_time, skaae_params(model)

        def kmeans(k=k):
            model = models.kmeans(k)
            _, fit_time = timed(model.fit, table.E_train)
            return model.labels_, model.predict(table.E_test), fit_time, None

        for model_name, kind, run in (
            (f"AAEClustering(n_clusters={k})", "skaae", skaae_clustering),
            (f"KMeans({k})", "baseline", kmeans),
        ):
            row = {**table.info(), "section": "clustering", "model": model_name, "kind": kind}
            row["n_clusters"] = k
            print(f"clustering {table.name} {model_name}: fitting", flush=True)
            with recorded(row):
                train, test, fit_time, params = run()
                row["fit_time"] = fit_time
                if params is not None:
                    row["params"] = params
                row["cluster_accuracy"] = cluster_accuracy(
                    table.y_test, test, reference_labels=table.y_train, reference_clusters=train
                )
                row["nmi"] = float(normalized_mutual_info_score(table.y_test, test))
                row["clusters_used"] = len(np.unique(train))
            report(row)
            yield row


RUNNERS = {"maps": map_rows, "semi": semi_rows, "clustering": clustering_rows}
MEASURES = ("knn_accuracy", "trustworthiness", "accuracy", "macro_f1", "cluster_accuracy", "nmi")


def report(row):
    parts = [f"{key} {row[key]:.4f}" for key in ("fit_time", *MEASURES) if key in row]
    text = row.get("error") or ", ".join(parts)
    print(f"{row['section']} {row['data']} {row['model']}: {text}", flush=True)
    for warning in row.get("warnings", []):
        print(f"  warning: {warning}", flush=True)


# ------------------------------------------------------------------- output
def _number(value, digits=3):
    if value is None:
        return ""
    return f"{value:.{digits}f}"


def _seconds(value):
    if value is None:
        return ""
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _value(row, key, first):
    if "error" in row:
        return "error" if first else ""
    value = row.get(key)
    return str(value) if isinstance(value, int) else _number(value)


def section_tables(rows, section, columns, heading, describe):
    by_data = {}
    for row in rows:
        if row["section"] == section:
            by_data.setdefault(row["data"], []).append(row)
    if not by_data:
        return []
    parts = [f"## {heading}\n"]
    for name, group in by_data.items():
        lines = [f"### {name}", "", describe(group[0]), ""]
        lines.append("| model | fit (s) | " + " | ".join(columns.values()) + " | load |")
        lines.append("|---|---|" + "---|" * len(columns) + "---|")
        for row in group:
            cells = [row["model"], _seconds(row.get("fit_time"))]
            cells += [_value(row, key, i == 0) for i, key in enumerate(columns)]
            cells.append(_number(row.get("load_average"), 1))
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("\n".join(lines) + "\n")
    return parts


def _find(rows, section, data, prefix, key):
    for row in rows:
        if (
            row["section"] == section
            and row["data"] == data
            and row["model"].startswith(prefix)
            and key in row
        ):
            return row[key]
    return None


def bars(rows):
    """``(bar, skaae, reference, verdict)`` of each of the issue's bars measured in ``rows``."""
    found = []

    def add(text, ours, theirs, met):
        if ours is None or theirs is None:
            return
        verdict = "met" if met(ours, theirs) else "missed"
        found.append((text, ours, theirs, verdict))

    umap_ = _find(rows, "maps", "letter", "UMAP", "knn_accuracy")
    embedding = _find(rows, "maps", "letter", "AAEEmbedding", "knn_accuracy")
    add("letter: AAEEmbedding 2-D 5-NN accuracy >= UMAP's", embedding, umap_, np.greater_equal)
    semi_bars = (
        ("accuracy", "accuracy > LabelSpreading's and SelfTraining's"),
        ("macro_f1", "macro F1 > both baselines' (reported beside the bar)"),
    )
    for data in SEMI:
        for key, text in semi_bars:
            ours = _find(rows, "semi", data, "AAEClassifier", key)
            spread = _find(rows, "semi", data, "LabelSpreading", key)
            self_training = _find(rows, "semi", data, "SelfTraining", key)
            if spread is not None and self_training is not None:
                add(f"{data}: AAEClassifier {text}", ours, max(spread, self_training), np.greater)
    for data, counts in CLUSTERING.items():
        for k in counts:
            ours = _find(
                rows, "clustering", data, f"AAEClustering(n_clusters={k})", "cluster_accuracy"
            )
            theirs = _find(rows, "clustering", data, f"KMeans({k})", "cluster_accuracy")
            add(f"{data}: AAEClustering({k}) cluster accuracy > k-means'", ours, theirs, np.greater)
    return found


def notes(rows):
    lines = []
    for row in rows:
        if "error" in row:
            lines.append(f"- {row['section']} / {row['data']} / {row['model']}: {row['error']}")
    for row in rows:
        for warning in row.get("warnings", []):
            lines.append(f"- {row['section']} / {row['data']} / {row['model']}: warning {warning}")
    return lines


def skaae_settings(rows):
    """The resolved parameters of each skaae estimator, once per distinct setting."""
    seen, lines = {}, []
    for row in rows:
        if row["kind"] != "skaae" or "params" not in row:
            continue
        params = {
            key: value
            for key, value in row["params"].items()
            if key not in ("callbacks", "verbose", "device")
        }
        key = (row["model"], json.dumps(params, sort_keys=True))
        seen.setdefault(key, []).append(row["data"])
    for (model, params), datasets in seen.items():
        lines.append(f"- {model} on {', '.join(datasets)}: `{params}`")
    return lines


def renderer(command, run):
    def render(rows, env):
        git = run["git"]
        dirty = (
            f"; skaae/ files differing from it when the run began: {', '.join(git['skaae_dirty'])}"
            if git["skaae_dirty"]
            else "; skaae/ clean"
        )
        parts = [
            "# The model family on the real tables\n",
            f"{environment_line(env)}\n",
            f"Command: `{command}`\n",
            f"Code: git commit {git['commit']}{dirty}. Every model on one thread "
            f"(torch, BLAS/OpenMP, joblib); fit times are wall times on a shared 2-core "
            f"machine (the load average at the end of each fit in the last column). See the "
            f"docstring of `benchmarks/tabular_family.py` for the protocol: skaae gets the "
            f"DataFrame as it is; the baselines get it one-hot encoded (a missing category a "
            f"level of its own) and standardised (missing numbers set to the training median, "
            f"plus a 0/1 missing indicator per such column); trustworthiness is measured in "
            f"that encoding, on at most {TRUST_ROWS:,} test rows.\n",
        ]
        found = bars(rows)
        if found:
            lines = [
                "## Bars (issue 20)",
                "",
                "| bar | skaae | best baseline / reference | verdict |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {text} | {ours:.3f} | {theirs:.3f} | {verdict} |"
                for text, ours, theirs, verdict in found
            ]
            parts.append("\n".join(lines) + "\n")
        parts += section_tables(
            rows,
            "maps",
            {"knn_accuracy": "5-NN accuracy", "trustworthiness": "trustworthiness (5)"},
            "2-D maps (the label is not an input)",
            lambda r: (
                f"{r['n_train']:,} training rows, {r['n_test']:,} test rows, label "
                f"`{r['label']}` ({r['n_classes']} classes), {r['encoded_width']} encoded columns."
            ),
        )
        parts += section_tables(
            rows,
            "semi",
            {"accuracy": "accuracy", "macro_f1": "macro F1"},
            "Semi-supervised classification",
            lambda r: (
                f"{r['n_train']:,} training rows, {r['labels']} of them labelled "
                f"({r['labelling']}), {r['n_test']:,} test rows, label `{r['label']}` "
                f"({r['n_classes']} classes)."
            ),
        )
        parts += section_tables(
            rows,
            "clustering",
            {"cluster_accuracy": "cluster accuracy", "nmi": "NMI", "clusters_used": "used"},
            "Clustering (no labels)",
            lambda r: (
                f"{r['n_train']:,} training rows, {r['n_test']:,} test rows scored; "
                "each cluster named after the majority label of its training members; "
                "'used': clusters with a training row."
            ),
        )
        settings = skaae_settings(rows)
        if settings:
            parts.append("## skaae's parameters in force\n\n" + "\n".join(settings) + "\n")
        lines = notes(rows)
        parts.append("## Errors and warnings\n\n" + ("\n".join(lines) if lines else "None.") + "\n")
        return "\n".join(parts)

    return render


# ------------------------------------------------------------------- driver
def versions():
    found = {"cpu": cpu_model()}
    for package in ("pandas", "pyarrow", "umap-learn", "openTSNE", "numba"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def git_state():
    def git(*arguments):
        try:
            return subprocess.run(
                ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "skaae").splitlines()]
    diff = git("diff", "HEAD", "--", "skaae")
    return {
        "commit": commit,
        "skaae_dirty": dirty,
        "skaae_diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:16] if diff else None,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir_argument(parser)
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=sorted(LABELS),
        help="tables to run (default: all four; each section runs where it applies)",
    )
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="default: all"
    )
    parser.add_argument(
        "--params",
        default="{}",
        help="JSON dict: estimator name (or 'skaae' for all of skaae's) -> constructor kwargs",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROWS[0]:,} training and {QUICK_ROWS[1]} test rows, skaae max_iter=2",
    )
    parser.add_argument(
        "--output-dir",
        help="where to write tabular_family.{json,md} (default: benchmarks/results/; "
        "with --quick a temporary directory)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    params = json.loads(args.params)
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        sys.exit(
            '--params must be a JSON dict of dicts, e.g. \'{"AAEEmbedding": {"max_iter": 50}}\''
        )
    output = args.output_dir or (
        tempfile.mkdtemp(prefix="skaae_tabular_family_") if args.quick else str(RESULTS)
    )
    # Numba (UMAP, pynndescent) reads its thread count when first imported; its OpenMP
    # layer may share torch's libgomp, where a second thread slows every later model.
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    torch.set_num_threads(1)
    threadpool_limits(1)
    argv_shown = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "benchmarks/tabular_family.py", *argv_shown])
    if os.environ.get("OMP_NUM_THREADS") is not None:
        command = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} {command}"
    run = {"git": git_state(), "params": params, "quick": args.quick}
    print(f"git {run['git']}; writing to {output}", flush=True)
    models = Models(params, args.quick)
    datasets = args.datasets or sorted(LABELS)
    plan = [(s, d) for s, d in ORDER if s in args.sections and d in datasets]
    tables, rows = {}, []
    start = time.perf_counter()
    with parallel_config(backend="sequential"):
        for section, name in plan:
            if name not in tables:
                path = Path(args.data_dir) / f"{name}.parquet"
                if not path.exists():
                    sys.exit(f"{path} not found; pass --data-dir")
                tables[name] = Table(name, path, args.quick)
            for row in RUNNERS[section](tables[name], models):
                rows.append(row)
                ordered = sorted(rows, key=lambda r: SECTIONS.index(r["section"]))
                with contextlib.redirect_stdout(io.StringIO()):
                    _write_results(
                        NAME,
                        ordered,
                        output,
                        render=renderer(command, run),
                        versions=versions(),
                        command=command,
                        run=run,
                    )
    if rows:
        print((Path(output) / f"{NAME}.md").read_text())
    print(f"wrote {Path(output) / NAME}.md and .json in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

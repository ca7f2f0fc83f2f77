"""AAEClassifier on the imbalanced tables: ranking and decisions, by read-out.

Issue 20 asks ``AAEClassifier`` with 1 % of the labels to beat
LabelSpreading and self-training on ``wa_churn`` and ``lending_club``
(``benchmarks/tabular_family.py``, section ``semi``, which this reuses: the
same split, labels and encoding). The paper's classifier (``readout="head"``)
missed it; this suite shows why, and what the default ``readout="auto"``
(which may choose the linear read-out of the style codes) does instead. It
separates the two things that make up an accuracy on an imbalanced label:

- how well a model *ranks* the test rows by their chance of the rare class
  (ROC AUC of its predicted probability of that class), and
- how many rows it *assigns* to the rare class (the predicted share, next
  to the true share).

References beside ``AAEClassifier`` (each read-out, seeds 0-2): the majority class,
``LogisticRegression`` on the labelled rows (the same encoding as the
baselines; ``C`` 0.1 and 1), and ``LogisticRegression`` on every training
label, the ceiling of a linear model. Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/tabular_semi_diagnosis.py

It writes ``benchmarks/results/tabular_semi_diagnosis.{json,md}``.
"""

import time
from pathlib import Path

import numpy as np
from _common import results_header
from _common import write_results as _write_results
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from tabular import small_suite_arguments
from tabular_family import SEED, Table, semi_labels

import skaae

NAME = "tabular_semi_diagnosis"
TABLES = ("wa_churn", "lending_club")
SEEDS = (0, 1, 2)
# The paper's head alone, then the default, which chooses between the head and
# the linear read-out of the style codes on held-out labels.
READOUTS = ("head", "auto")


def scores(truth, minority, probability, predicted):
    """The row's numbers: accuracy, AUC of the rare class, its predicted share."""
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "auc": float(roc_auc_score(truth == minority, probability)),
        "predicted_share": float(np.mean(predicted == minority)),
    }


def table_rows(table):
    classes = np.unique(table.y_train)
    y_partial, how = semi_labels(table)
    truth = np.searchsorted(classes, table.y_test)
    minority = int(np.bincount(truth).argmin())
    labelled = y_partial >= 0
    base = {
        "data": table.name,
        "labelling": how,
        "labels": int(labelled.sum()),
        "true_share": float(np.mean(truth == minority)),
    }
    majority = np.full_like(truth, 1 - minority)
    yield {**base, "model": "majority class", **scores(truth, minority, majority, majority)}
    full = np.searchsorted(classes, table.y_train)
    linear = [(f"LogisticRegression(C={c}), labelled rows", c, labelled) for c in (0.1, 1.0)]
    linear.append(("LogisticRegression, every training label", 1.0, np.ones_like(labelled)))
    for name, c, rows in linear:
        target = np.where(labelled, y_partial, full)[rows]
        model = LogisticRegression(C=c, max_iter=5000).fit(table.E_train[rows], target)
        probability = model.predict_proba(table.E_test)[:, minority]
        yield {
            **base,
            "model": name,
            **scores(truth, minority, probability, model.predict(table.E_test)),
        }
    for readout in READOUTS:
        for seed in SEEDS:
            start = time.perf_counter()
            model = skaae.AAEClassifier(readout=readout, random_state=seed)
            model.fit(table.X_train, y_partial)
            fit_time = time.perf_counter() - start
            probability = model.predict_proba(table.X_test)
            on_labels = model.predict_proba(table.X_train[labelled]).argmax(axis=1)
            yield {
                **base,
                "model": f"AAEClassifier(readout={readout!r}, random_state={seed})",
                "fit_time": fit_time,
                "readout": model.readout_,
                "readout_scores": model.readout_scores_,
                "labelled_accuracy": float(np.mean(on_labels == y_partial[labelled])),
                **scores(truth, minority, probability[:, minority], probability.argmax(axis=1)),
            }


def _number(value):
    return "" if value is None else f"{value:.3f}"


def readout_cell(readout, scores):
    """The read-out an AAEClassifier used, with the Brier scores that chose it (if any)."""
    if not scores:
        return readout
    return f"{readout} ({scores['head']:.3f} / {scores['linear']:.3f})"


def _readout(row):
    return readout_cell(row["readout"], row["readout_scores"]) if "readout" in row else ""


def render(command):
    def markdown(rows, env):
        title = "AAEClassifier on the imbalanced tables: ranking and decisions, by read-out"
        lines = [
            *results_header(title, env, command),
            "Scores on the test rows. AUC: ROC AUC of the predicted probability of the rare "
            "class; predicted share: the share of test rows assigned to it (the true share "
            "beside it); accuracy on the labelled rows: on the training rows whose labels "
            "it was given (1.0: learned by heart); read-out: what the AAEClassifier read the "
            "class from (`readout_`), with the Brier scores of both read-outs on the held-out "
            "labels when it chose.",
        ]
        for data in dict.fromkeys(row["data"] for row in rows):
            own = [row for row in rows if row["data"] == data]
            lines += [
                "",
                f"## {data}",
                "",
                f"{own[0]['labels']} labels ({own[0]['labelling']}); rare class "
                f"{own[0]['true_share']:.3f} of the test rows.",
                "",
                "| model | accuracy | AUC | predicted share | accuracy on the labelled rows "
                "| read-out (Brier: head / linear) |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {row['model']} | {row['accuracy']:.3f} | {row['auc']:.3f} | "
                f"{row['predicted_share']:.3f} | {_number(row.get('labelled_accuracy'))} | "
                f"{_readout(row)} |"
                for row in own
            ]
        return "\n".join(lines) + "\n"

    return markdown


def main(argv=None):
    args = small_suite_arguments(__doc__.split("\n")[0], argv)
    rows = []
    for name in TABLES:
        table = Table(name, Path(args.data_dir) / f"{name}.parquet", quick=False)
        for row in table_rows(table):
            print(row, flush=True)
            rows.append(row)
    command = "OMP_NUM_THREADS=1 python benchmarks/tabular_semi_diagnosis.py"
    _write_results(NAME, rows, args.output_dir, render=render(command), seed=SEED)


if __name__ == "__main__":
    main()

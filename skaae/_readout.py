"""How :class:`~skaae.AAEClassifier` reads a class from a code: its head, or a linear read-out.

The paper's classifier reads the class from the encoder's categorical part
q(y|x), which the unlabelled rows shape into clusters: right when the
classes are clusters of the data (digits, letters), wrong when they are not
(churn among a table's customers), where it learns the labelled rows by
heart and ranks the others little better than chance. A logistic
regression of the style codes of the labelled rows generalises there.
``readout="auto"`` compares the two on labelled rows that the head has not
been trained on (the *probe*), and keeps the better one.

The functions here hold the arithmetic; the estimator decides when to call them.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

__all__ = [
    "PROBE_EPOCHS",
    "PROBE_FRACTION",
    "READOUTS",
    "ReadoutFit",
    "brier_score",
    "fit_linear_readout",
    "linear_probabilities",
    "probe_rows",
]

READOUTS = ("auto", "head", "linear")
# The share of each class's labelled rows held out of the supervised step until
# the comparison: enough rows to tell the read-outs apart, few enough that the
# head still learns from most labels (and from all of them afterwards).
PROBE_FRACTION = 0.25
# The comparison comes at the middle epoch, or at this one if sooner, so that a
# long fit trains the head on every label for most of its epochs. (A fit that
# stops before it compares at its end, its head short of the held-out labels;
# with early stopping the comparison comes before the earliest stop.)
PROBE_EPOCHS = 25
# Inverse L2 strength of the linear read-out (LogisticRegression's default):
# the style codes follow the prior, so they are on a unit scale already.
_READOUT_C = 1.0


@dataclass
class ReadoutFit:
    """What one fit needs to choose and fit its read-out; the estimator holds it during the fit.

    ``X`` is the validated training data, ``labels`` the class index of
    every row (-1: unlabelled), ``train_rows`` the rows trained on.
    ``readout`` is "head" or "linear", or "auto" until the comparison on
    ``probe_rows`` (empty: none) at epoch ``probe_epoch`` sets it and
    ``scores``.
    """

    X: object
    labels: np.ndarray
    train_rows: np.ndarray
    readout: str
    probe_rows: np.ndarray
    probe_epoch: int
    scores: dict | None = None

    @property
    def labelled_rows(self):
        return self.train_rows[self.labels[self.train_rows] >= 0]

    @property
    def probing(self):
        """Whether the comparison is still to come."""
        return self.readout == "auto" and len(self.probe_rows) > 0


def probe_rows(labels, rows, random_state):
    """Rows of ``rows`` (indices into ``labels``) held out for the comparison, sorted.

    Takes ``PROBE_FRACTION`` (rounded) of each class's labelled rows, and
    never a class's last one, so that every class keeps a labelled row to
    train on. An empty array when no class has rows to spare.
    """
    rows = np.asarray(rows)
    chosen = []
    for k in np.unique(labels[rows][labels[rows] >= 0]):
        members = rows[labels[rows] == k]
        n_probe = min(len(members) - 1, round(PROBE_FRACTION * len(members)))
        if n_probe > 0:
            chosen.append(random_state.choice(members, n_probe, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)


def fit_linear_readout(codes, labels, n_classes):
    """``(coef, intercept)`` of a logistic regression of ``labels`` on ``codes``.

    ``coef`` has shape ``(n_classes, n_components)``: one row of logits per
    class. ``labels`` are class indices in ``range(n_classes)``; a class
    without a labelled row (a warm start on rows without it) gets a zero row
    and an intercept 10 below the lowest of the others: a small probability,
    not an impossible one.
    """
    codes = np.asarray(codes, dtype=np.float64)
    present = np.unique(labels)
    coef = np.zeros((n_classes, codes.shape[1]))
    intercept = np.zeros(n_classes)
    if len(present) == 1:  # one class labelled: nothing to regress
        intercept[:] = -10.0
        intercept[present[0]] = 0.0
        return coef, intercept
    model = LogisticRegression(C=_READOUT_C, max_iter=1000).fit(codes, labels)
    if len(present) == 2:  # sklearn's binary form: the logit of the second class
        coef[present[1]], intercept[present[1]] = model.coef_[0], model.intercept_[0]
    else:
        coef[present], intercept[present] = model.coef_, model.intercept_
    missing = np.setdiff1d(np.arange(n_classes), present)
    if len(missing):
        intercept[missing] = intercept[present].min() - 10.0
    return coef, intercept


def linear_probabilities(codes, coef, intercept):
    """Class probabilities of the linear read-out, as float64."""
    logits = np.asarray(codes, dtype=np.float64) @ np.asarray(coef).T + np.asarray(intercept)
    return softmax(logits, axis=1)


def brier_score(probabilities, labels):
    """Mean multi-class Brier score (0 is perfect, 2 the worst): a bounded proper score.

    Bounded, unlike the log-loss: the head's probabilities are pushed towards
    one-hot vectors by its adversary, and a few confident mistakes would
    decide a log-loss comparison on their own.
    """
    target = np.zeros_like(probabilities)
    target[np.arange(len(labels)), labels] = 1.0
    return float(np.mean(np.sum((probabilities - target) ** 2, axis=1)))

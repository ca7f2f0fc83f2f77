"""Class labels, with -1 marking unlabelled samples (scikit-learn's semi-supervised convention).

The estimators learn ``classes_`` (the sorted labels seen, -1 excluded) and
work internally with class indices: ``classes_[k]`` is class ``k``, and the
index of an unlabelled sample is -1.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_random_state,
    column_or_1d,
)

__all__ = [
    "UNLABELLED",
    "check_labels",
    "condition_indices",
    "known_classes",
    "label_indices",
    "unlabelled_mask",
]

UNLABELLED = -1


def check_labels(y, X):
    """Validate ``y`` as class labels for the rows of ``X``; return it as a 1-D array.

    Raises ``ValueError`` for a 2-D, continuous, non-finite or wrongly sized
    ``y``, and for a ``y`` in which every sample is unlabelled.
    """
    if isinstance(y, list | tuple):
        # numpy would turn the -1 of ["a", -1] into the label "-1": keep mixed lists as objects.
        try:
            as_object = np.asarray(y, dtype=object)
        except ValueError:  # ragged: check_array names it
            as_object = None
        if as_object is not None and any(isinstance(v, str) for v in as_object.ravel().tolist()):
            y = as_object
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y", ensure_min_samples=0)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    elif y.ndim != 1:
        raise ValueError(f"y must be 1-D class labels, got an array of shape {y.shape}.")
    check_consistent_length(X, y)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # integral floats such as 3.0 are the labels 3
    if y.dtype == object:
        _check_object_labels(y)
    unlabelled = unlabelled_mask(y)
    if len(y) and unlabelled.all():
        raise ValueError(
            "y has no labelled sample: every entry is -1 (unlabelled). Fit without y, or "
            "give the labels of at least some samples."
        )
    # The labels alone: -1 (unlabelled) among string labels makes a mixed-type array.
    check_classification_targets(y[~unlabelled] if unlabelled.any() else y)
    return y


def _check_object_labels(y):
    """Name what scikit-learn's checks miss in object labels: NaN, infinity, mixed types."""
    values = y.tolist()
    floats = [v for v in values if isinstance(v, float | np.floating)]
    if any(np.isnan(v) for v in floats):
        raise ValueError("Input y contains NaN.")
    if any(np.isinf(v) for v in floats):
        raise ValueError("Input y contains infinity.")
    labels = [v for v in values if not _is_unlabelled(v)]
    if any(isinstance(v, str) for v in labels) and not all(isinstance(v, str) for v in labels):
        raise ValueError(
            "Unknown label type: y mixes string labels with other values (only -1, for "
            "unlabelled samples, may go with strings)."
        )


def unlabelled_mask(y):
    """Boolean mask of the entries of ``y`` equal to -1."""
    if y.dtype.kind in "iuf":
        return y == UNLABELLED
    return np.array([_is_unlabelled(value) for value in y.tolist()], dtype=bool)


def _is_unlabelled(value):
    return not isinstance(value, str) and value == UNLABELLED


def known_classes(y):
    """The sorted distinct labels of ``y``, -1 excluded."""
    labelled = y[~unlabelled_mask(y)]
    if labelled.dtype == object:
        labelled = labelled.astype(str) if _all_str(labelled) else labelled
    return np.unique(labelled)


def label_indices(y, classes):
    """Class indices of ``y`` in ``classes`` (int64, -1 for unlabelled).

    Raises
    ------
    ValueError
        If ``y`` holds a label that is not in ``classes``.
    """
    unlabelled = unlabelled_mask(y)
    labelled = y[~unlabelled]
    if labelled.dtype == object and classes.dtype.kind == "U" and _all_str(labelled):
        labelled = labelled.astype(str)
    positions = np.searchsorted(classes, labelled) if len(classes) else labelled
    positions = np.clip(np.asarray(positions, dtype=np.int64), 0, max(len(classes) - 1, 0))
    unseen = len(classes) == 0 or np.any(classes[positions] != labelled)
    if len(labelled) and unseen:
        seen = set(classes.tolist())
        new = sorted({str(v) for v in labelled.tolist() if v not in seen})
        raise ValueError(
            f"y contains labels not seen in fit: {', '.join(new[:10])}; the known classes "
            f"are {classes.tolist()} (and -1 for unlabelled)."
        )
    indices = np.full(len(y), UNLABELLED, dtype=np.int64)
    indices[~unlabelled] = positions
    return indices


def _all_str(values):
    return all(isinstance(value, str) for value in values.tolist())


def condition_indices(y, n_samples, classes, random_state=None):
    """Class indices of the labels ``y`` asked of ``sample`` or ``inverse_transform``.

    A single label applies to every one of the ``n_samples`` rows; None draws
    classes uniformly with ``random_state``. -1 (unlabelled) is refused.
    """
    if y is None:
        return check_random_state(random_state).randint(len(classes), size=n_samples)
    y = np.asarray(y)
    if y.ndim == 0:
        y = np.full(n_samples, y.item(), dtype=y.dtype if y.dtype.kind != "U" else object)
    if y.ndim == 1 and unlabelled_mask(y).any():
        raise ValueError("y must hold class labels here; -1 (unlabelled) is not one.")
    y = check_labels(y, np.empty((n_samples, 0)))
    return label_indices(y, classes)

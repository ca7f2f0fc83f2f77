"""AAEClassifier's read-outs: the categorical head, the linear read-out, and "auto"."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import skaae
from skaae import AAEClassifier
from skaae.callbacks import Callback

SMALL = {
    "n_components": 2,
    "hidden_layer_sizes": (32,),
    "discriminator_layer_sizes": (32,),
    "batch_size": 64,
    "device": "cpu",
}


def two_blobs(label_is_blob, seed=0, n=600, n_labels=60):
    """Two far-apart blobs in four columns and two free columns.

    The label is the blob (a cluster of the data), or whether the fifth
    column exceeds 0.6 (a quarter of the rows, in both blobs alike).
    Returns ``X, y, y_partial`` with ``n_labels`` labelled rows.
    """
    rng = np.random.RandomState(seed)
    blob = rng.randint(2, size=n)
    X = np.c_[0.3 * rng.normal(size=(n, 4)) + 3.0 * blob[:, None], rng.normal(size=(n, 2))]
    y = blob if label_is_blob else (X[:, 4] > 0.6).astype(int)
    y_partial = np.full(n, -1)
    labelled = rng.choice(n, n_labels, replace=False)
    y_partial[labelled] = y[labelled]
    return X, y, y_partial


def test_head_readout_is_the_categorical_part():
    X, _, y_partial = two_blobs(True)
    model = AAEClassifier(**SMALL, max_iter=2, readout="head", random_state=0).fit(X, y_partial)
    assert model.readout_ == "head" and model.readout_scores_ is None
    proba = model.predict_proba(X)
    np.testing.assert_allclose(
        proba, model._category_probabilities(model._validate_X(X, reset=False))
    )
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_linear_readout_is_a_logistic_regression_of_the_style_codes():
    X, _, y_partial = two_blobs(False)
    labels = np.array(["no", "yes"], dtype=object)[np.maximum(y_partial, 0)]
    y_named = np.where(y_partial >= 0, labels, -1).astype(object)
    model = AAEClassifier(**SMALL, max_iter=3, readout="linear", random_state=0).fit(X, y_named)
    assert model.readout_ == "linear" and model.readout_scores_ is None
    labelled = y_partial >= 0
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(
        model.transform(X[labelled]).astype(np.float64), y_named[labelled].astype(str)
    )
    codes = model.transform(X).astype(np.float64)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(codes), atol=1e-4)
    np.testing.assert_array_equal(model.predict(X), reference.predict(codes))
    assert set(model.predict(X)) <= {"no", "yes"}


def test_auto_keeps_the_head_when_the_classes_are_clusters():
    X, y, y_partial = two_blobs(True)
    model = AAEClassifier(**SMALL, max_iter=10, random_state=0).fit(X, y_partial)
    assert model.readout == "auto"
    assert set(model.readout_scores_) == {"head", "linear"}
    assert model.readout_ == "head"
    assert model.score(X, y) > 0.95


def test_auto_takes_the_linear_readout_when_the_head_does_not_know_the_classes():
    """Without the supervised step the head's categories are the blobs, not the label."""
    X, y, y_partial = two_blobs(False)
    model = AAEClassifier(**SMALL, max_iter=10, supervised_weight=0.0, random_state=0)
    model.fit(X, y_partial)
    scores = model.readout_scores_
    assert scores["linear"] < scores["head"]
    assert model.readout_ == "linear"
    head = AAEClassifier(**SMALL, max_iter=10, supervised_weight=0.0, readout="head")
    head.set_params(random_state=0).fit(X, y_partial)
    assert model.score(X, y) > head.score(X, y) + 0.1


def test_auto_is_reproducible():
    X, _, y_partial = two_blobs(False, seed=1)
    first, second = (
        AAEClassifier(**SMALL, max_iter=4, random_state=3).fit(X, y_partial) for _ in range(2)
    )
    assert first.readout_scores_ == second.readout_scores_
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_auto_without_labels_to_spare_reads_from_the_head():
    """One label per class: none can be held out, so there is nothing to compare."""
    X, _, _ = two_blobs(True)
    y_partial = np.full(len(X), -1)
    y_partial[:2] = [0, 1]
    model = AAEClassifier(**SMALL, max_iter=2, random_state=0).fit(X, y_partial)
    assert model.readout_ == "head" and model.readout_scores_ is None


class StopAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, estimator, record):
        return record["epoch"] >= self.epochs


def test_auto_compares_even_when_the_fit_ends_before_the_middle_epoch():
    X, _, y_partial = two_blobs(True)
    model = AAEClassifier(**SMALL, max_iter=10, callbacks=[StopAfter(2)], random_state=0)
    model.fit(X, y_partial)
    assert model.n_iter_ == 2
    assert set(model.readout_scores_) == {"head", "linear"}


def test_a_one_epoch_fit_reads_from_the_head_as_partial_fit_does():
    X, _, y_partial = two_blobs(True)
    model = AAEClassifier(**SMALL, max_iter=1, random_state=0).fit(X, y_partial)
    assert model.readout_ == "head" and model.readout_scores_ is None


def test_warm_start_keeps_the_readout_and_refits_a_linear_one():
    X, _, y_partial = two_blobs(False)
    model = AAEClassifier(**SMALL, max_iter=2, readout="linear", random_state=0)
    model.fit(X, y_partial)
    before = model.predict_proba(X)
    model.set_params(warm_start=True, readout="auto").fit(X, y_partial)
    assert model.readout_ == "linear" and model.readout_scores_ is None
    labelled = y_partial >= 0
    reference = LogisticRegression(max_iter=1000).fit(
        model.transform(X[labelled]).astype(np.float64), y_partial[labelled]
    )
    after = model.predict_proba(X)
    codes = model.transform(X).astype(np.float64)
    np.testing.assert_allclose(after, reference.predict_proba(codes), atol=1e-4)
    assert not np.allclose(after, before)


def test_partial_fit_reads_from_the_head_and_is_hidden_with_the_linear_readout():
    X, _, y_partial = two_blobs(False)
    model = AAEClassifier(**SMALL, random_state=0).partial_fit(X, y_partial, classes=[0, 1])
    assert model.readout_ == "head" and model.readout_scores_ is None
    linear = AAEClassifier(**SMALL, readout="linear")
    assert not hasattr(linear, "partial_fit")
    with pytest.raises(AttributeError) as error:
        linear.partial_fit(X, y_partial, classes=[0, 1])
    assert "readout='linear') has no partial_fit" in str(error.value.__cause__)


def test_a_bad_readout_is_refused_by_name():
    X, _, y_partial = two_blobs(True)
    with pytest.raises(ValueError, match="'readout' parameter"):
        AAEClassifier(**SMALL, readout="logistic").fit(X, y_partial)


@pytest.mark.parametrize("readout", ["linear", "head"])
def test_the_readout_survives_save_load_and_pickle(tmp_path, readout):
    X, _, y_partial = two_blobs(False)
    model = AAEClassifier(**SMALL, max_iter=2, readout=readout, random_state=0)
    model.fit(X, y_partial)
    skaae.save(model, tmp_path / "model.skaae")
    for loaded in (skaae.load(tmp_path / "model.skaae"), pickle.loads(pickle.dumps(model))):
        assert loaded.readout_ == readout
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("name", ["format_v1/classifier.skaae", "pickle_0.1.0/classifier.pickle"])
def test_a_classifier_saved_before_the_readout_reads_from_its_head(name):
    path = Path(__file__).parent / "fixtures" / name
    model = skaae.load(path) if path.suffix == ".skaae" else pickle.loads(path.read_bytes())
    assert model.readout_ == "head" and model.readout_scores_ is None
    assert model.readout == "auto"  # the default of a parameter the file does not hold


class Predicting(Callback):
    """Predicts after every epoch, and notes the read-out at the end of the fit."""

    def __init__(self, X):
        self.X, self.shapes = X, []

    def on_epoch_end(self, estimator, record):
        self.shapes.append(estimator.predict_proba(self.X).shape)

    def on_fit_end(self, estimator):
        self.readout, self.proba = estimator.readout_, estimator.predict_proba(self.X)


@pytest.mark.parametrize("readout", ["auto", "linear"])
def test_callbacks_predict_during_the_fit_and_see_the_final_readout_at_its_end(readout):
    X, _, y_partial = two_blobs(False)
    callback = Predicting(X[:20])
    model = AAEClassifier(**SMALL, max_iter=4, readout=readout, callbacks=[callback])
    model.set_params(random_state=0).fit(X, y_partial)
    assert callback.shapes == [(20, 2)] * 4
    assert callback.readout == model.readout_
    np.testing.assert_array_equal(callback.proba, model.predict_proba(X[:20]))


class PickleAt(Callback):
    def __init__(self, epoch):
        self.epoch, self.blob = epoch, None

    def on_epoch_end(self, estimator, record):
        if record["epoch"] == self.epoch:
            self.blob = pickle.dumps(estimator)


@pytest.mark.parametrize("epoch", [2, 7])  # before and after the comparison (epoch 5)
def test_a_pickle_taken_during_the_fit_carries_no_state_of_that_fit(epoch):
    X, _, y_partial = two_blobs(False)
    callback = PickleAt(epoch)
    AAEClassifier(**SMALL, max_iter=10, random_state=0, callbacks=[callback]).fit(X, y_partial)
    copy = pickle.loads(callback.blob)
    assert len(callback.blob) < X.nbytes  # the training data stayed out
    X_other, _, y_other = two_blobs(True, seed=1, n=300)
    copy.set_params(readout="head", callbacks=None, max_iter=3).fit(X_other, y_other)
    assert copy.readout_ == "head" and copy.readout_scores_ is None


def test_a_memmap_gives_the_same_readout_as_an_array(tmp_path):
    X, _, y_partial = two_blobs(False)
    mapped = np.memmap(tmp_path / "x.f64", dtype=np.float64, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    models = [
        AAEClassifier(**SMALL, max_iter=6, random_state=0).fit(data, y_partial)
        for data in (X, np.memmap(tmp_path / "x.f64", dtype=np.float64, mode="r", shape=X.shape))
    ]
    assert models[0].readout_scores_ == models[1].readout_scores_
    np.testing.assert_array_equal(models[0].predict_proba(X), models[1].predict_proba(X))

"""The model family: label regularisation, the conditional AAE, AAEClassifier,
AAEClustering and AAEEmbedding, parametrized over the estimators.

Every model here is tiny and trains for two epochs on a slice of digits, except
the two behavioural tests at the end, which train long enough to learn.
"""

import pickle
import warnings
from copy import deepcopy

import numpy as np
import pytest
import scipy.sparse as sp

import skaae
from skaae import (
    AAEClassifier,
    AAEClustering,
    AAEEmbedding,
    AdversarialAutoencoder,
    GaussianMixturePrior,
)
from skaae.embedding import HEAD_SPACING
from skaae.regularisers import AdversarialPrior

TINY = {
    "n_components": 2,
    "hidden_layer_sizes": (32,),
    "discriminator_layer_sizes": (32,),
    "batch_size": 64,
    "max_iter": 2,
    "device": "cpu",
    "random_state": 0,
}
N_TRAIN = 300

# name -> (factory, how y is given: "semi" = some labels and -1, "full", None = no y)
KINDS = {
    "classifier": (lambda **kw: AAEClassifier(**{**TINY, **kw}), "semi"),
    "clustering": (lambda **kw: AAEClustering(**{**TINY, "n_clusters": 4, **kw}), None),
    "embedding": (lambda **kw: AAEEmbedding(**{**TINY, **kw}), "semi"),
    "embedding-unsupervised": (
        lambda **kw: AAEEmbedding(**{**TINY, "n_clusters": 4, **kw}),
        None,
    ),
    "label-regularised": (
        lambda **kw: AdversarialAutoencoder(
            prior=GaussianMixturePrior(n_modes=10), **{**TINY, **kw}
        ),
        "semi",
    ),
    "conditional": (
        lambda **kw: AdversarialAutoencoder(conditional=True, **{**TINY, **kw}),
        "full",
    ),
}
LABELLED_KINDS = [name for name, (_, mode) in KINDS.items() if mode is not None]
SEMI_KINDS = [name for name, (_, mode) in KINDS.items() if mode == "semi"]
CATEGORICAL_KINDS = ["classifier", "clustering", "embedding", "embedding-unsupervised"]


@pytest.fixture(scope="module")
def data(digits):
    """(X_train, X_test, y_train, y_test) with string labels "d0".."d9"."""
    X_train, X_test, y_train, y_test = digits
    names = np.array([f"d{k}" for k in range(10)])
    return X_train[:N_TRAIN], X_test[:100], names[y_train[:N_TRAIN]], names[y_test[:100]]


def labels_for(mode, y):
    """The y a kind is fitted with: None, every label, or every third label (object, -1)."""
    if mode is None:
        return None
    if mode == "full":
        return y
    partial = y.astype(object)
    partial[np.arange(len(y)) % 3 != 0] = -1
    return partial


def fit(name, data, **params):
    factory, mode = KINDS[name]
    X, _, y, _ = data
    return factory(**params).fit(X, labels_for(mode, y))


@pytest.fixture(scope="module")
def fitted(data):
    return {name: fit(name, data) for name in KINDS}


def category_of(model):
    """A valid y for sample / inverse_transform: a class label, or a cluster number."""
    if hasattr(model, "classes_"):
        return model.classes_[1]
    return 1


def outputs(model, X):
    """Everything the model computes from X, for comparing two models."""
    out = {"transform": model.transform(X)}
    for method in ("predict", "predict_proba"):
        if hasattr(model, method):
            out[method] = getattr(model, method)(X)
    out["sample"] = model.sample(5, random_state=3)
    if isinstance(model, AAEEmbedding) or not (
        hasattr(model, "categorical_prior_") or model._is_conditional()
    ):
        out["inverse_transform"] = model.inverse_transform(out["transform"])
    else:
        out["inverse_transform"] = model.inverse_transform(out["transform"], y=category_of(model))
    return out


def assert_same_outputs(a, b, X):
    left, right = outputs(a, X), outputs(b, X)
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


# ------------------------------------------------------------- outputs


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_shapes_and_dtypes(fitted, data, name, dtype):
    model = fitted[name]
    X = data[1][:7].astype(dtype)
    Z = model.transform(X)
    assert Z.shape == (7, 2) and Z.dtype == dtype and np.isfinite(Z).all()
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        k = len(model.classes_) if hasattr(model, "classes_") else model.n_clusters
        assert proba.shape == (7, k)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert (proba >= 0).all()
    if hasattr(model, "predict"):
        labels = model.predict(X)
        assert labels.shape == (7,)
        if hasattr(model, "classes_"):
            assert labels.dtype == model.classes_.dtype
            assert set(labels) <= set(model.classes_)
        else:
            assert labels.dtype.kind == "i" and labels.min() >= 0
        if hasattr(model, "predict_proba"):
            proba_labels = model.predict_proba(X).argmax(axis=1)
            expected = model.classes_[proba_labels] if hasattr(model, "classes_") else proba_labels
            np.testing.assert_array_equal(labels, expected)
    y = category_of(model) if hasattr(model, "classes_") or name != "label-regularised" else None
    samples = model.sample(5, random_state=0, y=None if name == "embedding-unsupervised" else y)
    assert samples.shape == (5, 64) and np.isfinite(samples).all()
    assert model.sample(0).shape == (0, 64)
    if name in ("classifier", "clustering", "conditional"):
        decoded = model.inverse_transform(Z, y=y)
        assert decoded.shape == (7, 64) and decoded.dtype == dtype
        # One label for every row equals one label per row.
        np.testing.assert_array_equal(model.inverse_transform(Z, y=[y] * 7), decoded)
    else:
        decoded = model.inverse_transform(Z)
        assert decoded.shape == (7, 64) and decoded.dtype == dtype


@pytest.mark.parametrize("name", SEMI_KINDS)
def test_string_labels_with_unlabelled_samples(fitted, data, name):
    model = fitted[name]
    _, X_test, y_train, _ = data
    assert model.classes_.tolist() == sorted(set(y_train[::3]))  # -1 is no class
    if hasattr(model, "predict"):
        predicted = model.predict(X_test)
        assert predicted.dtype.kind == "U" and set(predicted) <= set(model.classes_)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 7, 7, 3, 9]),  # ints
        np.array(["b", "a", "a", "b", "c"]),  # str
        np.array(["b", "a", "a", "b", "c"], dtype=object),  # object str
        np.array([0.0, 1.0, 1.0, 0.0, 2.0]),  # integral floats
        np.array([2, 5, 5, 2, 2]),  # binary
    ],
    ids=["int", "str", "object", "float", "binary"],
)
def test_classifier_classes_follow_the_labels(data, labels):
    """What scikit-learn's check_classifiers_classes tests, without -1 as a class."""
    X = data[0][:100]
    y = np.resize(labels, 100)
    model = AAEClassifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.unique(y))
    assert set(model.predict(X)) <= set(np.unique(y))


def test_binary_labels_minus_one_and_one_say_what_minus_one_means(data):
    y = np.resize([-1, 1], N_TRAIN)
    with pytest.raises(ValueError, match=r"got 1 class.*-1 marks unlabelled"):
        AAEClassifier(**TINY).fit(data[0], y)


# ---------------------------------------------------------------- bad y


@pytest.mark.parametrize("name", ["classifier", "embedding", "conditional"])
@pytest.mark.parametrize("where", ["sample", "inverse_transform", "warm_start"])
def test_unseen_labels_are_named(fitted, data, name, where):
    model = fitted[name]
    X, y = data[0], data[2]
    if where == "sample":
        call = lambda: model.sample(3, y=["d1", "zz", "d1"])  # noqa: E731
    elif where == "inverse_transform":
        if name == "embedding":
            pytest.skip("AAEEmbedding.inverse_transform takes no y")
        call = lambda: model.inverse_transform(np.zeros((2, 2)), y="zz")  # noqa: E731
    else:
        model = fit(name, data, warm_start=True, max_iter=1)
        new = y.copy()
        new[5] = "zz"
        call = lambda: model.fit(X, new)  # noqa: E731
    with pytest.raises(ValueError, match=r"not seen in fit: zz"):
        call()


def test_embedding_inverse_transform_refuses_y(fitted):
    with pytest.raises(ValueError, match="takes no y"):
        fitted["embedding"].inverse_transform(np.zeros((2, 2)), y="d1")


@pytest.mark.parametrize("name", LABELLED_KINDS)
@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("all-unlabelled", "no labelled sample"),
        ("wrong-length", "inconsistent numbers of samples"),
        ("continuous", "Unknown label type"),
        ("nan", "contains NaN"),
        ("2-D", r"1-D class labels|y should be a 1d array"),
    ],
)
def test_bad_y_in_fit(data, name, case, match):
    factory, _ = KINDS[name]
    X, y = data[0], data[2]
    bad = {
        "all-unlabelled": np.full(len(X), -1),
        "wrong-length": y[:-1],
        "continuous": np.linspace(0, 1, len(X)),
        "nan": np.where(np.arange(len(X)) == 3, np.nan, 1.0),
        "2-D": np.stack([y, y], axis=1),
    }[case]
    with pytest.raises(ValueError, match=match):
        factory().fit(X, bad)


def test_classifier_needs_y(data):
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'y'"):
        AAEClassifier(**TINY).fit(data[0])
    with pytest.raises(ValueError, match="requires y"):
        AAEClassifier(**TINY).fit(data[0], None)


def test_conditional_needs_every_label(data):
    X, y = data[0], data[2]
    with pytest.raises(ValueError, match="conditional=True"):
        KINDS["conditional"][0]().fit(X)
    with pytest.raises(ValueError, match=r"no -1"):
        KINDS["conditional"][0]().fit(X, labels_for("semi", y))


def test_label_regularisation_needs_a_component_per_class(data):
    X, y = data[0], data[2]
    prior = GaussianMixturePrior(n_modes=3)
    with pytest.raises(ValueError, match=r"10 classes but the prior has 3 components"):
        AdversarialAutoencoder(prior=prior, **TINY).fit(X, y)


def test_label_regularisation_warns_of_components_left_without_a_class(data):
    X, y = data[0], data[2]
    few = np.isin(y, np.unique(y)[:3])
    with pytest.warns(UserWarning, match=r"3 classes but the prior has 10 components.*7 are"):
        model = AdversarialAutoencoder(prior="mixture", **TINY).fit(X[few], y[few])
    assert len(model.classes_) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AdversarialAutoencoder(prior=GaussianMixturePrior(n_modes=3), **TINY).fit(X[few], y[few])


def test_a_unimodal_prior_ignores_y(data):
    X, _, y, _ = data
    without = AdversarialAutoencoder(**TINY).fit(X)
    with_y = AdversarialAutoencoder(**TINY).fit(X, y)
    assert not hasattr(with_y, "classes_")
    np.testing.assert_array_equal(with_y.transform(X), without.transform(X))


def test_embedding_with_labels_ignores_another_n_clusters_with_a_warning(data):
    X, _, y, _ = data
    with pytest.warns(UserWarning, match=r"n_clusters=4 is ignored .* the 10 classes"):
        model = AAEEmbedding(n_clusters=4, **TINY).fit(X, y)
    assert model.cluster_heads_.heads.shape == (10, 2)


@pytest.mark.parametrize(
    ("n_rows", "n_clusters"), [(300, 16), (40 * 25, 25), (40 * 25 + 39, 25), (40 * 600, 512)]
)
def test_embedding_without_n_clusters_has_a_head_per_40_rows(n_rows, n_clusters):
    X = np.random.default_rng(0).normal(size=(n_rows, 3))
    model = AAEEmbedding(**{**TINY, "max_iter": 1, "init": "random"}).fit(X)
    assert model.n_clusters_ == n_clusters
    assert model.cluster_heads_.heads.shape == (n_clusters, 2)
    assert set(np.unique(model.predict(X))) <= set(range(n_clusters))
    assert model.sample(5).shape == (5, 3)


def test_embedding_keeps_its_cluster_count_through_warm_start_and_saving(tmp_path):
    X = np.random.default_rng(0).normal(size=(40 * 20, 3))
    model = AAEEmbedding(**{**TINY, "max_iter": 1}).fit(X)
    assert model.n_clusters_ == 20
    model.set_params(warm_start=True).fit(X[:100])  # a warm start keeps the heads
    assert model.n_clusters_ == 20
    skaae.save(model, tmp_path / "embedding.skaae")
    assert skaae.load(tmp_path / "embedding.skaae").n_clusters_ == 20
    assert AAEEmbedding(n_clusters=7, **TINY).fit(X).n_clusters_ == 7
    assert not hasattr(AAEEmbedding(), "n_clusters_")


def test_embedding_heads_start_head_spacing_min_distances_apart(data):
    X, _, y, _ = data
    model = AAEEmbedding(**{**TINY, "max_iter": 1, "min_distance": 1.0}).fit(X, y)
    heads = model.cluster_heads_.heads.detach().numpy()
    distances = np.linalg.norm(heads[:, None] - heads[None], axis=2) + np.eye(len(heads)) * 1e9
    spacing = HEAD_SPACING * model.prior_.std_
    # A circle of heads about spacing apart, moved a little by one epoch.
    assert np.median(distances.min(axis=1)) == pytest.approx(spacing, rel=0.2)


@pytest.mark.parametrize("name", ["clustering", "embedding-unsupervised"])
def test_one_cluster(data, name):
    model = KINDS[name][0](n_clusters=1).fit(data[0])
    X = data[1]
    assert (model.predict(X) == 0).all()
    assert np.isfinite(model.transform(X)).all()
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(model.predict_proba(X), np.ones((len(X), 1)))


# ------------------------------------------------- fitting and persistence


@pytest.mark.parametrize("name", KINDS)
def test_same_seed_gives_bit_identical_models(fitted, data, name):
    assert_same_outputs(fit(name, data), fitted[name], data[1])


@pytest.mark.parametrize("name", KINDS)
def test_pickle_and_safe_save_round_trips(fitted, data, name, tmp_path):
    model = fitted[name]
    assert_same_outputs(pickle.loads(pickle.dumps(model)), model, data[1])
    skaae.save(model, tmp_path / "model.skaae")
    loaded = skaae.load(tmp_path / "model.skaae")
    assert type(loaded) is type(model)
    assert_same_outputs(loaded, model, data[1])
    for attribute in ("classes_", "labels_"):
        if hasattr(model, attribute):
            np.testing.assert_array_equal(getattr(loaded, attribute), getattr(model, attribute))


@pytest.mark.parametrize("name", KINDS)
def test_warm_start_continues(data, name, tmp_path):
    model = fit(name, data, warm_start=True, max_iter=1)
    before = model.transform(data[1])
    mode = KINDS[name][1]
    model.fit(data[0], labels_for(mode, data[2]))
    assert model.n_iter_ == 2 and [r["epoch"] for r in model.history_] == [1, 2]
    assert not np.array_equal(model.transform(data[1]), before)
    # A loaded model continues as an unpickled one does (neither keeps the optimisers).
    skaae.save(model, tmp_path / "model.skaae")
    loaded, unpickled = skaae.load(tmp_path / "model.skaae"), pickle.loads(pickle.dumps(model))
    for copy in (loaded, unpickled):
        copy.fit(data[0], labels_for(mode, data[2]))
        assert copy.n_iter_ == 3
    np.testing.assert_array_equal(loaded.transform(data[1]), unpickled.transform(data[1]))


@pytest.mark.parametrize("name", LABELLED_KINDS)
def test_early_stopping_with_labels(data, name):
    model = fit(name, data, early_stopping=True, validation_fraction=0.2, max_iter=3)
    assert all("validation_loss" in record for record in model.history_)
    # The split is of row indices, which select each sample's row and label alike.
    train, validation = model._split_rows(40, 0)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, validation])), np.arange(40))
    assert len(validation) == 8


@pytest.mark.parametrize("name", ["clustering", "embedding-unsupervised"])
def test_labels_are_the_predictions_on_the_training_data(fitted, data, name):
    model = fitted[name]
    np.testing.assert_array_equal(model.labels_, model.predict(data[0]))
    np.testing.assert_array_equal(model.fit_predict(data[0]), model.labels_)


def test_clustering_of_sparse_input_equals_dense(fitted, data):
    model = fitted["clustering"]
    X = data[1].copy()
    X[X < 0.5] = 0
    for fmt in (sp.csr_matrix, sp.csc_array):
        np.testing.assert_array_equal(model.predict_proba(fmt(X)), model.predict_proba(X))
    refit = KINDS["clustering"][0]().fit(sp.csr_matrix(data[0]))
    np.testing.assert_array_equal(refit.labels_, fitted["clustering"].labels_)


@pytest.mark.parametrize("assignment", ["hard", "soft"])
@pytest.mark.parametrize("name", ["embedding", "embedding-unsupervised"])
def test_embedding_is_the_cluster_heads_of_the_code(fitted, data, name, assignment):
    model = deepcopy(fitted[name]).set_params(assignment=assignment)
    X = data[1]
    probabilities = model._category_probabilities(X)
    heads = model.cluster_heads_.heads.detach().numpy().astype(np.float64)
    # hard: each sample at the head of its most probable cluster; soft: the mix of heads.
    weights = (
        np.eye(len(heads))[probabilities.argmax(axis=1)] if assignment == "hard" else probabilities
    )
    expected = weights @ heads + model._style_codes(X)
    np.testing.assert_allclose(model.transform(X), expected, rtol=1e-6, atol=1e-6)


def test_hard_embedding_differs_from_soft_only_for_uncertain_samples(fitted, data):
    model = deepcopy(fitted["embedding-unsupervised"])
    X = data[1]
    hard = model.set_params(assignment="hard").transform(X)
    soft = model.set_params(assignment="soft").transform(X)
    confidence = model._category_probabilities(X).max(axis=1)
    moved = np.linalg.norm(hard - soft, axis=1)
    heads = model.cluster_heads_.heads.detach().numpy()
    span = np.linalg.norm(heads[:, None] - heads[None], axis=2).max()
    # (one_hot - p) @ heads = sum over other clusters j of p_j (head_k - head_j).
    assert np.all(moved <= (1 - confidence) * span + 1e-5)
    assert moved.max() > 0


# ------------------------------------------------------------ behaviour


def test_fully_supervised_classifier_learns_digits(digits):
    X_train, X_test, y_train, y_test = digits
    model = AAEClassifier(
        n_components=4,
        hidden_layer_sizes=(64,),
        discriminator_layer_sizes=(32,),
        max_iter=20,
        device="cpu",
        random_state=0,
    ).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.85


class _RestartScores:
    """Callback recording each fit's selection score at its end."""

    def __init__(self):
        self.scores = []

    def on_fit_begin(self, estimator):
        pass

    def on_epoch_end(self, estimator, record):
        return False

    def on_fit_end(self, estimator):
        self.scores.append(estimator._restart_score())


@pytest.mark.parametrize("neighbor_weight", ["auto", 0.0])
def test_clustering_restarts_keep_the_lowest_score(data, neighbor_weight):
    X = data[0]
    log = _RestartScores()
    make = KINDS["clustering"][0]
    model = make(n_init=4, neighbor_weight=neighbor_weight, callbacks=[log]).fit(X)
    assert len(log.scores) == 4
    assert len(set(log.scores)) == 4  # the restarts are different fits
    loss = "neighbor_loss" if neighbor_weight == "auto" else "reconstruction_loss"
    assert model.history_[-1][loss] == min(log.scores)
    assert model.n_init == 4 and model.random_state == 0  # parameters untouched
    np.testing.assert_array_equal(model.labels_, model.predict(X))
    # The first restart is the fit of n_init=1.
    single = make(neighbor_weight=neighbor_weight).fit(X)
    assert single.history_[-1][loss] == log.scores[0]
    # Deterministic for a seeded random_state.
    again = make(n_init=4, neighbor_weight=neighbor_weight).fit(X)
    assert_same_outputs(model, again, data[1])


def test_clustering_warm_start_continues_once_whatever_n_init(data):
    log = _RestartScores()
    model = KINDS["clustering"][0](n_init=3, warm_start=True, callbacks=[log]).fit(data[0])
    assert len(log.scores) == 3
    assert model.n_iter_ == TINY["max_iter"]  # each restart was a fresh fit
    model.fit(data[0])
    assert len(log.scores) == 4
    assert model.n_iter_ == 2 * TINY["max_iter"]


def test_clustering_n_init_is_validated(data):
    with pytest.raises(ValueError, match="n_init"):
        KINDS["clustering"][0](n_init=0).fit(data[0])


@pytest.mark.parametrize(
    "name, weight",
    [
        ("label-regularised", 1.0),
        ("conditional", 0.01),
        ("classifier", 0.1),
        ("clustering", 0.1),
        ("embedding", 0.01),
    ],
)
def test_auto_adversarial_weight(data, name, weight):
    model = fit(name, data, adversarial_weight="auto", max_iter=1)
    assert model._trainer.find(AdversarialPrior).weight == weight
    assert model.adversarial_weight == "auto"
    assert (
        fit(name, data, adversarial_weight=0.2, max_iter=1)._trainer.find(AdversarialPrior).weight
        == 0.2
    )


def test_auto_adversarial_weight_without_labels_is_the_unsupervised_default(data):
    model = KINDS["label-regularised"][0](max_iter=1).fit(data[0])
    assert model._trainer.find(AdversarialPrior).weight == 0.01


def test_label_regularisation_pins_held_out_codes_through_the_neighbourhood_term(digits):
    # The supervised phase pins the 10 % labelled codes to their components
    # and the neighbours' agreement carries the pin to the rest: held-out
    # codes land on their class's component, which the adversary alone does
    # not achieve in this short a fit.
    X, X_test, y, y_test = digits
    y_partial = np.where(np.random.RandomState(0).rand(len(y)) < 0.1, y, -1)
    pinned = {}
    for weight in ("auto", 0.0):
        model = AdversarialAutoencoder(
            n_components=2,
            prior="mixture",
            hidden_layer_sizes=(64,),
            discriminator_layer_sizes=(32,),
            max_iter=20,
            neighbor_weight=weight,
            device="cpu",
            random_state=0,
        ).fit(X, y_partial)
        nearest = np.linalg.norm(
            model.transform(X_test)[:, None] - model.prior_.means_[None], axis=2
        ).argmin(axis=1)
        pinned[weight] = np.mean(model.classes_[nearest] == y_test)
        assert ("supervised_loss" in model.history_[-1]) == (weight == "auto")
    assert pinned["auto"] > 0.6
    assert pinned["auto"] > pinned[0.0] + 0.3


class _RestartOutputs(_RestartScores):
    """Also records each restart's transform of ``X``."""

    def __init__(self, X):
        super().__init__()
        self.X, self.outputs = X, []

    def on_fit_end(self, estimator):
        super().on_fit_end(estimator)
        self.outputs.append(estimator.transform(self.X))


def test_clustering_restarts_keep_the_networks_of_the_best_fit(data):
    log = _RestartOutputs(data[1])
    model = KINDS["clustering"][0](n_init=3, callbacks=[log]).fit(data[0])
    best = int(np.argmin(log.scores))
    np.testing.assert_array_equal(model.transform(data[1]), log.outputs[best])


class _InterruptAt:
    """Raises KeyboardInterrupt in restart ``restart`` (1-based), at ``where``."""

    def __init__(self, restart, where):
        self.restart, self.where, self.fits = restart, where, 0

    def on_fit_begin(self, estimator):
        self.fits += 1
        if self.fits == self.restart and self.where == "begin":
            raise KeyboardInterrupt

    def on_epoch_end(self, estimator, record):
        if self.fits == self.restart and self.where == "epoch":
            raise KeyboardInterrupt
        return False

    def on_fit_end(self, estimator):
        pass


@pytest.mark.parametrize("where", ["begin", "epoch"])
def test_ctrl_c_stops_the_clustering_restarts(data, where):
    interrupt, log = _InterruptAt(2, where), _RestartScores()
    with pytest.warns(RuntimeWarning, match="interrupted"):
        model = KINDS["clustering"][0](n_init=4, callbacks=[interrupt, log]).fit(data[0])
    assert interrupt.fits == 2  # no third restart
    assert len(log.scores) == 2
    # The kept fit: restart 1, unless restart 2 finished an epoch with a lower score.
    assert model.history_ and model.history_[-1]["neighbor_loss"] == min(log.scores)
    np.testing.assert_array_equal(model.labels_, model.predict(data[0]))

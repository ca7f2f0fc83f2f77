"""Behaviour of AdversarialAutoencoder: outputs, quality, reproducibility, sklearn integration."""

import random

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline

from skaae import AdversarialAutoencoder, GaussianMixturePrior, SwissRollPrior, UniformPrior
from skaae.metrics import energy_distance

POSTERIORS = ["deterministic", "gaussian", "universal"]
PRIORS = ["gaussian", "mixture", "swiss_roll", "uniform"]
HISTORY_KEYS = {
    "epoch",
    "reconstruction_loss",
    "discriminator_loss",
    "generator_loss",
    "prior_match",
    "prior_match_1nn",
    "time",
    # The fast models map to 2-D, where neighbor_weight="auto" turns the term on.
    "neighbor_loss",
}

# Explicit settings for the quality tests (not the tuned defaults): small
# networks that still fit digits well in a few seconds.
QUALITY_PARAMS = {
    "hidden_layer_sizes": (128,),
    "discriminator_layer_sizes": (128, 128),
    "activation": "silu",
    "batch_size": 32,
    "max_iter": 25,
    "learning_rate": 3e-3,
    "discriminator_learning_rate": 1e-3,
    "adversarial_weight": 0.1,
    "discriminator_noise": 0.1,
    "device": "cpu",
    "random_state": 0,
}


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def quality_models(digits):
    """Models fitted on the digits training set, built once per module on demand."""
    X_train = digits[0]
    cache = {}

    def get(n_components, prior, max_iter=QUALITY_PARAMS["max_iter"]):
        key = (n_components, prior, max_iter)
        if key not in cache:
            params = {**QUALITY_PARAMS, "max_iter": max_iter}
            cache[key] = AdversarialAutoencoder(n_components, prior=prior, **params).fit(X_train)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def fitted(digits):
    """A fast model fitted on the digits training set, for read-only tests."""
    params = {
        "hidden_layer_sizes": (32,),
        "discriminator_layer_sizes": (32,),
        "batch_size": 64,
        "max_iter": 3,
        "device": "cpu",
        "random_state": 0,
    }
    return AdversarialAutoencoder(n_components=3, **params).fit(digits[0])


# ------------------------------------------------- shapes, dtypes, outputs
@pytest.mark.parametrize("posterior", POSTERIORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_shapes_and_dtypes(make_aae, digits, posterior, dtype):
    X = digits[0][:300].astype(dtype)
    aae = make_aae(n_components=3, posterior=posterior).fit(X)
    Z = aae.transform(X)
    assert Z.shape == (300, 3)
    assert Z.dtype == dtype
    X_rec = aae.inverse_transform(Z)
    assert X_rec.shape == (300, 64)
    assert X_rec.dtype == dtype
    samples = aae.sample(7, random_state=0)
    assert samples.shape == (7, 64)
    assert samples.dtype == np.float64
    assert aae.sample(0).shape == (0, 64)
    assert all(np.isfinite(a).all() for a in (Z, X_rec, samples))
    assert aae.n_features_in_ == 64
    assert aae.n_iter_ == 2


def test_integer_input_is_accepted(make_aae, digits):
    X = np.rint(digits[0][:200] * 16).astype(np.int64)
    aae = make_aae().fit(X)
    assert aae.reconstruction_loss_ == "mse"  # values up to 16
    assert aae.transform(X).dtype == np.float64


@pytest.mark.parametrize("posterior", POSTERIORS)
@pytest.mark.parametrize("prior", PRIORS)
def test_every_prior_and_posterior_fits(make_aae, unit_data, prior, posterior):
    aae = make_aae(prior=prior, posterior=posterior).fit(unit_data)
    assert aae.prior_.n_components_ == 2
    assert len(aae.history_) == 2
    Z = aae.transform(unit_data)
    assert Z.shape == (len(unit_data), 2)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z, aae.transform(unit_data))  # transform is deterministic
    assert np.isfinite(aae.sample(5, random_state=0)).all()


@pytest.mark.parametrize("posterior", POSTERIORS)
def test_transform_is_row_independent(make_aae, posterior):
    # More rows than one inference block (4096), so blocks are checked too.
    X = np.random.RandomState(0).uniform(size=(5000, 4))
    aae = make_aae(posterior=posterior, max_iter=1).fit(X[:200])
    Z = aae.transform(X)
    np.testing.assert_allclose(aae.transform(X[:5]), Z[:5], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(aae.transform(X[4500:]), Z[4500:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(aae.transform(X[::-1]), Z[::-1], rtol=1e-5, atol=1e-6)


def test_fit_transform_matches_fit_then_transform(make_aae, unit_data):
    Z = make_aae().fit_transform(unit_data)
    np.testing.assert_array_equal(Z, make_aae().fit(unit_data).transform(unit_data))


def test_bce_reconstructions_are_probabilities(fitted, digits):
    X_rec = fitted.inverse_transform(fitted.transform(digits[1]))
    assert fitted.reconstruction_loss_ == "bce"
    assert X_rec.min() >= 0.0
    assert X_rec.max() <= 1.0
    samples = fitted.sample(50, random_state=0)
    assert samples.min() >= 0.0
    assert samples.max() <= 1.0


def test_sample_reproducible(fitted):
    np.testing.assert_array_equal(
        fitted.sample(20, random_state=1), fitted.sample(20, random_state=1)
    )
    assert not np.allclose(fitted.sample(20, random_state=1), fitted.sample(20, random_state=2))


def test_sample_decodes_prior_draws(fitted):
    Z = fitted.prior_.sample(10, random_state=5)
    np.testing.assert_allclose(
        fitted.sample(10, random_state=5), fitted.inverse_transform(Z), rtol=1e-6
    )


# ---------------------------------------------------------------- quality
@pytest.mark.slow
@pytest.mark.parametrize("prior", ["gaussian", "mixture"])
def test_held_out_codes_match_the_prior(quality_models, digits, prior):
    aae = quality_models(2, prior)
    Z = aae.transform(digits[1])
    std = aae.prior_.std_
    reference = aae.prior_.sample(len(Z), random_state=1)
    distance = energy_distance(Z, reference, scale=std)
    assert distance < 0.1
    # The statistic is discriminative: the same codes shifted or stretched by
    # a fraction of the prior's spread are far from the prior.
    shifted = energy_distance(Z + 0.5 * std, reference, scale=std)
    stretched = energy_distance(2.0 * Z, reference, scale=std)
    shrunk = energy_distance(0.5 * Z, reference, scale=std)
    for other in (shifted, stretched, shrunk):
        assert other > 0.1
        assert other > 3 * distance
    # And an untrained model's codes do not match the prior.
    untrained = AdversarialAutoencoder(2, prior=prior, **{**QUALITY_PARAMS, "max_iter": 1})
    untrained.fit(digits[0][:64])
    assert energy_distance(untrained.transform(digits[1]), reference, scale=std) > 3 * distance


@pytest.mark.slow
def test_mixture_codes_keep_the_classes_apart(quality_models, digits):
    X_train, X_test, y_train, y_test = digits
    aae = quality_models(2, "mixture")
    knn = KNeighborsClassifier(5).fit(aae.transform(X_train), y_train)
    assert knn.score(aae.transform(X_test), y_test) > 0.5  # chance is 0.1


def test_reconstruction_far_below_the_mean_image_baseline(quality_models, digits):
    X_train, X_test = digits[0], digits[1]
    aae = quality_models(8, "gaussian", max_iter=20)
    error = np.mean((aae.inverse_transform(aae.transform(X_test)) - X_test) ** 2)
    baseline = np.mean((X_train.mean(axis=0) - X_test) ** 2)
    assert error < 0.5 * baseline


def test_samples_resemble_the_data(quality_models, digits):
    X_train, X_test = digits[0], digits[1]
    aae = quality_models(8, "gaussian", max_iter=20)
    samples = aae.sample(400, random_state=0)
    noise = np.random.RandomState(0).uniform(size=samples.shape)
    neighbours = NearestNeighbors(n_neighbors=1).fit(X_train)

    def nearest(A):
        return neighbours.kneighbors(A)[0].mean()

    assert nearest(samples) < 0.5 * nearest(noise)
    assert nearest(samples) < 1.5 * nearest(X_test)  # about as close as real held-out digits
    pixel_std = X_train.std(axis=0).mean()
    assert np.abs(samples.mean(axis=0) - X_train.mean(axis=0)).mean() < 0.2 * pixel_std


def test_score_is_higher_for_a_trained_model(quality_models, digits):
    X_train, X_test = digits[0], digits[1]
    trained = quality_models(8, "gaussian", max_iter=20)
    barely = AdversarialAutoencoder(8, **{**QUALITY_PARAMS, "max_iter": 1}).fit(X_train[:64])
    assert trained.score(X_test) > barely.score(X_test) + 0.05
    # Data unlike the training data scores worse.
    noise = np.random.RandomState(0).uniform(size=X_test.shape)
    assert trained.score(X_test) > trained.score(noise)


def test_score_is_minus_the_bce_of_the_reconstruction(fitted, digits):
    X = digits[1]
    p = np.clip(fitted.inverse_transform(fitted.transform(X)), 1e-7, 1 - 1e-7)
    bce = -np.mean(X * np.log(p) + (1 - X) * np.log(1 - p))
    assert fitted.score(X) == pytest.approx(-bce, rel=1e-3)


def test_score_is_minus_the_standardised_mse(make_aae, real_data):
    aae = make_aae(max_iter=5).fit(real_data)
    assert aae.reconstruction_loss_ == "mse"
    X_rec = aae.inverse_transform(aae.transform(real_data))
    std = real_data.std(axis=0)
    mse = np.mean(((real_data - X_rec) / std) ** 2)
    assert aae.score(real_data) == pytest.approx(-mse, rel=1e-3)


# ------------------------------------------------------ reconstruction loss
@pytest.mark.parametrize(
    ("shift", "scale", "expected"),
    [(0.0, 1.0, "bce"), (0.0, 2.0, "mse"), (-0.5, 1.0, "mse"), (0.5, 0.5, "bce")],
)
def test_auto_reconstruction_loss(make_aae, unit_data, shift, scale, expected):
    aae = make_aae(max_iter=1).fit(shift + scale * unit_data)
    assert aae.reconstruction_loss == "auto"
    assert aae.reconstruction_loss_ == expected


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_explicit_reconstruction_loss(make_aae, unit_data, loss):
    assert (
        make_aae(max_iter=1, reconstruction_loss=loss).fit(unit_data).reconstruction_loss_ == loss
    )


def test_mse_reconstructions_are_in_original_units(make_aae, real_data):
    aae = make_aae(max_iter=100, batch_size=32, hidden_layer_sizes=(64,)).fit(real_data)
    assert aae.reconstruction_loss_ == "mse"
    X_rec = aae.inverse_transform(aae.transform(real_data))
    std = real_data.std(axis=0)
    # Centred and scaled like the data, not like the standardised training targets.
    np.testing.assert_allclose(X_rec.mean(axis=0), real_data.mean(axis=0), atol=0.3 * std.min())
    error = np.mean((X_rec - real_data) ** 2, axis=0)
    assert (error < 0.5 * std**2).all()
    samples = aae.sample(200, random_state=0)
    assert np.abs(samples.mean(axis=0) - real_data.mean(axis=0)).max() < std.max()


# --------------------------------------------------------- reproducibility
@pytest.mark.parametrize("posterior", POSTERIORS)
def test_same_seed_same_model(make_aae, unit_data, posterior):
    params = {"posterior": posterior, "prior": "mixture", "max_iter": 3}
    a = make_aae(random_state=7, **params).fit(unit_data)
    b = make_aae(random_state=7, **params).fit(unit_data)
    c = make_aae(random_state=8, **params).fit(unit_data)
    np.testing.assert_array_equal(a.transform(unit_data), b.transform(unit_data))
    assert a.history_[-1]["reconstruction_loss"] == b.history_[-1]["reconstruction_loss"]
    assert not np.allclose(a.transform(unit_data), c.transform(unit_data))


def test_same_seed_with_early_stopping(make_aae, unit_data):
    params = {"early_stopping": True, "validation_fraction": 0.2, "max_iter": 3}
    a = make_aae(random_state=3, **params).fit(unit_data)
    b = make_aae(random_state=3, **params).fit(unit_data)
    np.testing.assert_array_equal(a.transform(unit_data), b.transform(unit_data))


def test_fit_leaves_the_global_random_state_alone(make_aae, unit_data):
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the legacy global state)
    python_state = random.getstate()
    aae = make_aae(
        posterior="universal", prior="mixture", early_stopping=True, validation_fraction=0.2
    )
    aae.fit(unit_data)
    aae.transform(unit_data)
    aae.inverse_transform(aae.transform(unit_data))
    aae.sample(5, random_state=0)
    aae.score(unit_data)
    aae.set_params(warm_start=True).fit(unit_data)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert random.getstate() == python_state


def test_refit_starts_afresh(make_aae, unit_data):
    aae = make_aae(max_iter=2)
    first = aae.fit(unit_data).transform(unit_data)
    second = aae.fit(unit_data).transform(unit_data)
    np.testing.assert_array_equal(first, second)
    assert aae.n_iter_ == 2
    assert len(aae.history_) == 2


# ------------------------------------------------- history, verbose, epochs
def test_history_has_one_record_per_epoch(make_aae, unit_data):
    aae = make_aae(max_iter=4).fit(unit_data)
    assert aae.n_iter_ == 4
    assert len(aae.history_) == 4
    assert [record["epoch"] for record in aae.history_] == [1, 2, 3, 4]
    for record in aae.history_:
        assert set(record) == HISTORY_KEYS
        assert all(np.isfinite(value) for value in record.values())
        assert record["prior_match"] >= 0
        assert record["time"] > 0
        assert record["discriminator_loss"] > 0


def test_verbose_2_prints_one_line_per_epoch(make_aae, unit_data, capsys):
    aae = make_aae(max_iter=3, verbose=2).fit(unit_data)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for i, (line, record) in enumerate(zip(lines, aae.history_, strict=True), start=1):
        assert line.startswith(f"Epoch {i}/3")
        for name in ("reconstruction loss", "discriminator loss", "generator loss", "prior match"):
            assert name in line
        # The printed numbers are the ones kept in history_.
        assert f"{record['reconstruction_loss']:.4f}" in line
        assert f"{record['prior_match']:.4f}" in line


def test_silent_by_default(make_aae, unit_data, capsys):
    make_aae(max_iter=2).fit(unit_data)
    assert capsys.readouterr().out == ""


def test_warm_start_continues_training(make_aae, unit_data):
    aae = make_aae(max_iter=2, warm_start=True).fit(unit_data)
    encoder = aae.encoder_
    before = [p.detach().clone() for p in encoder.parameters()]
    Z_before = aae.transform(unit_data)
    aae.fit(unit_data)
    assert aae.encoder_ is encoder  # the same networks, trained further
    assert aae.n_iter_ == 4
    assert [record["epoch"] for record in aae.history_] == [1, 2, 3, 4]
    assert any(not torch.equal(p, q) for p, q in zip(encoder.parameters(), before, strict=True))
    assert not np.allclose(aae.transform(unit_data), Z_before)
    aae.set_params(max_iter=3).fit(unit_data)
    assert aae.n_iter_ == 7
    assert len(aae.history_) == 7


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 3},
        {"hidden_layer_sizes": (16,)},
        {"posterior": "gaussian"},
        {"prior": "mixture"},
        {"activation": "relu"},
    ],
)
def test_warm_start_refuses_to_change_the_networks(make_aae, unit_data, change):
    aae = make_aae(warm_start=True).fit(unit_data)
    aae.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"warm_start=True cannot change {name}"):
        aae.fit(unit_data)
    # Non-structural parameters may change between warm fits.
    aae.set_params(**{name: make_aae().get_params()[name]}, learning_rate=1e-4).fit(unit_data)
    assert aae.n_iter_ == 4


def test_without_warm_start_fit_reinitialises(make_aae, unit_data):
    aae = make_aae(max_iter=2).fit(unit_data)
    encoder = aae.encoder_
    aae.fit(unit_data)
    assert aae.encoder_ is not encoder
    assert aae.n_iter_ == 2


def test_early_stopping_stops_early(make_aae, unit_data):
    # A tolerance no epoch can beat: training stops after the patience runs out.
    aae = make_aae(max_iter=50, early_stopping=True, tol=1e3, n_iter_no_change=2)
    aae.fit(unit_data)
    assert aae.n_iter_ == 3
    assert len(aae.history_) == 3
    for record in aae.history_:
        assert set(record) == HISTORY_KEYS | {"validation_loss"}
        assert np.isfinite(record["validation_loss"])
        assert record["validation_loss"] > 0


def test_early_stopping_keeps_going_while_improving(make_aae, digits):
    aae = make_aae(
        max_iter=6, early_stopping=True, tol=0.0, n_iter_no_change=6, learning_rate=1e-3
    ).fit(digits[0])
    assert aae.n_iter_ == 6
    losses = [record["validation_loss"] for record in aae.history_]
    assert losses[-1] < losses[0]


def test_no_validation_loss_without_early_stopping(make_aae, unit_data):
    aae = make_aae().fit(unit_data)
    assert "validation_loss" not in aae.history_[0]


# --------------------------------------------------------- pandas, sparse
def test_set_output_pandas(make_aae, unit_data):
    aae = make_aae(n_components=3).set_output(transform="pandas")
    Z = aae.fit_transform(unit_data)
    assert isinstance(Z, pd.DataFrame)
    names = aae.get_feature_names_out()
    assert list(names) == [
        "adversarialautoencoder0",
        "adversarialautoencoder1",
        "adversarialautoencoder2",
    ]
    assert list(Z.columns) == list(names)
    np.testing.assert_array_equal(
        Z.to_numpy(), aae.set_output(transform="default").transform(unit_data)
    )


def test_dataframe_input(make_aae, unit_data):
    columns = [f"feature_{i}" for i in range(unit_data.shape[1])]
    frame = pd.DataFrame(unit_data, columns=columns, index=np.arange(100, 100 + len(unit_data)))
    aae = make_aae().fit(frame)
    np.testing.assert_array_equal(aae.feature_names_in_, columns)
    assert aae.n_features_in_ == unit_data.shape[1]
    np.testing.assert_array_equal(
        aae.transform(frame), make_aae().fit(unit_data).transform(unit_data)
    )
    Z = aae.set_output(transform="pandas").transform(frame)
    assert list(Z.index) == list(frame.index)


def test_numpy_input_sets_no_feature_names(make_aae, unit_data):
    assert not hasattr(make_aae().fit(unit_data), "feature_names_in_")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_sparse_input_gives_the_same_codes_as_dense(make_aae, unit_data, fmt, loss):
    X = np.where(unit_data > 0.6, unit_data, 0.0)
    S = sp.csr_matrix(X).asformat(fmt)
    aae = make_aae(reconstruction_loss=loss).fit(S)
    np.testing.assert_allclose(aae.transform(S), aae.transform(X), rtol=1e-5, atol=1e-6)
    assert aae.score(S) == pytest.approx(aae.score(X), rel=1e-5)
    # Fitting on the sparse form trains (nearly) the same model as on the dense
    # form: same scaling and batches; only the row order within a batch differs.
    dense = make_aae(reconstruction_loss=loss).fit(X)
    np.testing.assert_allclose(aae.transform(X), dense.transform(X), atol=0.02)


# ------------------------------------------------- scikit-learn integration
def test_pipeline_with_logistic_regression(make_aae, digits):
    X_train, X_test, y_train, y_test = digits
    # With every label and a mixture prior this is label regularisation,
    # whose "auto" adversarial weight (1.0) needs more epochs than 0.01
    # (these tiny networks: 0.48 after 5 epochs, 0.91 after 60).
    aae = make_aae(n_components=8, prior="mixture", max_iter=60)
    pipeline = Pipeline([("aae", aae), ("clf", LogisticRegression(max_iter=1000))])
    pipeline.fit(X_train, y_train)
    assert pipeline.score(X_test, y_test) > 0.5  # chance is 0.1


@pytest.mark.slow
def test_grid_search_uses_score(make_aae, digits):
    search = GridSearchCV(make_aae(max_iter=3), {"n_components": [2, 4]}, n_jobs=2, cv=2)
    search.fit(digits[0][:600])
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert (scores < 0).all()  # minus a loss
    n_components = search.best_params_["n_components"]
    assert n_components in (2, 4)
    assert search.best_estimator_.transform(digits[1]).shape == (len(digits[1]), n_components)


def test_clone_of_a_fitted_model_is_unfitted(fitted):
    copy = clone(fitted)
    assert not hasattr(copy, "encoder_")
    assert copy.get_params() == fitted.get_params()


def test_prior_instances(make_aae, unit_data):
    for prior in (GaussianMixturePrior(n_modes=3), SwissRollPrior(n_modes=2), UniformPrior(2.0)):
        aae = make_aae(prior=prior).fit(unit_data)
        assert type(aae.prior_) is type(prior)
        assert aae.prior_.get_params() == prior.get_params()


@pytest.mark.parametrize("device", ["auto", "cpu", torch.device("cpu")])
def test_device_parameter_is_left_as_given(make_aae, unit_data, device):
    aae = make_aae(device=device).fit(unit_data)
    assert aae.device == device
    assert next(aae.encoder_.parameters()).device.type == "cpu"


def test_keyboard_interrupt_keeps_the_partial_model(make_aae, unit_data, monkeypatch):
    from skaae.training import AdversarialTrainer

    run_epoch = AdversarialTrainer.run_epoch
    calls = []

    def interrupted(self, batches):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run_epoch(self, batches)

    monkeypatch.setattr(AdversarialTrainer, "run_epoch", interrupted)
    aae = make_aae(max_iter=10)
    with pytest.warns(RuntimeWarning, match="interrupted after 2 epochs"):
        aae.fit(unit_data)
    assert aae.n_iter_ == 2
    assert len(aae.history_) == 2
    assert np.isfinite(aae.transform(unit_data)).all()


def test_warm_start_applies_new_learning_rates(make_aae, unit_data):
    aae = make_aae(warm_start=True).fit(unit_data)
    before = [p.detach().clone() for p in aae.encoder_.parameters()]
    aae.set_params(learning_rate=1e-12, discriminator_learning_rate=1e-12).fit(unit_data)
    after = [p.detach() for p in aae.encoder_.parameters()]
    # Adam's steps are about the learning rate: the weights barely moved.
    assert max(float((p - q).abs().max()) for p, q in zip(after, before, strict=True)) < 1e-9


def test_verbose_counts_epochs_across_warm_starts(make_aae, unit_data, capsys):
    aae = make_aae(max_iter=2, warm_start=True, verbose=1).fit(unit_data)
    capsys.readouterr()
    aae.fit(unit_data)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[0] for line in lines] == ["Epoch 3/4", "Epoch 4/4"]


def test_early_stopping_restores_the_best_epoch(make_aae, digits):
    X = digits[0][:400]
    aae = make_aae(early_stopping=True, n_iter_no_change=3, max_iter=40).fit(X)
    _, validation = aae._split_rows(len(X), aae._seed())
    best = min(record["validation_loss"] for record in aae.history_)
    assert -aae.score(X[validation]) == pytest.approx(best, rel=1e-5)


def test_bce_refuses_data_outside_the_unit_interval(make_aae, unit_data):
    with pytest.raises(ValueError, match=r"reconstruction_loss='bce' needs X in \[0, 1\]"):
        make_aae(reconstruction_loss="bce").fit(unit_data * 5)
    aae = make_aae(warm_start=True).fit(unit_data)
    with pytest.raises(ValueError, match="needs X in"):
        aae.fit(unit_data - 1)

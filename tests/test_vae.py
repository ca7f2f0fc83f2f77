"""VariationalAutoencoder: the AAE's sibling with a KL divergence in place of the adversary."""

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skaae
from skaae import GaussianMixturePrior, VariationalAutoencoder

FAST = {"hidden_layer_sizes": (32,), "batch_size": 64, "max_iter": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def fitted(digits):
    return VariationalAutoencoder(**{**FAST, "max_iter": 30}, random_state=0).fit(digits[0])


def test_shapes_and_history(fitted, digits):
    X = digits[0]
    Z = fitted.transform(X)
    assert Z.shape == (len(X), 2) and Z.dtype == X.dtype
    assert fitted.inverse_transform(Z[:5]).shape == (5, X.shape[1])
    samples = fitted.sample(7, random_state=0)
    assert samples.shape == (7, X.shape[1]) and ((samples >= 0) & (samples <= 1)).all()
    record = fitted.history_[-1]
    assert {"reconstruction_loss", "kl_divergence", "prior_match", "prior_match_1nn"} <= set(record)
    assert "discriminator_loss" not in record
    assert fitted.n_iter_ == 30 and np.isfinite(fitted.score(X))


def test_codes_match_the_gaussian_prior(fitted, digits):
    # The posterior means of a fitted VAE spread like the prior (unit variance
    # per coordinate, centred), far from the untrained encoder's codes.
    Z = fitted.transform(digits[0])
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=0.25)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=0.35)
    untrained = VariationalAutoencoder(**{**FAST, "max_iter": 1}, random_state=0).fit(digits[0])
    assert fitted.history_[-1]["prior_match"] < untrained.history_[-1]["prior_match"]


def test_the_kl_divergence_falls_and_beta_weighs_it(digits):
    X = digits[0]
    plain = VariationalAutoencoder(**{**FAST, "max_iter": 15}, random_state=0).fit(X)
    kl = [record["kl_divergence"] for record in plain.history_]
    # The codes start near the origin with tiny posteriors (a large KL), then settle.
    assert kl[-1] < 0.8 * max(kl[:3])
    strong = VariationalAutoencoder(**{**FAST, "max_iter": 15}, beta=8.0, random_state=0).fit(X)
    assert strong.history_[-1]["kl_divergence"] < 0.5 * kl[-1]


def test_a_mixture_prior_takes_the_monte_carlo_kl(digits):
    prior = GaussianMixturePrior(n_modes=4)
    vae = VariationalAutoencoder(**{**FAST, "max_iter": 20}, prior=prior, random_state=0)
    vae.fit(digits[0])
    assert np.isfinite([record["kl_divergence"] for record in vae.history_]).all()
    assert isinstance(vae.prior_, GaussianMixturePrior)
    # It learns: the reconstruction beats that of a one-epoch fit.
    start = VariationalAutoencoder(**{**FAST, "max_iter": 1}, prior=prior, random_state=0)
    assert vae.score(digits[0]) > start.fit(digits[0]).score(digits[0]) + 0.05


@pytest.mark.parametrize(
    "options",
    [{"early_stopping": True}, {"precision": "bfloat16"}, {"average_weights": True}],
    ids=["early_stopping", "bfloat16", "average_weights"],
)
def test_the_shared_training_options_work(digits, options):
    vae = VariationalAutoencoder(**FAST, random_state=0, **options).fit(digits[0])
    assert np.isfinite(vae.transform(digits[0])).all()
    if options.get("early_stopping"):
        assert all("validation_loss" in record for record in vae.history_)


def test_sparse_input_equals_dense(digits):
    import scipy.sparse as sp

    X = digits[0][:200]
    dense = VariationalAutoencoder(**FAST, random_state=0).fit(X)
    sparse = VariationalAutoencoder(**FAST, random_state=0).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), atol=1e-6)


@pytest.mark.parametrize("prior", ["swiss_roll", "uniform", "categorical"])
def test_a_prior_without_a_usable_density_is_refused_before_fitting(digits, prior):
    vae = VariationalAutoencoder(**FAST, prior=prior)
    with pytest.raises(ValueError, match="prior"):
        vae.fit(digits[0])
    assert not hasattr(vae, "model_")


def test_random_state_reproduces_the_fit(digits):
    first = VariationalAutoencoder(**FAST, random_state=3).fit(digits[0])
    second = VariationalAutoencoder(**FAST, random_state=3).fit(digits[0])
    np.testing.assert_array_equal(first.transform(digits[0]), second.transform(digits[0]))
    np.testing.assert_array_equal(first.sample(5, random_state=0), second.sample(5, random_state=0))


def test_pipeline_and_grid_search(digits):
    X, y = digits[0][:300], digits[2][:300]
    pipeline = Pipeline(
        [("vae", VariationalAutoencoder(**FAST, random_state=0)), ("clf", LogisticRegression())]
    )
    search = GridSearchCV(pipeline, {"vae__beta": [0.5, 2.0]}, cv=2).fit(X, y)
    assert sorted(search.cv_results_["param_vae__beta"]) == [0.5, 2.0]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.named_steps["vae"].beta == search.best_params_["vae__beta"]
    assert search.predict(X[:5]).shape == (5,)


def test_save_load_and_joblib_round_trips(fitted, digits, tmp_path):
    X = digits[0][:20]
    skaae.save(fitted, tmp_path / "vae.skaae")
    loaded = skaae.load(tmp_path / "vae.skaae")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(
        loaded.sample(3, random_state=1), fitted.sample(3, random_state=1)
    )
    joblib.dump(fitted, tmp_path / "vae.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "vae.joblib").transform(X), fitted.transform(X)
    )


def test_warm_start_and_partial_fit_continue(digits):
    X = digits[0]
    vae = VariationalAutoencoder(**FAST, warm_start=True, random_state=0).fit(X)
    vae.fit(X)
    assert vae.n_iter_ == 4
    streamed = VariationalAutoencoder(**FAST, random_state=0)
    for chunk in np.array_split(X, 3):
        streamed.partial_fit(chunk)
    assert streamed.n_iter_ == 3


def test_get_feature_names_out(fitted):
    assert list(fitted.get_feature_names_out()) == [
        "variationalautoencoder0",
        "variationalautoencoder1",
    ]

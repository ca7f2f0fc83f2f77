"""Clear errors for bad input, bad parameters and use before fit."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skaae import AdversarialAutoencoder


def _with(X, row, col, value):
    X = X.copy()
    X[row, col] = value
    return X


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).uniform(size=(40, 5))


@pytest.fixture(scope="module")
def fitted(X):
    return AdversarialAutoencoder(
        hidden_layer_sizes=(8,), discriminator_layer_sizes=(8,), max_iter=1, device="cpu"
    ).fit(X)


def _bad_inputs(X):
    return {
        "nan": (_with(X, 3, 1, np.nan), "contains NaN"),
        "inf": (_with(X, 3, 1, np.inf), "contains infinity"),
        "-inf": (_with(X, 0, 0, -np.inf), "contains infinity"),
        "sparse nan": (sp.csr_matrix(_with(X, 3, 1, np.nan)), "contains NaN"),
        "sparse inf": (sp.csr_matrix(_with(X, 3, 1, np.inf)), "contains infinity"),
        "sparse csc inf": (sp.csc_matrix(_with(X, 3, 1, np.inf)), "contains infinity"),
        "empty": (np.empty((0, 5)), "0 sample"),
        "no features": (np.empty((4, 0)), "0 feature"),
        "1-D": (X[:, 0], "Expected 2D array"),
        "3-D": (X[:, :, None], "dim 3"),
        "strings": (np.array([["a", "b"], ["c", "d"]]), "could not convert|Unable to convert"),
    }


BAD_INPUTS = list(_bad_inputs(np.random.RandomState(0).uniform(size=(40, 5))))


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_fit_rejects_bad_input(make_aae, X, case):
    bad, message = _bad_inputs(X)[case]
    with pytest.raises(ValueError, match=message):
        make_aae().fit(bad)


@pytest.mark.parametrize("case", [c for c in BAD_INPUTS if c != "no features"])
@pytest.mark.parametrize("method", ["transform", "score"])
def test_transform_and_score_reject_bad_input(fitted, X, case, method):
    bad, message = _bad_inputs(X)[case]
    with pytest.raises(ValueError, match=message):
        getattr(fitted, method)(bad)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (np.array([[0.0, np.nan]]), "contains NaN"),
        (np.array([[0.0, np.inf]]), "contains infinity"),
        (np.empty((0, 2)), "0 sample"),
        (np.zeros(2), "Expected 2D array"),
        (np.zeros((2, 2, 1)), "dim 3"),
    ],
)
def test_inverse_transform_rejects_bad_codes(fitted, codes, message):
    with pytest.raises(ValueError, match=message):
        fitted.inverse_transform(codes)


@pytest.mark.parametrize("method", ["transform", "score"])
def test_wrong_feature_count(fitted, X, method):
    with pytest.raises(
        ValueError, match="X has 3 features, but AdversarialAutoencoder is expecting 5"
    ):
        getattr(fitted, method)(X[:, :3])


def test_wrong_feature_count_on_warm_start(make_aae, X):
    aae = make_aae(warm_start=True).fit(X)
    with pytest.raises(ValueError, match="X has 4 features"):
        aae.fit(X[:, :4])


@pytest.mark.parametrize("n_columns", [1, 3])
def test_inverse_transform_wrong_code_width(fitted, n_columns):
    with pytest.raises(ValueError, match=f"codes have {n_columns} columns.*n_components=2"):
        fitted.inverse_transform(np.zeros((4, n_columns)))


def test_feature_names_must_match(make_aae, X):
    columns = [f"f{i}" for i in range(5)]
    aae = make_aae().fit(pd.DataFrame(X, columns=columns))
    with pytest.raises(ValueError, match="feature names should match"):
        aae.transform(pd.DataFrame(X, columns=[f"g{i}" for i in range(5)]))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_components", 0),
        ("n_components", 1.5),
        ("prior", "cauchy"),
        ("prior", 3),
        ("posterior", "laplace"),
        ("hidden_layer_sizes", 0),
        ("hidden_layer_sizes", None),
        ("hidden_layer_sizes", (0,)),
        ("hidden_layer_sizes", (32, -1)),
        ("hidden_layer_sizes", (2.5,)),
        ("hidden_layer_sizes", ("a",)),
        ("discriminator_layer_sizes", (0,)),
        ("reconstruction_loss", "l1"),
        ("learning_rate", 0.0),
        ("discriminator_learning_rate", -1e-3),
        ("adversarial_weight", -1.0),
        ("activation", "gelu"),
        ("discriminator_noise", -0.1),
        ("batch_size", 0),
        ("batch_size", "big"),
        ("max_iter", 0),
        ("early_stopping", "yes"),
        ("validation_fraction", 0.0),
        ("validation_fraction", 1.0),
        ("n_iter_no_change", 0),
        ("tol", -1.0),
        ("random_state", "seed"),
        ("device", 3),
        ("verbose", "loud"),
        ("warm_start", None),
    ],
)
def test_invalid_parameters(make_aae, X, param, value):
    aae = make_aae(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        aae.fit(X)
    assert issubclass(InvalidParameterError, ValueError)


def test_invalid_device_name(make_aae, X):
    with pytest.raises(ValueError, match="device='tpu' is not a valid torch device"):
        make_aae(device="tpu").fit(X)


def test_invalid_parameters_are_not_checked_in_init():
    # scikit-learn convention: __init__ only stores; fit validates.
    aae = AdversarialAutoencoder(n_components=-3, prior="cauchy")
    assert aae.n_components == -3


@pytest.mark.parametrize("n_components", [1, 3])
def test_swiss_roll_needs_two_components(make_aae, X, n_components):
    with pytest.raises(ValueError, match="two-dimensional.*n_components=" + str(n_components)):
        make_aae(prior="swiss_roll", n_components=n_components).fit(X)


def test_early_stopping_needs_validation_samples(make_aae, X):
    with pytest.raises(ValueError, match=r"validation_fraction=0\.01 leaves no validation"):
        make_aae(early_stopping=True, validation_fraction=0.01).fit(X)


@pytest.mark.parametrize("n_samples", [-1, 2.5, "3"])
def test_sample_rejects_bad_sizes(fitted, n_samples):
    with pytest.raises(ValueError, match="n_samples must be a non-negative int"):
        fitted.sample(n_samples)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("transform", "X"),
        ("inverse_transform", "codes"),
        ("score", "X"),
        ("sample", 3),
        ("get_feature_names_out", None),
    ],
)
def test_not_fitted(X, method, args):
    aae = AdversarialAutoencoder()
    inputs = {"X": (X,), "codes": (np.zeros((3, 2)),), None: ()}.get(args, (args,))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(aae, method)(*inputs)


def test_an_int_layer_size_means_one_layer(make_aae, unit_data):
    aae = make_aae(hidden_layer_sizes=16, discriminator_layer_sizes=8).fit(unit_data)
    widths = [m.out_features for m in aae.encoder_.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [16, aae.n_components]
    assert aae.transform(unit_data).shape == (len(unit_data), aae.n_components)


def test_a_bad_device_fails_before_any_work(make_aae, unit_data):
    with pytest.raises(ValueError, match="not a valid torch device"):
        make_aae(device="tpu").fit(unit_data)

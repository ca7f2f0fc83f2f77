"""Shared fixtures: small data sets and the parameters of fast, tiny models."""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skaae import AdversarialAutoencoder

# Tiny networks and a couple of epochs: enough to exercise every code path in
# well under a second. Tests that check the quality of a fit pass their own,
# explicit parameters instead.
FAST_PARAMS = {
    "n_components": 2,
    "hidden_layer_sizes": (32,),
    "discriminator_layer_sizes": (32,),
    "batch_size": 64,
    "max_iter": 2,
    "device": "cpu",
    "random_state": 0,
}


# Property-based tests (hypothesis): HYPOTHESIS_PROFILE=ci (the default) is
# bounded and derandomised, so CI is fast and never flaky; HYPOTHESIS_PROFILE=long
# runs 10,000 random examples per property.
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    # The test models and data are tiny: one thread (torch and BLAS) is many
    # times faster than several threads competing for two cores.
    torch.set_num_threads(1)
    config._skaae_thread_limits = threadpool_limits(limits=1)


@pytest.fixture
def fast_params():
    """A fresh copy of the fast parameters, free to modify."""
    return dict(FAST_PARAMS)


@pytest.fixture
def make_aae():
    """Factory of fast AdversarialAutoencoders: ``make_aae(**overrides)``."""

    def make(**overrides):
        return AdversarialAutoencoder(**{**FAST_PARAMS, **overrides})

    return make


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits scaled to [0, 1], split 75/25 (stratified, seed 0).

    Returns ``(X_train, X_test, y_train, y_test)``.
    """
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def unit_data():
    """Small random data in [0, 1] (the BCE case), shape (120, 6)."""
    return np.random.RandomState(0).uniform(size=(120, 6))


@pytest.fixture(scope="session")
def real_data():
    """Small correlated real-valued data off [0, 1] (the MSE case), shape (120, 6)."""
    rng = np.random.RandomState(1)
    latent = rng.normal(size=(120, 2))
    return 50.0 + 10.0 * latent @ rng.normal(size=(2, 6)) + rng.normal(size=(120, 6))

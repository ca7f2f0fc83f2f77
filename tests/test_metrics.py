"""The two-sample statistics that measure the prior match."""

import numpy as np
import pytest
import torch

from skaae import GaussianMixturePrior
from skaae.metrics import energy_distance, nearest_neighbor_two_sample


def test_nearest_neighbor_about_half_for_the_same_distribution():
    rng = np.random.RandomState(0)
    accuracy = nearest_neighbor_two_sample(rng.randn(1000, 2), rng.randn(1000, 2))
    assert 0.45 < accuracy < 0.55


def test_nearest_neighbor_one_for_separated_samples():
    rng = np.random.RandomState(0)
    assert nearest_neighbor_two_sample(rng.randn(300, 3), rng.randn(300, 3) + 20.0) == 1.0


def test_nearest_neighbor_sees_a_blurred_mixture_that_energy_distance_barely_sees():
    prior = GaussianMixturePrior(tangential_std=0.1).bind(2)  # thin arms
    draws = prior.sample(1000, random_state=0)
    # The same mixture with its thin arms smeared out: same overall spread.
    blurred = prior.sample(1000, random_state=1) + 0.4 * np.random.RandomState(2).randn(1000, 2)
    same = prior.sample(1000, random_state=3)
    assert nearest_neighbor_two_sample(draws, same) < 0.56
    assert nearest_neighbor_two_sample(draws, blurred) > 0.65
    assert energy_distance(draws, blurred, scale=prior.std_) < 0.05


def test_nearest_neighbor_uses_equal_sample_sizes_and_accepts_tensors():
    rng = np.random.RandomState(0)
    X, Y = rng.randn(500, 2), rng.randn(300, 2)
    expected = nearest_neighbor_two_sample(X[:300], Y)
    assert nearest_neighbor_two_sample(X, Y) == expected
    assert nearest_neighbor_two_sample(torch.as_tensor(X), torch.as_tensor(Y)) == expected


def test_nearest_neighbor_checks_shapes():
    with pytest.raises(ValueError, match="same number of columns"):
        nearest_neighbor_two_sample(np.zeros((5, 2)), np.zeros((5, 3)))

"""The metrics: prior-match two-sample statistics, Parzen log-likelihood, cluster accuracy."""

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from skaae import GaussianMixturePrior
from skaae.metrics import (
    ParzenLogLikelihood,
    cluster_accuracy,
    cluster_label_mapping,
    energy_distance,
    nearest_neighbor_two_sample,
    parzen_log_density,
    parzen_log_likelihood,
    select_parzen_bandwidth,
    two_sample_statistics,
)


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


@pytest.mark.parametrize("shift", [0.0, 0.3, 3.0])
def test_two_sample_statistics_are_the_two_functions_at_once(shift):
    rng = np.random.RandomState(0)
    X, Y = 2.0 * rng.randn(400, 3), 2.0 * rng.randn(300, 3) + shift
    energy, nearest = two_sample_statistics(X, Y, scale=2.0)
    # Trimmed to the same size, the energy distance too.
    np.testing.assert_allclose(energy, energy_distance(X[:300], Y, scale=2.0), rtol=1e-10)
    assert nearest == nearest_neighbor_two_sample(X, Y)
    assert two_sample_statistics(torch.as_tensor(X), torch.as_tensor(Y), 2.0) == (energy, nearest)


def test_two_sample_statistics_checks_shapes():
    with pytest.raises(ValueError, match="same number of columns"):
        two_sample_statistics(np.zeros((5, 2)), np.zeros((5, 3)))


# --- Parzen-window log-likelihood ---------------------------------------------


def _naive_parzen(samples, X, bandwidth):
    """The textbook formula on the full (n_points, n_samples, n_features) array, float64."""
    sq_dist = ((X[:, None, :] - samples[None, :, :]) ** 2).sum(axis=2)
    n, d = samples.shape
    return (
        logsumexp(-sq_dist / (2 * bandwidth**2), axis=1)
        - np.log(n)
        - 0.5 * d * np.log(2 * np.pi * bandwidth**2)
    )


@pytest.mark.parametrize("n_features", [1, 5, 40])
@pytest.mark.parametrize("bandwidth", [0.05, 0.3, 2.0])
def test_parzen_matches_the_naive_formula(n_features, bandwidth):
    rng = np.random.RandomState(n_features)
    samples, X = rng.rand(60, n_features), rng.rand(35, n_features)
    expected = _naive_parzen(samples, X, bandwidth)
    np.testing.assert_allclose(
        parzen_log_density(samples, X, bandwidth), expected, rtol=1e-12, atol=1e-9
    )
    mean, sem = parzen_log_likelihood(samples, X, bandwidth)
    assert mean == pytest.approx(expected.mean(), rel=1e-12)
    assert sem == pytest.approx(expected.std() / np.sqrt(len(X)), rel=1e-9)


@pytest.mark.parametrize("batch_size", [3, 7, 64, 10_000])
def test_parzen_does_not_depend_on_the_batch_size(batch_size):
    rng = np.random.RandomState(0)
    samples, X = rng.rand(130, 20), rng.rand(90, 20)
    expected = _naive_parzen(samples, X, 0.2)
    np.testing.assert_allclose(
        parzen_log_density(samples, X, 0.2, batch_size=batch_size), expected, rtol=1e-12
    )


@pytest.mark.parametrize("bandwidth", [0.1, 1.0, 3.0])
def test_parzen_of_one_sample_is_the_gaussian_density(bandwidth):
    rng = np.random.RandomState(1)
    centre, X = rng.randn(1, 3), rng.randn(8, 3)
    expected = -((X - centre) ** 2).sum(axis=1) / (2 * bandwidth**2) - 1.5 * np.log(
        2 * np.pi * bandwidth**2
    )
    np.testing.assert_allclose(parzen_log_density(centre, X, bandwidth), expected, rtol=1e-12)
    # A point on the centre: exactly the normalising constant (distances clamped at 0).
    on_centre = parzen_log_density(centre, centre, bandwidth)
    assert on_centre[0] == pytest.approx(-1.5 * np.log(2 * np.pi * bandwidth**2), abs=1e-12)


def test_parzen_is_exact_far_from_every_sample():
    # Every kernel term underflows in float64; the nearest one sets the scale.
    samples = np.array([[0.0], [3.0]])
    X = np.array([[1000.0], [-2000.0]])
    expected = np.array([-(997**2) / 2, -(2000**2) / 2]) - np.log(2) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(parzen_log_density(samples, X, 1.0), expected, rtol=1e-14)


def test_parzen_accepts_tensors_and_returns_a_named_tuple():
    rng = np.random.RandomState(2)
    samples, X = rng.rand(30, 4), rng.rand(20, 4)
    expected = parzen_log_likelihood(samples, X, 0.5)
    result = parzen_log_likelihood(
        torch.as_tensor(samples, dtype=torch.float32).requires_grad_(), torch.as_tensor(X), 0.5
    )
    assert isinstance(result, ParzenLogLikelihood)
    assert result.mean == pytest.approx(expected.mean, rel=1e-6)  # float32 samples
    assert result.sem == pytest.approx(expected.sem, rel=1e-5)


@pytest.mark.parametrize("true_bandwidth", [0.03, 0.1, 0.4])
def test_bandwidth_selection_recovers_the_width_that_generated_the_data(true_bandwidth):
    # Validation points drawn from the kernel density itself: its own width
    # is the most likely one.
    rng = np.random.RandomState(3)
    samples = rng.rand(300, 2)
    X_validation = samples[rng.randint(300, size=3000)] + true_bandwidth * rng.randn(3000, 2)
    grid = true_bandwidth * np.array([0.25, 0.5, 0.7, 1.0, 1.4, 2.0, 4.0])
    assert select_parzen_bandwidth(samples, X_validation, grid) == pytest.approx(true_bandwidth)


def test_bandwidth_selection_default_grid_and_edge_warning():
    rng = np.random.RandomState(4)
    samples = rng.rand(200, 2)
    X_validation = samples[rng.randint(200, size=1000)] + 0.2 * rng.randn(1000, 2)
    best = select_parzen_bandwidth(samples, X_validation)
    assert best in np.logspace(-1, 0, 10)
    assert 0.1 < best < 0.4
    with pytest.warns(UserWarning, match="at an end of the grid"):
        assert select_parzen_bandwidth(samples, X_validation, [1.0, 2.0, 4.0]) == 1.0


GOOD = np.zeros((3, 2))


@pytest.mark.parametrize(
    ("samples", "X", "bandwidth", "match"),
    [
        (np.zeros(3), GOOD, 1.0, "samples must be a non-empty 2-D"),
        (GOOD, np.zeros((0, 2)), 1.0, "X must be a non-empty 2-D"),
        (GOOD, np.zeros((3, 3)), 1.0, "same number of columns"),
        (np.array([[0.0, np.nan]]), GOOD, 1.0, "samples contains NaN or infinity"),
        (GOOD, np.array([[np.inf, 0.0]]), 1.0, "X contains NaN or infinity"),
        (GOOD, GOOD, 0.0, "must be finite and > 0"),
        (GOOD, GOOD, -1.0, "must be finite and > 0"),
        (GOOD, GOOD, np.nan, "must be finite and > 0"),
        (GOOD, GOOD, [0.1, 0.2], "a single number"),
    ],
)
def test_parzen_rejects_bad_input(samples, X, bandwidth, match):
    with pytest.raises(ValueError, match=match):
        parzen_log_likelihood(samples, X, bandwidth)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bandwidths": []}, "must be finite and > 0"),
        ({"bandwidths": [0.1, 0.0]}, "must be finite and > 0"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ],
)
def test_bandwidth_selection_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        select_parzen_bandwidth(GOOD, GOOD, **kwargs)


# --- Cluster accuracy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("y_true", "clusters", "method", "expected"),
    [
        # 7 -> a (2 of 3), 3 -> b (2 of 2): one point wrong.
        (["a", "a", "b", "b", "b"], [7, 7, 7, 3, 3], "majority", 4 / 5),
        # Two clusters both mostly class 0: majority lets them share it ...
        ([0, 0, 1, 0, 0, 1, 1], [0, 0, 0, 1, 1, 2, 2], "majority", 6 / 7),
        # ... the one-to-one matching leaves cluster 0 or 1 without one: 4 of 7 right.
        ([0, 0, 1, 0, 0, 1, 1], [0, 0, 0, 1, 1, 2, 2], "hungarian", 4 / 7),
        # Ties go to the smallest class: cluster 5 -> 1, cluster 6 -> 2.
        ([2, 1, 2, 2, 3], [5, 5, 6, 6, 6], "majority", 3 / 5),
    ],
)
def test_cluster_accuracy_hand_computed(y_true, clusters, method, expected):
    assert cluster_accuracy(y_true, clusters, method=method) == pytest.approx(expected)


PERMUTATION = np.array([2, 0, 3, 1])
PERFECT_LABELS = np.random.RandomState(5).randint(4, size=50)


@pytest.mark.parametrize("method", ["majority", "most_confident", "hungarian"])
def test_perfect_clustering_with_permuted_responsibilities_scores_one(method):
    responsibilities = np.eye(4)[PERMUTATION[PERFECT_LABELS]] * 0.7 + 0.075  # rows sum to 1
    assert cluster_accuracy(PERFECT_LABELS, responsibilities, method=method) == 1.0


@pytest.mark.parametrize("method", ["majority", "hungarian"])
def test_perfect_clustering_with_permuted_ids_scores_one(method):
    ids = PERMUTATION[PERFECT_LABELS] + 10
    assert cluster_accuracy(PERFECT_LABELS, ids, method=method) == 1.0


# q(y|x) of five training points for two clusters: every point's argmax is
# cluster 0, and cluster 0's majority is class 4, but its single most
# confident point is of class 3; cluster 1's most confident point is of class 4.
TRAIN_LABELS = np.array([3, 4, 4, 4, 3])
TRAIN_PROBA = np.array([[0.95, 0.05], [0.6, 0.4], [0.7, 0.3], [0.8, 0.2], [0.65, 0.35]])


def test_majority_and_the_papers_most_confident_rule_differ():
    assert cluster_label_mapping(TRAIN_LABELS, TRAIN_PROBA) == {0: 4}
    assert cluster_label_mapping(TRAIN_LABELS, TRAIN_PROBA, method="most_confident") == {
        0: 3,
        1: 4,
    }
    y_test = np.array([3, 4, 4])
    test_clusters = np.array([0, 0, 1])
    reference = {"reference_labels": TRAIN_LABELS, "reference_clusters": TRAIN_PROBA}
    # majority: cluster 0 -> 4 (one right), cluster 1 never seen (wrong).
    assert cluster_accuracy(y_test, test_clusters, **reference) == pytest.approx(1 / 3)
    # paper: cluster 0 -> 3, cluster 1 -> 4.
    assert cluster_accuracy(
        y_test, test_clusters, method="most_confident", **reference
    ) == pytest.approx(2 / 3)


def test_mapping_learned_on_reference_data_is_applied_to_test_clusters():
    # Training set: cluster "u" is class "cat", "v" is "dog".
    reference = {
        "reference_labels": ["cat", "cat", "dog", "dog", "cat"],
        "reference_clusters": ["u", "u", "v", "v", "v"],
    }
    assert cluster_label_mapping(
        reference["reference_labels"], reference["reference_clusters"]
    ) == {
        "u": "cat",
        "v": "dog",
    }
    # Test points in an unseen cluster "w" count as wrong, whatever their label.
    y_test = ["dog", "cat", "dog", "cat"]
    assert cluster_accuracy(y_test, ["v", "u", "w", "w"], **reference) == pytest.approx(0.5)
    # The test labels alone would name "w" after its own majority instead.
    assert cluster_accuracy(y_test, ["v", "u", "w", "w"]) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cluster_accuracy([0, 1], [0, 1, 1]), "to match the labels"),
        (lambda: cluster_accuracy([], []), "non-empty 1-D"),
        (lambda: cluster_accuracy([[0, 1]], [[0, 1]]), "non-empty 1-D"),
        (lambda: cluster_accuracy([0], [0], reference_labels=[0]), "both reference_labels"),
        (lambda: cluster_accuracy([0], [0], method="best"), "method must be one of"),
        (lambda: cluster_accuracy([0, 1], [0, 1], method="most_confident"), "responsibilities"),
        (lambda: cluster_label_mapping([0], [[np.nan, 1.0]]), "finite numbers"),
    ],
)
def test_cluster_accuracy_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()

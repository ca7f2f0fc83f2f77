"""Priors: shapes, reproducibility, geometry, per-component draws, scale, binding."""

import pickle

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skaae import (
    AdversarialAutoencoder,
    CategoricalPrior,
    GaussianMixturePrior,
    GaussianPrior,
    Prior,
    SwissRollPrior,
    UniformPrior,
)
from skaae.priors import PRIORS, resolve_prior

# (prior, n_components) pairs covering every registered prior and several dimensions.
BOUND_CASES = [
    ("gaussian", 1),
    ("gaussian", 5),
    ("uniform", 3),
    ("mixture", 1),
    ("mixture", 2),
    ("mixture", 5),
    ("swiss_roll", 2),
    ("categorical", 4),
]


def _draw(prior, n, seed=0, component=None):
    return prior.draw(n, torch.Generator().manual_seed(seed), torch.device("cpu"), component)


def test_registry_covers_the_documented_names():
    assert set(PRIORS) == {"categorical", "gaussian", "mixture", "swiss_roll", "uniform"}
    assert all(issubclass(cls, Prior) for cls in PRIORS.values())


@pytest.mark.parametrize(("name", "n_components"), BOUND_CASES)
def test_sample_and_draw_shapes(name, n_components):
    prior = resolve_prior(name, n_components)
    Z = prior.sample(37, random_state=0)
    assert isinstance(Z, np.ndarray)
    assert Z.shape == (37, n_components)
    assert Z.dtype == np.float64
    assert np.isfinite(Z).all()
    z = _draw(prior, 11)
    assert z.shape == (11, n_components)
    assert z.dtype == torch.float32
    assert prior.sample(0).shape == (0, n_components)


@pytest.mark.parametrize(("name", "n_components"), BOUND_CASES)
def test_sample_is_reproducible(name, n_components):
    prior = resolve_prior(name, n_components)
    np.testing.assert_array_equal(
        prior.sample(50, random_state=3), prior.sample(50, random_state=3)
    )
    assert not np.allclose(prior.sample(50, random_state=3), prior.sample(50, random_state=4))
    # A RandomState instance is accepted too.
    a = prior.sample(5, random_state=np.random.RandomState(7))
    b = prior.sample(5, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("name", "n_components"), BOUND_CASES)
def test_std_matches_the_empirical_std(name, n_components):
    prior = resolve_prior(name, n_components)
    Z = prior.sample(40000, random_state=0)
    empirical = np.sqrt(Z.var(axis=0).mean())
    assert prior.std_ == pytest.approx(empirical, rel=0.03)


@pytest.mark.parametrize(
    "prior",
    [
        GaussianPrior(scale=2.5),
        UniformPrior(scale=3.0),
        GaussianMixturePrior(n_modes=4, scale=0.5, radius=3.0, radial_std=0.3),
        SwissRollPrior(scale=4.0, noise=0.05),
    ],
    ids=["gaussian", "uniform", "mixture", "swiss_roll"],
)
def test_std_follows_the_hyperparameters(prior):
    bound = prior.bind(2)
    Z = bound.sample(40000, random_state=0)
    assert bound.std_ == pytest.approx(np.sqrt(Z.var(axis=0).mean()), rel=0.03)


def test_gaussian_prior_moments():
    Z = GaussianPrior(scale=2.0).bind(3).sample(20000, random_state=0)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(np.cov(Z.T), 4.0 * np.eye(3), atol=0.15)


def test_uniform_prior_fills_its_cube():
    Z = UniformPrior(scale=1.5).bind(2).sample(5000, random_state=0)
    assert Z.min() >= -1.5
    assert Z.max() <= 1.5
    assert Z.min() < -1.45
    assert Z.max() > 1.45


@pytest.mark.parametrize("n_modes", [3, 10])
def test_mixture_means_on_a_circle_in_2d(n_modes):
    prior = GaussianMixturePrior(n_modes=n_modes, radius=2.0, scale=1.5).bind(2)
    means = prior.means_
    assert means.shape == (n_modes, 2)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 3.0)
    angles = np.sort(np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * np.pi))
    gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
    np.testing.assert_allclose(gaps, 2 * np.pi / n_modes)


@pytest.mark.parametrize("n_components", [4, 5, 6])
def test_mixture_means_in_orthogonal_planes(n_components):
    n_modes = 10
    prior = GaussianMixturePrior(n_modes=n_modes, radius=2.0).bind(n_components)
    means = prior.means_
    assert means.shape == (n_modes, n_components)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 2.0)
    n_planes = n_components // 2
    planes = []
    for mean in means:
        # Each mean lives in exactly one coordinate plane (dims 2p, 2p+1).
        support = np.flatnonzero(np.abs(mean) > 1e-12)
        plane = set(support // 2)
        assert len(plane) == 1
        planes.append(plane.pop())
    assert set(planes) == set(range(n_planes))
    if n_components % 2:
        np.testing.assert_array_equal(means[:, -1], 0.0)
    # Means in different planes are orthogonal.
    for i in range(n_modes):
        for j in range(n_modes):
            if planes[i] != planes[j]:
                assert abs(means[i] @ means[j]) < 1e-12


def test_mixture_means_in_1d_are_evenly_spaced():
    means = GaussianMixturePrior(n_modes=5, radius=2.0).bind(1).means_
    np.testing.assert_allclose(means[:, 0], np.linspace(-2.0, 2.0, 5))


def test_mixture_explicit_means():
    means = np.array([[0.0, 0.0], [5.0, 5.0]])
    prior = GaussianMixturePrior(n_modes=2, means=means).bind(2)
    np.testing.assert_array_equal(prior.means_, means)
    with pytest.raises(ValueError, match="means must have shape"):
        GaussianMixturePrior(n_modes=3, means=means).bind(2)


@pytest.mark.parametrize("n_components", [2, 4])
def test_mixture_component_draws_land_near_their_mean(n_components):
    prior = GaussianMixturePrior(n_modes=6, radius=3.0).bind(n_components)
    assert prior.n_modes_ == 6
    for k in range(6):
        z = _draw(prior, 2000, seed=k, component=torch.full((2000,), k)).numpy()
        np.testing.assert_allclose(z.mean(axis=0), prior.means_[k], atol=0.06)
        # Each draw is closest to its own mean.
        distances = np.linalg.norm(z[:, None, :] - prior.means_[None], axis=2)
        assert (distances.argmin(axis=1) == k).mean() > 0.95


def test_mixture_components_are_stretched_along_their_radius():
    prior = GaussianMixturePrior(n_modes=4, radial_std=0.5, tangential_std=0.1).bind(2)
    z = _draw(prior, 20000, component=torch.zeros(20000, dtype=torch.long)).numpy()
    direction = prior.means_[0] / np.linalg.norm(prior.means_[0])
    centred = z - prior.means_[0]
    along = centred @ direction
    across = centred @ np.array([-direction[1], direction[0]])
    assert along.std() == pytest.approx(0.5, rel=0.05)
    assert across.std() == pytest.approx(0.1, rel=0.05)


def test_mixture_draws_use_every_component():
    prior = GaussianMixturePrior(n_modes=5).bind(2)
    z = prior.sample(5000, random_state=0)
    nearest = np.linalg.norm(z[:, None] - prior.means_[None], axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=5)
    np.testing.assert_allclose(counts / 5000, 0.2, atol=0.03)


def test_swiss_roll_segments():
    prior = SwissRollPrior(n_modes=4, scale=2.0, noise=0.0).bind(2)
    assert prior.n_modes_ == 4
    for k in range(4):
        z = _draw(prior, 1000, seed=k, component=torch.full((1000,), k)).numpy()
        # Position t along the roll lies in [k/4, (k+1)/4): radius = scale * sqrt(t).
        radius = np.linalg.norm(z, axis=1)
        assert radius.min() >= 2.0 * np.sqrt(k / 4) - 1e-5
        assert radius.max() <= 2.0 * np.sqrt((k + 1) / 4) + 1e-5


@pytest.mark.parametrize(
    "prior, n_components, least",
    [
        (GaussianMixturePrior(n_modes=10), 2, 0.98),
        (GaussianMixturePrior(n_modes=6, radius=3.0), 4, 0.99),
        (GaussianMixturePrior(n_modes=3), 1, 0.85),
    ],
)
def test_component_densities_recover_the_component_of_each_draw(prior, n_components, least):
    prior = prior.bind(n_components)
    component = torch.arange(prior.n_modes_).repeat(500)
    z = _draw(prior, len(component), component=component)
    density = prior.component_log_density(z)
    assert density.shape == (len(z), prior.n_modes_)
    assert (density.argmax(dim=1) == component).float().mean() > least


def test_mixture_component_density_is_the_gaussian_log_density_up_to_a_constant():
    prior = GaussianMixturePrior(n_modes=3, radial_std=0.5, tangential_std=0.2).bind(2)
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    density = prior.component_log_density(z).numpy()
    for k in range(3):
        u = prior.means_[k] / np.linalg.norm(prior.means_[k])
        rotation = np.stack([u, [-u[1], u[0]]])
        covariance = rotation.T @ np.diag([0.5**2, 0.2**2]) @ rotation
        offset = z.numpy() - prior.means_[k]
        quadratic = np.einsum("ni,ij,nj->n", offset, np.linalg.inv(covariance), offset)
        np.testing.assert_allclose(density[:, k], -0.5 * quadratic, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["gaussian", "uniform", "swiss_roll"])
def test_priors_without_components_give_no_component_density(name):
    # The swiss roll's segments are so thin that the pinning phase's
    # gradients through their densities hurt the map (digits: 5-NN 0.82
    # against 0.90 without), so it offers none.
    prior = PRIORS[name]().bind(2)
    assert prior.component_log_density(torch.zeros(3, 2)) is None


def test_swiss_roll_requires_two_dimensions():
    for n_components in (1, 3):
        with pytest.raises(ValueError, match="two-dimensional"):
            SwissRollPrior().bind(n_components)


@pytest.mark.parametrize("name", ["gaussian", "uniform"])
def test_unimodal_priors_refuse_per_component_draws(name):
    prior = resolve_prior(name, 2)
    assert prior.n_modes_ == 1
    with pytest.raises(ValueError, match="single mode"):
        _draw(prior, 3, component=torch.zeros(3, dtype=torch.long))


def test_bind_does_not_mutate_the_unbound_prior():
    prior = GaussianMixturePrior(n_modes=4, scale=2.0)
    params = prior.get_params()
    bound = prior.bind(3)
    assert bound is not prior
    assert bound.n_components_ == 3
    assert bound.means_.shape == (4, 3)
    assert prior.get_params() == params
    assert not hasattr(prior, "n_components_")
    assert not hasattr(prior, "means_")
    assert not hasattr(prior, "std_")
    with pytest.raises(NotFittedError, match="bind"):
        prior.sample(3)
    # Binding again to another dimension gives an independent prior.
    other = prior.bind(2)
    assert other.means_.shape == (4, 2)
    assert bound.means_.shape == (4, 3)


def test_estimator_binds_a_copy_of_its_prior(make_aae, unit_data):
    prior = GaussianMixturePrior(n_modes=4, scale=2.0)
    aae = make_aae(n_components=3, prior=prior).fit(unit_data)
    assert aae.prior is prior
    assert not hasattr(prior, "n_components_")
    assert aae.prior_ is not prior
    assert aae.prior_.n_components_ == 3
    assert aae.prior_.n_modes_ == 4
    np.testing.assert_allclose(np.linalg.norm(aae.prior_.means_, axis=1), 4.0)


@pytest.mark.parametrize("cls", [GaussianPrior, UniformPrior, GaussianMixturePrior, SwissRollPrior])
def test_priors_clone_and_get_params(cls):
    prior = cls(scale=3.0)
    copy = clone(prior)
    assert copy is not prior
    assert copy.get_params() == prior.get_params()
    assert copy.set_params(scale=0.5).scale == 0.5
    assert prior.scale == 3.0
    # A bound prior clones into an unbound one.
    assert not hasattr(clone(prior.bind(2)), "n_components_")


def test_prior_hyperparameters_reachable_through_the_estimator():
    aae = AdversarialAutoencoder(prior=GaussianMixturePrior(n_modes=5))
    params = aae.get_params(deep=True)
    assert params["prior__n_modes"] == 5
    aae.set_params(prior__n_modes=3, prior__scale=2.0)
    assert aae.prior.n_modes == 3
    assert aae.prior.scale == 2.0
    cloned = clone(aae)
    assert cloned.prior is not aae.prior
    assert cloned.prior.get_params() == aae.prior.get_params()


def test_unknown_prior_name_errors():
    with pytest.raises(ValueError, match="Unknown prior 'cauchy'"):
        resolve_prior("cauchy", 2)
    with pytest.raises(TypeError, match="Prior instance"):
        resolve_prior(3.0, 2)


@pytest.mark.parametrize("n_components", [0, -1, 2.5, "2"])
def test_bind_rejects_bad_dimensions(n_components):
    with pytest.raises(ValueError, match="n_components must be a positive int"):
        GaussianPrior().bind(n_components)


@pytest.mark.parametrize(
    ("prior", "name"),
    [
        (GaussianPrior(scale=0.0), "scale"),
        (UniformPrior(scale=-1.0), "scale"),
        (GaussianMixturePrior(n_modes=0), "n_modes"),
        (GaussianMixturePrior(radial_std=-0.1), "radial_std"),
        (SwissRollPrior(turns=0), "turns"),
    ],
)
def test_bind_validates_hyperparameters(prior, name):
    with pytest.raises(ValueError, match=name):
        prior.bind(2)


@pytest.mark.parametrize("n_samples", [-1, 2.5, True])
def test_sample_rejects_bad_sizes(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        GaussianPrior().bind(2).sample(n_samples)


def test_custom_prior_subclass():
    class Ring(Prior):
        def __init__(self, radius=1.0):
            self.radius = radius

        def _build(self):
            self.std_ = self.radius / np.sqrt(2.0)

        def _draw(self, n_samples, generator, device, component):
            angle = 2 * np.pi * torch.rand(n_samples, generator=generator, device=device)
            return self.radius * torch.stack([angle.cos(), angle.sin()], dim=1)

    prior = Ring(radius=2.0).bind(2)
    Z = prior.sample(100, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 2.0, rtol=1e-5)


def test_device_cache_is_reused_and_left_out_of_pickles():
    prior = GaussianMixturePrior().bind(2)
    generator = torch.Generator().manual_seed(0)
    prior.draw(4, generator, torch.device("cpu"))
    cached = prior._on_device(torch.device("cpu"), means=prior.means_)
    assert cached is prior._on_device(torch.device("cpu"), means=prior.means_)
    restored = pickle.loads(pickle.dumps(prior))
    assert "_device_cache" not in restored.__dict__
    np.testing.assert_array_equal(
        restored.draw(4, torch.Generator().manual_seed(1), torch.device("cpu")),
        prior.draw(4, torch.Generator().manual_seed(1), torch.device("cpu")),
    )


def test_categorical_prior_draws_one_hot_vectors_and_activates_with_softmax():
    prior = CategoricalPrior().bind(5)
    z = _draw(prior, 4000)
    assert set(z.sum(dim=1).tolist()) == {1.0}
    assert set(z.unique().tolist()) == {0.0, 1.0}
    # Every category about equally often.
    np.testing.assert_allclose(z.mean(dim=0).numpy(), 0.2, atol=0.03)
    pinned = _draw(prior, 3, component=torch.tensor([4, 0, 2]))
    np.testing.assert_array_equal(pinned.argmax(dim=1).numpy(), [4, 0, 2])
    probabilities = prior.activate(torch.randn(7, 5))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(7))
    assert (probabilities > 0).all()


def test_categorical_prior_with_one_category_is_a_point_mass():
    # The trivial part of a clustering with n_clusters=1 (scikit-learn's checks fit those).
    prior = CategoricalPrior().bind(1)
    assert prior.n_modes_ == 1
    np.testing.assert_array_equal(prior.sample(4, random_state=0), np.ones((4, 1)))
    probabilities = prior.activate(torch.randn(3, 1))
    torch.testing.assert_close(probabilities, torch.ones(3, 1))


# ------------------------------------------------------------------ log densities
@pytest.mark.parametrize("n_components", [1, 2, 5])
def test_gaussian_log_prob_is_the_normal_density(n_components):
    prior = GaussianPrior(scale=1.7).bind(n_components)
    z = prior.sample(50, random_state=0) * 1.5
    expected = multivariate_normal(np.zeros(n_components), 1.7**2 * np.eye(n_components)).logpdf(z)
    got = prior.log_prob(torch.as_tensor(z, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, np.atleast_1d(expected), rtol=1e-10)


@pytest.mark.parametrize("n_components, n_modes", [(1, 4), (2, 4), (3, 4), (1, 3), (2, 1)])
def test_mixture_log_prob_is_the_mean_of_its_component_densities(n_components, n_modes):
    # n_modes=3 in 1-D and a single mode put a mean at the origin: an isotropic component.
    prior = GaussianMixturePrior(n_modes=n_modes, radial_std=0.3, tangential_std=0.1)
    prior = prior.bind(n_components)
    z = prior.sample(50, random_state=0)
    sr, st = 0.3 * prior.scale, 0.1 * prior.scale
    densities = []
    for mean in prior.means_:
        norm = np.linalg.norm(mean)
        u = mean / norm if norm > 0 else np.zeros_like(mean)
        cov = st**2 * np.eye(n_components) + (sr**2 - st**2) * np.outer(u, u)
        densities.append(multivariate_normal(mean, cov).pdf(z))
    expected = np.log(np.mean(densities, axis=0))
    got = prior.log_prob(torch.as_tensor(z, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)  # the means are held in float32


def test_uniform_log_prob_is_flat_inside_the_cube_and_minus_infinity_outside():
    prior = UniformPrior(scale=2.0).bind(3)
    z = torch.tensor([[0.0, 1.9, -2.0], [0.0, 2.1, 0.0]])
    np.testing.assert_allclose(prior.log_prob(z).numpy(), [-3 * np.log(4.0), -np.inf])


@pytest.mark.parametrize("name", ["swiss_roll", "categorical"])
def test_priors_without_a_density_say_so(name):
    prior = resolve_prior(name, 2)
    assert prior.log_prob(torch.zeros(3, 2)) is None

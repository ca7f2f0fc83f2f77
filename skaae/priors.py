"""Priors p(z) that the adversarial regulariser pushes the codes towards.

A prior is declared unbound (its hyperparameters only, like an unfitted
scikit-learn estimator) and bound to a code dimension at fit time with
:meth:`Prior.bind`; the estimator keeps the bound copy as ``prior_``. To add a
prior, subclass :class:`Prior`, implement ``_build`` and ``_draw``, and add
one entry to :data:`PRIORS`.
"""

import math
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._prior_base import Prior

Prior.__module__ = __name__  # its public home

__all__ = [
    "PRIORS",
    "CategoricalPrior",
    "GaussianMixturePrior",
    "GaussianPrior",
    "Prior",
    "SwissRollPrior",
    "UniformPrior",
    "resolve_prior",
]


class GaussianPrior(Prior):
    """Isotropic Gaussian prior N(0, scale^2 I).

    Parameters
    ----------
    scale : float, default=1.0
        Standard deviation of every coordinate.
    """

    _parameter_constraints = {"scale": [Interval(numbers.Real, 0, None, closed="neither")]}

    def __init__(self, scale=1.0):
        self.scale = scale

    def _build(self):
        self.std_ = float(self.scale)

    def _draw(self, n_samples, generator, device, component):
        shape = (n_samples, self.n_components_)
        return self.scale * torch.randn(shape, generator=generator, device=device)

    def log_prob(self, z):
        d = self.n_components_
        normaliser = d * (0.5 * math.log(2 * math.pi) + math.log(self.scale))
        return -0.5 * z.square().sum(dim=1) / self.scale**2 - normaliser


class UniformPrior(Prior):
    """Uniform prior on the hypercube [-scale, scale]^d.

    Parameters
    ----------
    scale : float, default=1.0
        Half-width of the cube.
    """

    _parameter_constraints = {"scale": [Interval(numbers.Real, 0, None, closed="neither")]}

    def __init__(self, scale=1.0):
        self.scale = scale

    def _build(self):
        self.std_ = float(self.scale) / math.sqrt(3.0)

    def _draw(self, n_samples, generator, device, component):
        shape = (n_samples, self.n_components_)
        return self.scale * (2.0 * torch.rand(shape, generator=generator, device=device) - 1.0)

    def log_prob(self, z):
        inside = (z.abs() <= self.scale).all(dim=1)
        density = -self.n_components_ * math.log(2.0 * self.scale)
        return torch.where(inside, density, -math.inf).to(z.dtype)


class GaussianMixturePrior(Prior):
    """Mixture of equally weighted Gaussians, placed as in the paper.

    In two dimensions the ``n_modes`` means sit evenly on a circle of radius
    ``radius * scale`` and each component is stretched along its radius
    (standard deviation ``radial_std * scale``) and narrow across it
    (``tangential_std * scale``): the paper's Fig. 4. In ``d > 2`` dimensions
    the components are dealt round-robin to the ``d // 2`` coordinate planes
    (dimensions 0-1, 2-3, ...) and spread evenly on a circle within each
    plane, so that components in different planes are orthogonal; the
    stretch follows each mean's direction. In one dimension the means are
    evenly spaced on ``[-radius * scale, radius * scale]``.

    Parameters
    ----------
    n_modes : int, default=10
        Number of components.
    scale : float, default=1.0
        Overall scale of the prior (multiplies every length below).
    radius : float, default=2.0
        Distance of each mean from the origin.
    radial_std : float, default=0.5
        Standard deviation along the mean's direction.
    tangential_std : float, default=0.2
        Standard deviation in every other direction; thinner arms are harder
        for an encoder to fill (see :doc:`/user_guide/priors`).
    means : array-like of shape (n_modes, n_components) or None, default=None
        Explicit means (already scaled); overrides the placement above.

    Attributes
    ----------
    means_ : ndarray of shape (n_modes, n_components_)
        Means of the components.
    """

    _parameter_constraints = {
        "n_modes": [Interval(numbers.Integral, 1, None, closed="left")],
        "scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "radius": [Interval(numbers.Real, 0, None, closed="neither")],
        "radial_std": [Interval(numbers.Real, 0, None, closed="neither")],
        "tangential_std": [Interval(numbers.Real, 0, None, closed="neither")],
        "means": ["array-like", None],
    }

    def __init__(
        self,
        n_modes=10,
        scale=1.0,
        radius=2.0,
        radial_std=0.5,
        tangential_std=0.2,
        means=None,
    ):
        self.n_modes = n_modes
        self.scale = scale
        self.radius = radius
        self.radial_std = radial_std
        self.tangential_std = tangential_std
        self.means = means

    def _build(self):
        if self.means is not None:
            means = np.asarray(self.means, dtype=np.float64)
            if means.shape != (self.n_modes, self.n_components_):
                raise ValueError(
                    f"means must have shape (n_modes, n_components) = "
                    f"{(self.n_modes, self.n_components_)}, got {means.shape}."
                )
        else:
            means = self.radius * self.scale * _mode_directions(self.n_modes, self.n_components_)
        self.means_ = means
        self.n_modes_ = int(self.n_modes)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        self._directions = np.divide(means, norms, out=np.zeros_like(means), where=norms > 0)
        sr, st = self.radial_std * self.scale, self.tangential_std * self.scale
        # Per-dimension variance of the mixture: spread of the means plus the
        # average component variance (one radial direction, d-1 tangential).
        d = self.n_components_
        within = (sr**2 + (d - 1) * st**2) / d
        self.std_ = float(math.sqrt(means.var(axis=0).mean() + within))

    def _draw(self, n_samples, generator, device, component):
        means, directions = self._on_device(device, means=self.means_, directions=self._directions)
        if component is None:
            component = torch.randint(
                self.n_modes_, (n_samples,), generator=generator, device=device
            )
        eps = torch.randn((n_samples, self.n_components_), generator=generator, device=device)
        u = directions[component]
        sr, st = self.radial_std * self.scale, self.tangential_std * self.scale
        along = (eps * u).sum(dim=1, keepdim=True)
        # Tangential noise everywhere, then stretch its component along u.
        return means[component] + st * eps + (sr - st) * along * u

    def component_log_density(self, z):
        means, directions = self._on_device(
            z.device, means=self.means_, directions=self._directions
        )
        sr, st = self.radial_std * self.scale, self.tangential_std * self.scale
        offset = z[:, None, :] - means[None].to(z.dtype)
        along = (offset * directions[None].to(z.dtype)).sum(dim=2)
        across = offset.square().sum(dim=2) - along.square()
        density = -0.5 * (along.square() / sr**2 + across / st**2)
        if not self._directions.any(axis=1).all():
            # A mean at the origin has no direction: that component is N(0, st^2 I), whose
            # normaliser differs from the others' (which the caller's constant holds).
            isotropic = ~self._directions.any(axis=1)
            (isotropic,) = self._on_device(z.device, isotropic=isotropic)
            density = density - isotropic.to(z.dtype) * math.log(st / sr)
        return density

    def log_prob(self, z):
        sr, st = self.radial_std * self.scale, self.tangential_std * self.scale
        d = self.n_components_
        # A component: a Gaussian of std sr along its direction, st across (d - 1 dims);
        # component_log_density corrects the components without a direction.
        normaliser = 0.5 * d * math.log(2 * math.pi) + math.log(sr) + (d - 1) * math.log(st)
        mixed = torch.logsumexp(self.component_log_density(z), dim=1) - math.log(self.n_modes_)
        return mixed - normaliser


class SwissRollPrior(Prior):
    """Two-dimensional swiss roll, uniform along the spiral (the paper's Fig. 2).

    A point is drawn at position ``t`` uniform in [0, 1) along the roll, at
    angle ``turns * 2 pi * sqrt(t)`` and radius ``scale * sqrt(t)``, plus
    Gaussian noise of standard deviation ``noise * scale``. Segment ``k`` of
    ``n_modes`` is the part with ``t`` in ``[k / n_modes, (k + 1) / n_modes)``.

    Parameters
    ----------
    n_modes : int, default=10
        Number of equal segments that label regularisation can pin classes to.
    scale : float, default=2.0
        Outer radius of the roll.
    turns : float, default=1.5
        Number of turns of the spiral.
    noise : float, default=0.02
        Thickness of the roll relative to ``scale``.
    """

    _parameter_constraints = {
        "n_modes": [Interval(numbers.Integral, 1, None, closed="left")],
        "scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "turns": [Interval(numbers.Real, 0, None, closed="neither")],
        "noise": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, n_modes=10, scale=2.0, turns=1.5, noise=0.02):
        self.n_modes = n_modes
        self.scale = scale
        self.turns = turns
        self.noise = noise

    def _build(self):
        if self.n_components_ != 2:
            raise ValueError(
                f"The swiss roll prior is two-dimensional; got n_components={self.n_components_}."
            )
        self.n_modes_ = int(self.n_modes)
        grid = self._draw(20000, torch.Generator().manual_seed(0), torch.device("cpu"), None)
        self.std_ = float(grid.var(dim=0).mean().sqrt())

    def _draw(self, n_samples, generator, device, component):
        u = torch.rand(n_samples, generator=generator, device=device)
        t = u if component is None else (component.to(u.dtype) + u) / self.n_modes_
        root = t.sqrt()
        angle = 2.0 * math.pi * self.turns * root
        points = torch.stack([root * torch.cos(angle), root * torch.sin(angle)], dim=1)
        eps = torch.randn((n_samples, 2), generator=generator, device=device)
        return self.scale * (points + self.noise * eps)


class CategoricalPrior(Prior):
    """Categorical prior Cat(1/k): one-hot vectors of the ``k = n_components`` categories.

    The paper's prior for the label (or cluster) part of the code: the
    encoder's raw outputs for the part pass through a softmax
    (:meth:`activate`), and the adversary pushes those probability vectors
    towards one-hot vectors drawn uniformly, so that each input is assigned
    to one category with confidence and the categories are used equally
    often. Component ``k`` is the one-hot vector of category ``k``. With a
    single category (``k = 1``) the prior is the point mass on ``[1]``: a
    trivial part, as in a clustering with ``n_clusters=1``.

    Parameters
    ----------
    weights : array-like of shape (k,) or None, default=None
        The probability of each category (normalised to sum to 1); None:
        1/k each. ``AAEClassifier`` sets the shares of its labelled classes
        when they differ, so that an imbalanced problem is not pushed to
        predict every class equally often.
    """

    categorical = True
    _parameter_constraints = {"weights": ["array-like", None]}
    weights = None  # (what a prior pickled before the parameter existed has)

    def __init__(self, weights=None):
        self.weights = weights

    def _build(self):
        k = self.n_components_
        self.n_modes_ = k
        if self.weights is None:
            self.std_ = float(math.sqrt(max((1.0 / k) * (1.0 - 1.0 / k), 1e-12)))
            return
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != (k,) or not np.all(weights >= 0) or weights.sum() <= 0:
            raise ValueError(
                f"CategoricalPrior's weights must be {k} non-negative numbers, not all 0; "
                f"got {self.weights!r}."
            )
        self._probabilities = torch.as_tensor(weights / weights.sum(), dtype=torch.float32)
        shares = self._probabilities.double()
        self.std_ = float(math.sqrt(max(float((shares * (1 - shares)).mean()), 1e-12)))

    def _draw(self, n_samples, generator, device, component):
        k = self.n_components_
        if component is None:
            if self.weights is None:
                component = torch.randint(k, (n_samples,), generator=generator, device=device)
            else:
                probabilities = self._probabilities.to(device)
                component = torch.multinomial(
                    probabilities, n_samples, replacement=True, generator=generator
                )
        return torch.nn.functional.one_hot(component, k).to(torch.float32)

    def activate(self, raw):
        return torch.softmax(raw, dim=1)


PRIORS = {
    "gaussian": GaussianPrior,
    "categorical": CategoricalPrior,
    "mixture": GaussianMixturePrior,
    "swiss_roll": SwissRollPrior,
    "uniform": UniformPrior,
}
"""Names accepted by ``prior=``, each mapped to its :class:`Prior` class."""


def resolve_prior(prior, n_components):
    """Bind a prior given by name or instance to codes of ``n_components`` dimensions.

    Parameters
    ----------
    prior : str or Prior
        A key of :data:`PRIORS` (default hyperparameters) or an instance.
    n_components : int
        Dimension of the codes.

    Returns
    -------
    prior : Prior
        A new bound prior.
    """
    if isinstance(prior, str):
        if prior not in PRIORS:
            raise ValueError(f"Unknown prior {prior!r}; choose one of {sorted(PRIORS)}.")
        prior = PRIORS[prior]()
    if not isinstance(prior, Prior):
        raise TypeError(f"prior must be a name or a Prior instance, got {type(prior).__name__}.")
    return prior.bind(n_components)


def _mode_directions(n_modes, n_dims):
    """Unit-radius means: on a circle per coordinate plane (see GaussianMixturePrior)."""
    if n_dims == 1:
        if n_modes == 1:
            return np.zeros((1, 1))
        return np.linspace(-1.0, 1.0, n_modes)[:, None]
    n_planes = n_dims // 2
    means = np.zeros((n_modes, n_dims))
    for plane in range(n_planes):
        members = np.arange(plane, n_modes, n_planes)
        angles = 2.0 * np.pi * np.arange(len(members)) / max(len(members), 1)
        means[members, 2 * plane] = np.cos(angles)
        means[members, 2 * plane + 1] = np.sin(angles)
    return means

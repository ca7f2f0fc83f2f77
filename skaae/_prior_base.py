"""The base class of the priors: binding to a code dimension, drawing, densities.

The priors themselves, and the registry of their names, are in
:mod:`skaae.priors`, which re-exports :class:`Prior`.
"""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_random_state

__all__ = ["Prior"]


class Prior(BaseEstimator):
    """Base class of the priors p(z).

    Subclasses declare their hyperparameters as keyword arguments of
    ``__init__`` (so ``get_params``, ``clone`` and grid search work on them),
    and implement:

    - ``_build(self)``: precompute whatever sampling needs once the code
      dimension ``n_components_`` is known (e.g. the mixture's means); raise
      ``ValueError`` for a dimension the prior does not support.
    - ``_draw(self, n_samples, generator, device, component)``: return a
      float32 tensor of shape ``(n_samples, n_components_)`` drawn with the
      given ``torch.Generator``. When the prior has ``n_modes_ > 1``,
      ``component`` may be a long tensor of shape ``(n_samples,)`` asking for
      draws from given components (used by label regularisation); ``None``
      means draws from the whole prior.

    A prior of several components may implement
    ``component_log_density(z)`` (the mixture does): then label
    regularisation also pins the labelled codes to their class's component
    through it, and makes neighbouring rows agree on their component (see
    :func:`skaae.regularisers.component_views`).

    A prior with a density implements ``log_prob(z)``, the log density of
    codes (the Gaussian, uniform and mixture priors do): models that need p(z) itself,
    such as a VAE's Monte-Carlo KL divergence, use it. The AAE never does:
    its adversary needs only draws.

    A prior whose codes live on a constrained set overrides ``activate``,
    which maps the encoder's raw outputs for this part to codes (the
    categorical prior's softmax). A prior whose codes are probabilities
    rather than positions sets the class attribute ``categorical = True``:
    the neighbourhood term of the training then leaves its part out of the
    map and gives it the category terms instead (consistency, balance,
    smoothness).

    Attributes
    ----------
    n_components_ : int
        Dimension of the codes, set by :meth:`bind`.
    n_modes_ : int
        Number of components (mixture) or segments (swiss roll) that
        ``component`` may index; 1 for a unimodal prior.
    std_ : float
        Overall standard deviation of the prior (square root of the mean
        per-dimension variance), used to put distances on a common scale.
    """

    # Constraints checked by bind(); a subclass may declare its own
    # (hyperparameters it does not list are not checked).
    _parameter_constraints = {}

    categorical = False

    def bind(self, n_components):
        """Return a copy of this prior bound to codes of ``n_components`` dimensions.

        Parameters
        ----------
        n_components : int
            Dimension of the latent codes.

        Returns
        -------
        prior : Prior
            A fitted copy; ``self`` is left unchanged.
        """
        if not isinstance(n_components, numbers.Integral) or n_components < 1:
            raise ValueError(f"n_components must be a positive int, got {n_components!r}.")
        self._validate_params()
        bound = clone(self)
        bound.n_components_ = int(n_components)
        bound.n_modes_ = 1
        bound._build()
        return bound

    def _build(self):
        """Precompute what sampling needs; override in subclasses."""

    def sample(self, n_samples=1, random_state=None, *, component=None):
        """Draw samples from the prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw, for reproducible samples.
        component : int or array-like of shape (n_samples,), default=None
            Draw from these components (mixture) or segments (swiss roll),
            numbered from 0 to ``n_modes_ - 1``; None draws from the whole prior.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components_)
            Samples from the prior.
        """
        if not hasattr(self, "n_components_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not bound to a code dimension yet; call "
                "bind(n_components) or use the fitted estimator's prior_."
            )
        check_n_samples(n_samples)
        if component is not None:
            component = torch.as_tensor(self._check_component(component, n_samples))
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator().manual_seed(int(seed))
        Z = self.draw(n_samples, generator, torch.device("cpu"), component)
        return Z.numpy().astype(np.float64)

    def _check_component(self, component, n_samples):
        """``component`` as an int64 array of ``n_samples`` valid component numbers."""
        values = np.asarray(component)
        if values.ndim == 0:
            values = np.full(n_samples, values)
        if values.dtype.kind not in "iu" or values.shape != (n_samples,):
            raise ValueError(
                f"component must be an int or {n_samples} ints, got {np.asarray(component)!r}."
            )
        if values.size and (values.min() < 0 or values.max() >= self.n_modes_):
            raise ValueError(
                f"component must lie in [0, {self.n_modes_ - 1}] for this "
                f"{type(self).__name__} with {self.n_modes_} modes."
            )
        return values.astype(np.int64)

    def draw(self, n_samples, generator, device, component=None):
        """Draw a float32 tensor of samples on ``device`` (the trainer's entry point).

        Parameters
        ----------
        n_samples : int
            Number of samples.
        generator : torch.Generator
            Random generator living on ``device``.
        device : torch.device
            Where the samples are made.
        component : torch.LongTensor of shape (n_samples,) or None, default=None
            Components (or segments) to draw each sample from; ``None`` draws
            from the whole prior.

        Returns
        -------
        Z : torch.Tensor of shape (n_samples, n_components_)
        """
        if component is not None and self.n_modes_ == 1:
            raise ValueError(
                f"{type(self).__name__} has a single mode; it cannot draw per component."
            )
        return self._draw(n_samples, generator, device, component)

    def _draw(self, n_samples, generator, device, component):
        raise NotImplementedError

    def component_log_density(self, z):
        """Log-density of each code under each component, up to a constant shared by all.

        ``log_softmax`` of its rows gives ``p(component | z)`` under the prior.
        None for a prior that does not implement it (the default).

        Parameters
        ----------
        z : torch.Tensor of shape (n_samples, n_components_)
            Codes, on any device.

        Returns
        -------
        log_density : torch.Tensor of shape (n_samples, n_modes_) or None
        """
        return None

    def log_prob(self, z):
        """Log density of each code under the prior; None for a prior without one (the default).

        Parameters
        ----------
        z : torch.Tensor of shape (n_samples, n_components_)
            Codes, on any device.

        Returns
        -------
        log_density : torch.Tensor of shape (n_samples,) or None
        """
        return None

    def activate(self, raw):
        """Map the encoder's raw outputs for this part to codes (identity by default).

        Parameters
        ----------
        raw : torch.Tensor of shape (n_samples, n_components_)
            The encoder's outputs for this part.

        Returns
        -------
        codes : torch.Tensor of shape (n_samples, n_components_)
        """
        return raw

    def _on_device(self, device, **arrays):
        """The given arrays as float32 tensors on ``device``, made once per device.

        The trainer draws from the prior every mini-batch; caching keeps that
        from copying the same constants to the device each time.
        """
        cache = self.__dict__.setdefault("_device_cache", {})
        key = (str(device), *arrays)
        if key not in cache:
            cache[key] = tuple(
                torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)
                for a in arrays.values()
            )
        return cache[key]

    def __getstate__(self):
        # The cache may hold CUDA tensors; a pickle must load on any machine.
        state = dict(super().__getstate__())
        state.pop("_device_cache", None)
        return state


def check_n_samples(n_samples):
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative int, got {n_samples!r}.")

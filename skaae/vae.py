"""The variational autoencoder, the AAE's classic sibling, as a scikit-learn transformer."""

import numbers

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, check_random_state

from ._base import BaseAdversarialEstimator
from ._docs import fill_docs
from ._network_mixin import NetworkMixin
from ._training_mixin import TrainingMixin
from .model import AutoencoderModel, LatentPart
from .nn import GaussianEncoder, make_mlp
from .priors import resolve_prior
from .regularisers import KLDivergence

__all__ = ["VariationalAutoencoder"]

_MODEL_PARAMETERS = (
    "n_components",
    "prior",
    "hidden_layer_sizes",
    "reconstruction_loss",
    "activation",
    "learning_rate",
)


@fill_docs
class VariationalAutoencoder(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    TrainingMixin,
    NetworkMixin,
    BaseAdversarialEstimator,
):
    """Variational autoencoder (Kingma and Welling, 2014), beside the adversarial one.

    The same model and training loop as :class:`AdversarialAutoencoder`,
    with the KL divergence of a Gaussian posterior q(z|x) from the prior in
    place of the adversary: training maximises the evidence lower bound. The
    KL is in closed form for the Gaussian prior and a Monte-Carlo estimate
    for any prior with a density (the mixture), as in the AAE paper's Figure
    2, which compares the two. Unlike the AAE it needs the prior's density,
    so the swiss roll (no density) and the uniform prior (infinite KL from a
    Gaussian posterior) are refused.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the code.
    prior : {"gaussian", "mixture"} or Prior, default="gaussian"
        The prior p(z): a name or a :class:`~skaae.priors.Prior` instance
        with a ``log_prob``.
    beta : float, default=1.0
        Weight of the KL divergence; 1 is the evidence lower bound, larger
        values trade reconstruction for a closer match to the prior.
    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Hidden layers of the encoder; the decoder mirrors them.
    reconstruction_loss : {"auto", "bce", "mse"}, default="auto"
        As in :class:`AdversarialAutoencoder`: BCE for data in [0, 1], MSE on
        standardised features otherwise. The losses are means per feature,
        so the KL is divided by ``n_features_in_`` to keep the ELBO's balance.
    activation : {"silu", "relu", "leaky_relu", "tanh"}, default="silu"
        Activation of the hidden layers.
    learning_rate : float, default=3e-3
        Adam step size.
    %(training_parameters)s

    Attributes
    ----------
    prior_ : Prior
        The prior bound to ``n_components``.
    encoder_, decoder_ : torch.nn.Module
        The trained networks (the encoder outputs the posterior's mean and
        log-variance).
    %(fitted_attributes)s

    See Also
    --------
    AdversarialAutoencoder : The same model with an adversary on the code.

    References
    ----------
    D. P. Kingma, M. Welling. "Auto-Encoding Variational Bayes". ICLR, 2014.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import VariationalAutoencoder
    >>> X = load_digits().data / 16.0
    >>> vae = VariationalAutoencoder(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> vae.transform(X).shape
    (1797, 2)
    """

    _module_attributes = ("encoder_", "decoder_")
    _parameter_constraints = {
        **{
            name: BaseAdversarialEstimator._model_parameter_constraints[name]
            for name in _MODEL_PARAMETERS
        },
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        **BaseAdversarialEstimator._common_parameter_constraints,
    }

    def __init__(
        self,
        n_components=2,
        *,
        prior="gaussian",
        beta=1.0,
        hidden_layer_sizes=(256, 256),
        reconstruction_loss="auto",
        activation="silu",
        learning_rate=3e-3,
        batch_size="auto",
        max_iter="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
        max_grad_norm=None,
        on_divergence="raise",
        callbacks=None,
        precision="float32",
        average_weights=False,
        augmentation=None,
        table="auto",
    ):
        self.n_components = n_components
        self.prior = prior
        self.beta = beta
        self.hidden_layer_sizes = hidden_layer_sizes
        self.reconstruction_loss = reconstruction_loss
        self.activation = activation
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.max_grad_norm = max_grad_norm
        self.on_divergence = on_divergence
        self.callbacks = callbacks
        self.precision = precision
        self.average_weights = average_weights
        self.augmentation = augmentation
        self.table = table

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the variational autoencoder on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse matrices and memmaps are streamed, as in
            :meth:`AdversarialAutoencoder.fit`).
        y : None
            Ignored.

        Returns
        -------
        self : VariationalAutoencoder
            The fitted estimator.
        """
        self._check_prior_density()
        return self._fit(X, None)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on X, continuing from the current model.

        As :meth:`AdversarialAutoencoder.partial_fit`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.

        Returns
        -------
        self : VariationalAutoencoder
            The updated estimator.
        """
        self._check_prior_density()
        return self._partial_fit(X, None)

    def transform(self, X):
        """Encode X into codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes, in the dtype of X (float32 or float64): the mean of the posterior q(z|x).
        """
        return self._encode(X)

    def inverse_transform(self, X):
        """Decode codes back to data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. from ``transform`` or ``prior_.sample``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoded data (the decoder's mean).
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        return self._rows(self._decode(Z), Z.dtype)

    def sample(self, n_samples=1, random_state=None, *, conditions=None):
        """Draw codes from the prior and decode them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the prior draws.
        conditions : dict or None, default=None
            For a model fitted on a table: ``{column: value}`` of categorical
            columns of X that every sample holds (rejection sampling, see
            :meth:`AdversarialAutoencoder.sample`).

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Generated samples (rows of the table for a model fitted on one).
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)

        def draw(n):
            Z = self.prior_.sample(n, random_state=rng)
            return self._decode(Z), Z.dtype

        return self._sample_rows(draw, n_samples, rng, conditions)

    # ------------------------------------------------------------- the model
    def _check_prior_density(self):
        """Refuse, before fitting, a prior whose KL from a Gaussian posterior cannot be taken."""
        try:
            KLDivergence(self.beta, resolve_prior(self.prior, self.n_components))
        except ValueError as error:
            raise ValueError(
                f"VariationalAutoencoder cannot use prior={self.prior!r}: {error}"
            ) from None

    def _set_classes(self, y, n_samples):
        """A VAE has no use for labels."""

    def _label_indices_for_fit(self, y, method="fit"):
        return None

    def _build_networks(self):
        """Set a fresh ``model_``: a Gaussian encoder, a decoder and one code part."""
        structure, n_features = self._fitted_structure, self._n_model_features()
        n_components, activation = structure["n_components"], structure["activation"]
        hidden = self._hidden_layer_sizes()
        encoder = GaussianEncoder(n_features, hidden, n_components, activation)
        decoder = make_mlp(n_components, hidden[::-1], n_features, activation)
        part = LatentPart(self.prior_, None, slice(0, n_components))
        self.model_ = AutoencoderModel(encoder, decoder, [part], self._reconstruction())

    def _regularisers(self):
        """The KL divergence, per feature as the reconstruction loss is (the ELBO's balance)."""
        return [KLDivergence(self.beta / self.n_features_in_, self.prior_)]

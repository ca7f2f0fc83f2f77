"""The adversarial autoencoder as a scikit-learn transformer."""

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted, check_random_state

from ._base import BaseAdversarialEstimator, ModelPart, _layer_sizes
from ._docs import fill_docs
from ._label_mixin import LabelMixin
from ._network_mixin import NetworkMixin
from ._training_mixin import TrainingMixin
from .model import AutoencoderModel, LatentPart
from .nn import LabelConditioning, make_encoder, make_mlp
from .regularisers import AdversarialPrior, ComponentPinning, Neighbourhood

__all__ = ["AdversarialAutoencoder"]


@fill_docs
class AdversarialAutoencoder(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    LabelMixin,
    TrainingMixin,
    NetworkMixin,
    BaseAdversarialEstimator,
):
    """Adversarial autoencoder (Makhzani et al., 2016).

    An autoencoder whose codes are pushed to follow a chosen prior p(z) by a
    discriminator on the code. Each mini-batch trains in three phases:
    reconstruction (encoder and decoder), discriminator (prior draws vs.
    codes) and generator (the encoder learns to fool the discriminator).
    Afterwards ``transform`` maps data to codes distributed like the prior,
    ``inverse_transform`` decodes codes, and ``sample`` decodes prior draws.

    With labels, ``fit(X, y)`` trains one of the paper's supervised variants
    (``y == -1`` marks unlabelled samples):

    - label regularisation (Sec. 2.3), with a prior that has components (a
      mixture, or the swiss roll's segments): the codes of class
      ``classes_[k]`` are pushed to component ``k`` and unlabelled codes to
      the whole prior; a few percent of labels suffice.
    - ``conditional=True`` (Sec. 4): the one-hot label is fed to the decoder,
      so the code learns the style alone; ``sample(n, y=...)`` draws samples
      of a class and ``inverse_transform(Z, y=...)`` renders one style in any
      class. Every sample needs its label.

    With a prior of one mode and ``conditional=False``, ``y`` is ignored, so
    the estimator fits into a ``Pipeline`` before a classifier.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the code.
    prior : {"gaussian", "mixture", "swiss_roll", "uniform", "categorical"} or Prior, \
            default="gaussian"
        The prior p(z): a name (default hyperparameters) or a
        :class:`~skaae.priors.Prior` instance such as
        ``GaussianMixturePrior(n_modes=5, scale=2.0)``. ``"swiss_roll"``
        needs ``n_components=2``; with ``"categorical"`` the codes are
        softmax probabilities over ``n_components`` categories.
    conditional : bool, default=False
        Feed the one-hot label to the decoder (the paper's supervised AAE):
        ``fit`` needs ``y``, and ``inverse_transform`` and ``sample`` take
        it.
    %(adversarial_parameters)s

    Attributes
    ----------
    prior_ : Prior
        The prior bound to ``n_components``; ``prior_.sample(n)`` draws codes.
    classes_ : ndarray of shape (n_classes,)
        The class labels, when ``fit`` used ``y`` (label regularisation or
        ``conditional=True``); class ``classes_[k]`` is the prior's
        component ``k``.
    encoder_, decoder_, discriminator_ : torch.nn.Module
        The trained networks.
    %(fitted_attributes)s

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    sklearn.neural_network.MLPRegressor : A plain neural network.

    Notes
    -----
    Ctrl-C during ``fit`` stops training and keeps the model of the last
    finished epoch (see :doc:`/user_guide/stability`). A ``numpy.memmap``
    stays on disk, read about 64 MiB at a time (see
    :doc:`/user_guide/out_of_core`). Torch's thread count is chosen for each
    call and given back afterwards; ``SKAAE_NUM_THREADS=n`` fixes it (see
    :doc:`/user_guide/model_selection`).

    References
    ----------
    A. Makhzani, J. Shlens, N. Jaitly, I. Goodfellow, B. Frey. "Adversarial
    Autoencoders". ICLR workshop, 2016. arXiv:1511.05644.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AdversarialAutoencoder
    >>> X = load_digits().data / 16.0
    >>> aae = AdversarialAutoencoder(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> aae.transform(X).shape
    (1797, 2)
    >>> aae.sample(3, random_state=0).shape
    (3, 64)
    """

    _module_attributes = ("encoder_", "decoder_", "discriminator_")
    discriminator_ = ModelPart("discriminators.0", "The discriminator of the code.")
    _structural_parameters = (
        *BaseAdversarialEstimator._structural_parameters,
        "conditional",
        "posterior",
        "discriminator_layer_sizes",
    )
    _parameter_constraints = {
        **BaseAdversarialEstimator._model_parameter_constraints,
        "conditional": ["boolean"],
        **BaseAdversarialEstimator._common_parameter_constraints,
    }

    def __init__(
        self,
        n_components=2,
        *,
        prior="gaussian",
        conditional=False,
        posterior="deterministic",
        hidden_layer_sizes="auto",
        discriminator_layer_sizes=(64, 64),
        reconstruction_loss="auto",
        activation="silu",
        learning_rate=3e-3,
        discriminator_learning_rate=1e-3,
        adversarial_weight="auto",
        discriminator_noise=0.3,
        neighbor_weight="auto",
        n_neighbors=5,
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
        average_weights="auto",
        augmentation=None,
        table="auto",
    ):
        self.n_components = n_components
        self.prior = prior
        self.conditional = conditional
        self.posterior = posterior
        self.hidden_layer_sizes = hidden_layer_sizes
        self.discriminator_layer_sizes = discriminator_layer_sizes
        self.reconstruction_loss = reconstruction_loss
        self.activation = activation
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.adversarial_weight = adversarial_weight
        self.discriminator_noise = discriminator_noise
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
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

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the adversarial autoencoder on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse matrices are densified one mini-batch at a
            time. A ``numpy.memmap`` (e.g. from ``np.load(path,
            mmap_mode="r")``) stays on disk: it is validated and summarised
            in one chunked pass and read a window of blocks at a time, so
            memory use does not grow with its size (see Notes).
        y : array-like of shape (n_samples,) or None, default=None
            Class labels, -1 for unlabelled samples: label regularisation with
            a prior that has components, the decoder's condition with
            ``conditional=True`` (which needs every label); ignored otherwise.
            Labels are held in memory (one integer per sample) even when X
            is a memmap.

        Returns
        -------
        self : AdversarialAutoencoder
            The fitted estimator.
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on X, continuing from the current model.

        The first call (on an unfitted estimator) fixes from its chunk the
        reconstruction loss, the input scaling of the MSE loss and, with
        labels, ``classes_``: make the first chunk representative, with a
        sample of every class (a label it did not see raises later; a
        conditional model needs ``y`` at every call). Later calls run one
        epoch each with the same optimiser state; ``n_iter_`` counts the
        calls, and ``max_iter``, ``warm_start`` and ``early_stopping`` play
        no part.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data; sparse matrices and memmaps are
            streamed as in :meth:`fit`.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels of the chunk, -1 for unlabelled samples (see above);
            ignored when the model has no use for labels.

        Returns
        -------
        self : AdversarialAutoencoder
            The updated estimator.
        """
        return self._partial_fit(X, y)

    # ------------------------------------------------------------- inference
    def transform(self, X):
        """Encode X into codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes, in the dtype of X (float32 or float64): f(x) for a
            deterministic encoder, the posterior mean for a stochastic one
            (see ``posterior``).
        """
        return self._encode(X)

    def inverse_transform(self, X, y=None):
        """Decode codes back to data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. from ``transform`` or ``prior_.sample``.
        y : label, array-like of shape (n_samples,) or None, default=None
            With ``conditional=True``, the class to render each code in (one
            label for every row, or one per row); needed there, refused
            otherwise.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoded data: probabilities in [0, 1] for the BCE loss,
            data in the original units for the MSE loss.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        conditions = self._decoder_conditions(y, Z.shape[0])
        return self._rows(self._decode(Z, conditions), Z.dtype)

    def sample(self, n_samples=1, random_state=None, *, y=None, conditions=None):
        """Draw codes from the prior and decode them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the prior draws.
        y : label, array-like of shape (n_samples,) or None, default=None
            Samples of these classes (one label for all, or one per sample),
            for a model fitted with labels: with ``conditional=True`` the
            label goes to the decoder (None: classes drawn uniformly); with
            label regularisation the code is drawn from the class's
            component of the prior (None: from the whole prior).
        conditions : dict or None, default=None
            For a model fitted on a table: ``{column: value}`` of categorical
            columns of X that every sample holds, e.g.
            ``{"contract": "Two year"}``. Rows are drawn from the model and
            kept when they hold the values (rejection sampling), so the
            samples follow the model's distribution given the condition; a
            value the model makes too rare to reach raises a ValueError.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Generated samples; rows of the table for a model fitted on one
            (see ``table``), with categories and missing values drawn from
            the decoder's probabilities.
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        if y is not None and not (self._is_label_regularised() or self._is_conditional()):
            raise ValueError("y is only used by a model fitted with labels.")

        def draw(n):
            component = None
            if self._is_label_regularised() and y is not None:
                component = self._condition_indices(y, n)
            Z = self.prior_.sample(n, random_state=rng, component=component)
            # With label regularisation y chose the components; the decoder takes no label.
            labels = self._decoder_conditions(
                y if self._is_conditional() else None, n, random_state=rng
            )
            return self._decode(Z, labels), Z.dtype

        return self._sample_rows(draw, n_samples, rng, conditions, y)

    # ------------------------------------------------------------- the model
    def _build_networks(self):
        """Set a fresh ``model_`` (one code part), shaped by the fitted structure.

        Draws from torch's global generator: callers seed it.
        """
        structure, n_features = self._fitted_structure, self._n_model_features()
        n_components, activation = structure["n_components"], structure["activation"]
        hidden = self._hidden_layer_sizes()
        encoder = make_encoder(structure["posterior"], n_features, hidden, n_components, activation)
        n_conditions = len(self.classes_) if self._is_conditional() else 0
        decoder = make_mlp(n_components + n_conditions, hidden[::-1], n_features, activation)
        n_slots = self.prior_.n_modes_ + 1 if self._is_label_regularised() else 0
        discriminator = make_mlp(
            n_components + n_slots,
            _layer_sizes(structure["discriminator_layer_sizes"]),
            1,
            activation,
        )
        part = LatentPart(
            self.prior_,
            discriminator,
            slice(0, n_components),
            label_conditioned=self._is_label_regularised(),
        )
        representation = LabelConditioning(len(self.classes_)) if self._is_conditional() else None
        self.model_ = AutoencoderModel(
            encoder, decoder, [part], self._reconstruction(), representation
        )

    def _regularisers(self):
        """The adversary, then the pinning and the neighbourhood term.

        The pinning comes with label regularisation on a prior that gives its
        components' densities, and only with the neighbourhood term, whose
        agreement on components carries the labels' anchor to the unlabelled
        rows (the pinning alone lowers the 5-NN accuracy of the codes).
        """
        regularisers = [AdversarialPrior(self._adversarial_weight(), self.discriminator_noise)]
        weight = self._neighbor_weight()
        if weight != 0:
            neighbourhood = Neighbourhood(weight)
            if self.model_.component_parts:
                regularisers.append(ComponentPinning(1.0, neighbourhood))
            regularisers.append(neighbourhood)
        return regularisers

    def _auto_adversarial_weight(self):
        """1.0 for label regularisation, where the adversary pins labelled codes; 3.0 for
        a table; else 0.01."""
        if self._is_label_regularised():
            return 1.0
        return 3.0 if self.table_transformer_ is not None else 0.01

    def _auto_neighbor_weight(self):
        """3 for maps of at most 3 dimensions, else 0; 0 for a conditional model.

        A conditional model's code is a style meant to carry no class: pulling
        near rows (mostly of one class) together would put the class back in.
        """
        if self._is_conditional() or self._fitted_structure["n_components"] > 3:
            return 0.0
        return 3.0

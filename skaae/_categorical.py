"""The code of the paper's Sec. 5-7 models: a categorical part y and a style part z.

The encoder's output is ``k`` logits followed by the ``n_components``
columns of the style code. The logits pass through a softmax into the
categorical part (prior Cat(1/k), its own discriminator) and the style part
follows ``prior`` (its own discriminator). The decoder reads ``[y, z]`` (the
semi-supervised classifier and the clustering model) or a representation of
them (the learned cluster heads of the embedding). Labelled samples, where
there are some, also train the logits with a cross-entropy phase. Everything
else (validation, scaling, the epoch loop, inference, persistence) comes from
the shared base the estimators all build on.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, check_random_state

from ._base import BaseAdversarialEstimator, ModelPart, _float_dtype, _layer_sizes
from ._labels import condition_indices, known_classes, label_indices, unlabelled_mask
from ._neighbors import GROUP_ROWS, nearest_neighbors, search_components
from ._network_mixin import NetworkMixin, codes_tensor, input_tensor
from ._spectral import SPECTRAL_START_EPOCHS, SPECTRAL_START_STEPS, spectral_clusters
from ._training_mixin import TrainingMixin
from .model import AutoencoderModel, LatentPart
from .nn import make_encoder, make_mlp
from .priors import CategoricalPrior
from .regularisers import AdversarialPrior, Neighbourhood, Supervised

__all__ = ["CategoricalStyleAutoencoder"]


class CategoricalStyleAutoencoder(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    TrainingMixin,
    NetworkMixin,
    BaseAdversarialEstimator,
):
    """Shared base of the estimators whose code is a categorical part and a style part.

    A sibling of :class:`~skaae.AdversarialAutoencoder` on the same shared
    base, not an estimator of its own. Subclasses set ``_n_categories()``,
    and may add a representation between the code and the decoder
    (``_make_representation``) or a spectral start (``_starts_from_spectral``).
    """

    _abstract = True
    _module_attributes = ("encoder_", "decoder_", "discriminator_", "categorical_discriminator_")
    categorical_discriminator_ = ModelPart(
        "discriminators.0", "The discriminator of the categorical part."
    )
    discriminator_ = ModelPart("discriminators.1", "The discriminator of the style part.")
    _json_attributes = (*BaseAdversarialEstimator._json_attributes, "categorical_prior_")

    _parameter_constraints = {
        **BaseAdversarialEstimator._model_parameter_constraints,
        "supervised_weight": [Interval(numbers.Real, 0, None, closed="left")],
        **BaseAdversarialEstimator._common_parameter_constraints,
    }
    _structural_parameters = (
        *BaseAdversarialEstimator._structural_parameters,
        "posterior",
        "discriminator_layer_sizes",
    )

    # ------------------------------------------------------------- structure
    def _n_categories(self, n_samples):
        """Number of categories k of the categorical part, for a fit on ``n_samples`` rows."""
        raise NotImplementedError

    def _set_classes(self, y, n_samples):
        """Learn ``classes_`` from ``y`` (None: unsupervised) and bind the categorical prior.

        ``n_samples``, the number of rows of X, may set the number of categories.

        The classes declared to ``partial_fit`` (``_declared_classes``, set
        for the duration of its first call) take the place of those of ``y``.
        """
        self.__dict__.pop("classes_", None)
        declared = self.__dict__.get("_declared_classes")
        if y is not None:
            self.classes_ = known_classes(y) if declared is None else declared
            if len(self.classes_) < 2:
                hint = (
                    " (-1 marks unlabelled samples; it is not a class)"
                    if unlabelled_mask(y).any()
                    else ""
                )
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in y; got 1 "
                    f"class: {self.classes_.tolist()}{hint}."
                )
        weights = None if y is None else self._category_weights(y)
        k = self._n_categories(n_samples)
        self.categorical_prior_ = CategoricalPrior(weights=weights).bind(k)

    def _category_weights(self, y):
        """The categorical prior's weights for labels ``y`` (None: 1/k each)."""
        return None

    def _build_networks(self):
        structure, n_features = self._fitted_structure, self._n_model_features()
        n_components, activation = structure["n_components"], structure["activation"]
        hidden = self._hidden_layer_sizes()
        discriminator_hidden = _layer_sizes(structure["discriminator_layer_sizes"])
        k = self.categorical_prior_.n_components_
        # The logits ride along with the style: a stochastic encoder's noise
        # also perturbs them, which regularises the classifier.
        encoder = make_encoder(
            structure["posterior"], n_features, hidden, k + n_components, activation
        )
        decoder = make_mlp(self._decoder_width(), hidden[::-1], n_features, activation)
        style_discriminator = make_mlp(n_components, discriminator_hidden, 1, activation)
        categorical_discriminator = make_mlp(k, discriminator_hidden, 1, activation)
        parts = [
            LatentPart(self.categorical_prior_, categorical_discriminator, slice(0, k)),
            LatentPart(self.prior_, style_discriminator, slice(k, k + n_components)),
        ]
        self.model_ = AutoencoderModel(
            encoder, decoder, parts, self._reconstruction(), self._make_representation()
        )

    def _decoder_width(self):
        return self.categorical_prior_.n_components_ + self._fitted_structure["n_components"]

    def _make_representation(self):
        """The module between the code and the decoder; None: the decoder reads ``[y, z]``."""
        return None

    def _categories(self):
        return slice(0, self.categorical_prior_.n_components_)

    def _style(self):
        return slice(self.categorical_prior_.n_components_, None)

    # ------------------------------------------------------------- training
    def _label_indices_for_fit(self, y, method="fit"):
        if y is None or not hasattr(self, "classes_"):
            return None
        return label_indices(y, self.classes_)

    def _regularisers(self):
        """The adversary of both parts, the supervised step and the neighbourhood term.

        The supervised step trains the categories on the labelled rows, or on
        the spectral start's clusters while that lasts (weight 1). The style
        forms no map for the neighbourhood term: next to the categories, it is
        meant to carry no class.
        """
        regularisers = [AdversarialPrior(self._adversarial_weight(), self.discriminator_noise)]
        supervised = hasattr(self, "classes_")
        starting = not supervised and self.__dict__.get("_labelled_source") is not None
        if supervised or starting:
            weight = self.supervised_weight if supervised else 1.0
            columns = slice(0, self.categorical_prior_.n_components_)
            regularisers.append(Supervised(weight, columns))
        weight = self._neighbor_weight()
        if weight != 0:
            regularisers.append(Neighbourhood(weight, map=False))
        return regularisers

    # ------------------------------------------------------- spectral start
    def _starts_from_spectral(self):
        """Whether a fresh unsupervised fit starts from a spectral clustering (``init``)."""
        return False

    def _set_sources(self, X, train, validation, labels, device, resume=False):
        """The base's sources, plus the spectral start's clusters as labelled batches.

        On a fresh unsupervised fit that starts from a spectral clustering
        (see :mod:`skaae._spectral`), the training rows' clusters become
        their labels for the first ``SPECTRAL_START_EPOCHS`` epochs
        (``_labelled_source``, sharing the rows' memory); ``_run_epoch``
        ends the start. The restarts of ``n_init`` on every row compute the
        clusters once (``_spectral_cache``, held by the restart loop).
        """
        if hasattr(self, "classes_") and labels is not None:
            served = labels if train is None else labels[train]
            if not (served >= 0).any():
                raise ValueError(
                    f"{type(self).__name__}: no labelled sample is left to train on after "
                    f"the validation split (early_stopping, validation_fraction="
                    f"{self.validation_fraction}): label more samples or lower "
                    "validation_fraction."
                )
        super()._set_sources(X, train, validation, labels, device, resume)
        if labels is not None or resume or not self._starts_from_spectral():
            return
        if self._train_source.n_samples > GROUP_ROWS:
            return  # the neighbours are searched a group at a time: no graph of all the rows
        cache = self.__dict__.get("_spectral_cache")
        if cache is not None and train is None and "clusters" in cache:
            clusters, embedding = cache["clusters"]
        else:
            rows = self._train_source.search_rows()
            if rows is None:
                return  # a memmap searched a window at a time
            neighbors = nearest_neighbors(
                rows,
                self.n_neighbors,
                n_components=search_components(self._n_model_features()),
                cosine=True,
            )
            clusters, embedding = spectral_clusters(
                neighbors, self.categorical_prior_.n_components_
            )
            if cache is not None and train is None:
                cache["clusters"] = clusters, embedding
        if clusters is not None:
            self._labelled_source = self._train_source.with_labels(clusters)
            self._place_spectral_clusters(clusters, embedding)

    def _place_spectral_clusters(self, clusters, embedding):
        """Let the model use where the spectral start puts its clusters (nothing by default)."""

    def _run_epoch(self, epoch):
        n_rows = self._train_source.n_samples
        steps = epoch * -(-n_rows // self._batch_size(n_rows))
        if epoch >= SPECTRAL_START_EPOCHS and steps >= SPECTRAL_START_STEPS:
            self._end_spectral_start()
        return super()._run_epoch(epoch)

    def _clear_sources(self):
        try:
            self._end_spectral_start()  # also when the fit ends within the start
        finally:
            super()._clear_sources()

    def _end_spectral_start(self):
        """Drop the spectral start's labelled batches and the trainer's phase for them."""
        if hasattr(self, "classes_") or self.__dict__.get("_labelled_source") is None:
            return
        self._labelled_source = None
        trainer = self.__dict__.get("_trainer")  # gone when a failed fresh fit was abandoned
        if trainer is not None:
            trainer.regularisers = [r for r in trainer.regularisers if type(r) is not Supervised]

    def _auto_adversarial_weight(self):
        """Each model's own default (``_ADVERSARIAL_WEIGHT``, set by the subclass).

        The labels (or clusters) train the categories directly, not through
        the adversary, so it weighs less than label regularisation's 1.0.
        """
        return self._ADVERSARIAL_WEIGHT

    def _auto_neighbor_weight(self):
        """3: the consistency of neighbours' categories (and the embedding's map)."""
        return 3.0

    def _uses_labelled_batches(self):
        return hasattr(self, "classes_")

    def _partial_fit_available(self):
        raise AttributeError(
            f"{type(self).__name__} has no partial_fit: it sets labels_ (the cluster of every "
            "training sample) in fit, which one chunk cannot give. For data larger than "
            "memory, fit it on a numpy.memmap, which streams the data from disk."
        )

    @available_if(_partial_fit_available)
    def partial_fit(self, X, y=None):
        """Hidden (``hasattr`` is False); :class:`~skaae.AAEClassifier` defines its own."""

    # ------------------------------------------------------------- inference
    def transform(self, X):
        """Encode X into style codes (the code without its categorical part).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The style codes, in the dtype of X.
        """
        check_is_fitted(self)
        return self._style_codes(self._validate_X(X, reset=False))

    def inverse_transform(self, X, y=None):
        """Decode style codes rendered in given categories.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Style codes, e.g. from ``transform`` or ``prior_.sample``.
        y : label, array-like of shape (n_samples,)
            The category of each code (one for every row, or one per row):
            a class label when fitted with labels, else a cluster number.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoded data.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.inverse_transform needs y, the category to render "
                "each style code in."
            )
        return self._rows(self._decode(Z, self._condition_indices(y, Z.shape[0])), Z.dtype)

    def sample(self, n_samples=1, random_state=None, *, y=None, conditions=None):
        """Draw style codes from the prior and decode them in given (or random) categories.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.
        y : label, array-like of shape (n_samples,) or None, default=None
            Categories of the samples (class labels when fitted with labels,
            else cluster numbers); None draws them uniformly.
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
            return self._decode(Z, self._condition_indices(y, n, rng)), Z.dtype

        return self._sample_rows(draw, n_samples, rng, conditions, y)

    def _decode(self, Z, conditions=None):
        """Decoded data of style codes ``Z`` in the categories ``conditions``."""

        k = self.categorical_prior_.n_components_

        def decode(model, block, device, categories):
            style = codes_tensor(model, block, device)
            categories = torch.as_tensor(categories, dtype=torch.long, device=device)
            codes = torch.cat([F.one_hot(categories, k).to(style.dtype), style], dim=1)
            return model.to_data(model.decode(codes))

        decoded = self._infer(decode, Z, conditions)
        self._check_finite_output(decoded, "decoded data")
        return decoded

    def _condition_indices(self, y, n_samples, random_state=None):
        """Category indices from class labels (or cluster numbers); None draws them uniformly."""
        if y is not None and not hasattr(self, "classes_"):
            k = self.categorical_prior_.n_components_
            values = np.asarray(y)
            values = np.full(n_samples, values) if values.ndim == 0 else values
            if values.dtype.kind not in "iu" or values.shape != (n_samples,):
                raise ValueError(f"y must be a cluster number or {n_samples} of them.")
            if n_samples and (values.min() < 0 or values.max() >= k):
                raise ValueError(f"Cluster numbers in y must lie in [0, {k - 1}].")
            return values.astype(np.int64)
        if y is None:
            k = self.categorical_prior_.n_components_
            return check_random_state(random_state).randint(k, size=n_samples)
        return condition_indices(y, n_samples, self.classes_)

    def _category_probabilities(self, X):
        """Softmax of the category logits of validated ``X``, as float64."""
        check_is_fitted(self)
        categories = self._categories()

        def probabilities(model, block, device):
            return model.embed(input_tensor(model, block, device))[:, categories].double()

        return self._infer(probabilities, X)

    def _style_codes(self, X):
        style = self._style()

        def style_codes(model, block, device):
            return model.embed(input_tensor(model, block, device))[:, style]

        codes = self._infer(style_codes, X)
        self._check_finite_output(codes, "codes")
        return codes.astype(_float_dtype(X), copy=False)

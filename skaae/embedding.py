"""Dimensionality reduction with learned cluster heads (the paper's Sec. 7)."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import ModelPart, _float_dtype
from ._categorical import CategoricalStyleAutoencoder
from ._docs import fill_docs
from ._network_mixin import codes_tensor, input_tensor
from ._spectral import cluster_layout
from .nn import ClusterHeads

__all__ = ["AAEEmbedding"]

ROWS_PER_CLUSTER = 40
"""Training rows per cluster head when ``n_clusters`` is None.

Clusters of a few dozen rows are nearly pure in any label the data's near
neighbours share, so the map keeps those neighbours together even where the
classes do not form a handful of clean groups: on letter (26 letters,
16,000 rows) 16 heads gave a 5-NN accuracy of 0.64 and this rule's 400 heads
0.85 (UMAP: 0.83), and on digits and MNIST the rule mapped better than 16
heads too (see doc/notes/parameter_measurements.md).
"""

MIN_CLUSTERS = 16
"""Fewest cluster heads of the rule of ``ROWS_PER_CLUSTER`` (the count before it)."""

MAX_CLUSTERS = 512
"""Most cluster heads of the rule of ``ROWS_PER_CLUSTER``: each head costs a logit of the
encoder and a column of the categorical adversary's input."""

HEAD_SPACING = 2.5
"""How far apart the heads start, in ``min_distance``.

A head's nearest other head starts this many ``min_distance`` away (5
prior standard deviations at the default; the median head, in the spectral
start's layout), which leaves each cluster's style room between the heads:
on letter, laid out 1.0 apart, the styles of neighbouring clusters mixed
(5-NN 0.81), 2.5 and 4.0 apart they did not (0.85 and 0.85). On MNIST
with 100 labels, one head per class on a circle, 2.5 gave 0.926 against
0.915, and with shifted images 0.926 against 0.940: within the spread
between seeds (see doc/notes/parameter_measurements.md).
"""


@fill_docs
class AAEEmbedding(ClusterMixin, CategoricalStyleAutoencoder):
    """Low-dimensional embedding made of learned cluster heads plus a style.

    The paper's dimensionality reduction (Sec. 7): the encoder outputs
    cluster probabilities y over ``n_clusters`` categories (pushed to one-hot
    vectors by a categorical adversary) and a style z of ``n_components``
    dimensions (pushed to ``prior``). The representation is ``W_c y + z``,
    where each row of ``W_c`` is a learned cluster head; the decoder
    reconstructs x from it, and a penalty keeps any two heads at least
    ``min_distance`` apart. The embedding (``transform``) is that
    representation, with each sample at the head of its most probable cluster
    (``assignment``): clusters land around their heads, with the style spread
    about them. With labels (``fit(X, y)``, -1 for unlabelled) the clusters
    are the classes and a cross-entropy phase trains them on the labelled
    samples.

    Beyond the paper, the neighbourhood term (``neighbor_weight``, on by
    default) lays out the embedding as UMAP does and makes near neighbours
    share a cluster; unsupervised, there is a head for every few dozen rows
    (``n_clusters``), and the clusters start from a spectral clustering of
    the data, with their heads where the data's neighbour graph lays them
    out (``init``). All of it raises the 5-NN accuracy of the embedding on
    MNIST, digits and letter (see :doc:`/user_guide/paper_models`).

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding.
    n_clusters : int or None, default=None
        Number of cluster heads when fitted without labels. None: one head
        per 40 training rows, at least 16 and at most 512 (``n_clusters_``
        says how many), so that each cluster is small enough to hold rows of
        one kind even where the data's classes are not a few clean groups.
        With labels there is one head per class: leave it None (another
        value is ignored, with a warning).
    init : {"spectral", "random"}, default="spectral"
        How the clusters of an unsupervised fit start: from a spectral
        clustering of the data, as in :class:`AAEClustering`, with each head
        at its cluster's place in the 2-D layout of the data's neighbour
        graph (from the graph's spectral embedding, as UMAP starts), which
        gives the better embedding on MNIST and letter; or from random
        networks, with the heads on a circle (the paper; on a disc for more
        than 16 heads), where many heads can go unused (on MNIST, 242 of
        250). Ignored with labels: the classes are the clusters.
    min_distance : float, default=2.0
        Two cluster heads closer than this are pushed apart (the paper's
        threshold eta), in units of the style prior's standard deviation;
        a larger distance leaves clusters unused (see
        :doc:`/user_guide/paper_models`).
    assignment : {"hard", "soft"}, default="hard"
        Where ``transform`` places a sample: "hard", at the head of its most
        probable cluster (the one ``predict`` gives) plus its style; "soft",
        at the mix of heads weighted by the cluster probabilities plus its
        style. "hard" gave the better map on MNIST.
    supervised_weight : float, default=1.0
        Weight of the supervised cross-entropy (with labels only).
    prior : str or Prior, default="gaussian"
        Prior of the style; see :class:`AdversarialAutoencoder`.
    %(shared_parameters)s

    Attributes
    ----------
    cluster_heads_ : torch.nn.Module
        The learned heads; ``cluster_heads_.heads`` is ``W_c``, of shape
        ``(n_clusters, n_components)``.
    classes_ : ndarray of shape (n_classes,)
        The class labels, when fitted with labels.
    labels_ : ndarray of shape (n_samples,)
        The cluster of each training sample (its class label, when fitted
        with labels).
    n_clusters_ : int
        Number of cluster heads: ``n_clusters``, its rule when None, or the
        number of classes.
    %(shared_attributes)s

    See Also
    --------
    AdversarialAutoencoder : Dimensionality reduction without cluster heads.
    AAEClustering : Clustering with the same kind of code.

    References
    ----------
    A. Makhzani et al. "Adversarial Autoencoders", Sec. 7. arXiv:1511.05644.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AAEEmbedding
    >>> X = load_digits().data / 16
    >>> embedding = AAEEmbedding(n_clusters=10, max_iter=5, random_state=0).fit(X)
    >>> embedding.transform(X).shape
    (1797, 2)
    """

    _module_attributes = (*CategoricalStyleAutoencoder._module_attributes, "cluster_heads_")
    cluster_heads_ = ModelPart("representation", "The learned cluster heads.")
    # In JSON, not as a tensor: with labels, labels_ holds class labels (strings, too).
    _json_attributes = (*CategoricalStyleAutoencoder._json_attributes, "labels_")
    _parameter_constraints = {
        **CategoricalStyleAutoencoder._parameter_constraints,
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "min_distance": [Interval(numbers.Real, 0, None, closed="left")],
        "init": [StrOptions({"spectral", "random"})],
        "assignment": [StrOptions({"hard", "soft"})],
    }
    _structural_parameters = (*CategoricalStyleAutoencoder._structural_parameters, "n_clusters")

    _ADVERSARIAL_WEIGHT = 0.01

    def __init__(
        self,
        n_components=2,
        *,
        n_clusters=None,
        init="spectral",
        min_distance=2.0,
        assignment="hard",
        supervised_weight=1.0,
        prior="gaussian",
        posterior="deterministic",
        hidden_layer_sizes=(256, 256),
        discriminator_layer_sizes=(64, 64),
        reconstruction_loss="auto",
        activation="silu",
        learning_rate=3e-3,
        discriminator_learning_rate=1e-3,
        adversarial_weight=_ADVERSARIAL_WEIGHT,
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
        average_weights=True,
        augmentation=None,
        table="auto",
    ):
        self.n_components = n_components
        self.n_clusters = n_clusters
        self.init = init
        self.min_distance = min_distance
        self.assignment = assignment
        self.supervised_weight = supervised_weight
        self.prior = prior
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the embedding of X (semi-supervised with y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels, -1 for unlabelled samples; None: unsupervised.

        Returns
        -------
        self : AAEEmbedding
            The fitted estimator.
        """
        self._fit(X, y)
        self.labels_ = self.predict(X)
        return self

    def _starts_from_spectral(self):
        return self.init == "spectral"

    def _place_spectral_clusters(self, clusters, embedding):
        """Start the heads where the data's neighbour graph lays out their clusters.

        Heads spread on a circle keep their arbitrary order through training
        (the map's terms pull on near codes only), so related clusters would
        end up far apart; see :func:`~skaae._spectral.cluster_layout`.
        """
        heads = self.model_.representation
        layout = cluster_layout(
            embedding,
            clusters,
            heads.n_clusters,
            heads.heads.shape[1],
            heads.spacing,
        )
        if layout is not None:
            with torch.no_grad():
                heads.heads.copy_(torch.as_tensor(layout, dtype=heads.heads.dtype))

    def transform(self, X):
        """Embed X: ``W_c y + z``, y one-hot or the cluster probabilities (``assignment``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to embed.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
            The representation, in the dtype of X.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)

        hard = self.assignment == "hard"

        def embed(model, block, device):
            codes = model.embed(input_tensor(model, block, device))
            return model.representation.place(codes, hard=hard)

        embedding = self._infer(embed, X)
        self._check_finite_output(embedding, "embedding")
        return embedding.astype(_float_dtype(X), copy=False)

    def inverse_transform(self, X, y=None):
        """Decode points of the embedding space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Points of the embedding, e.g. from ``transform``.
        y : None
            Not used: the cluster is part of the embedding (a ``y`` is refused).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoded data.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        if y is not None:
            raise ValueError(
                "AAEEmbedding.inverse_transform takes no y: a point of the embedding already "
                "holds its cluster (W_c y + z)."
            )

        def decode(model, block, device):
            return model.to_data(model.decoder(codes_tensor(model, block, device)))

        decoded = self._infer(decode, Z)
        self._check_finite_output(decoded, "decoded data")
        return self._rows(decoded, Z.dtype)

    def predict(self, X):
        """Cluster of each sample (its class, when fitted with labels).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Class labels when fitted with labels, else cluster numbers.
        """
        check_is_fitted(self)
        clusters = self._category_probabilities(self._validate_X(X, reset=False)).argmax(axis=1)
        return self.classes_[clusters] if hasattr(self, "classes_") else clusters

    def _n_categories(self, n_samples):
        if hasattr(self, "classes_"):
            if self.n_clusters not in (None, len(self.classes_)):
                warnings.warn(
                    f"n_clusters={self.n_clusters} is ignored when fitting with labels: the "
                    f"clusters are the {len(self.classes_)} classes of y. Leave "
                    "n_clusters=None, or fit without y.",
                    UserWarning,
                    stacklevel=6,
                )
            return len(self.classes_)
        if self.n_clusters is not None:
            return self.n_clusters
        return int(np.clip(n_samples // ROWS_PER_CLUSTER, MIN_CLUSTERS, MAX_CLUSTERS))

    @property
    def n_clusters_(self):
        """Number of cluster heads of the fitted model."""
        check_is_fitted(self)
        return self.categorical_prior_.n_components_

    def _make_representation(self):
        min_distance = self.min_distance * self.prior_.std_
        return ClusterHeads(
            self.categorical_prior_.n_components_,
            self._fitted_structure["n_components"],
            min_distance,
            spacing=HEAD_SPACING * min_distance,
        )

    def _decoder_width(self):
        return self._fitted_structure["n_components"]

"""Unsupervised clustering with an adversarial autoencoder (the paper's Sec. 6)."""

import numbers

import numpy as np
from sklearn.base import ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state

from ._categorical import CategoricalStyleAutoencoder
from ._docs import fill_docs

__all__ = ["AAEClustering"]


@fill_docs
class AAEClustering(ClusterMixin, CategoricalStyleAutoencoder):
    """Clustering: an adversarial autoencoder whose code is a cluster and a style.

    The model of :class:`AAEClassifier` without labels (the paper's Sec. 6):
    the encoder outputs cluster probabilities q(y|x) over ``n_clusters``
    categories and a style code z. The categorical adversary makes q(y|x)
    confident (near one-hot) and the clusters equally used, and the decoder
    must reconstruct x from the cluster and the style, so the cluster has to
    carry what the style cannot: the coarse content of x.

    Beyond the paper, the neighbourhood term (``neighbor_weight``, on by
    default) makes near neighbours in the data share a cluster, and the
    clusters start from a spectral clustering of the data (``init``): both
    raise the cluster accuracy on MNIST, and the spectral start makes it far
    less dependent on the seed (see :doc:`/user_guide/paper_models`).

    Parameters
    ----------
    n_clusters : int, default=16
        Number of clusters (the paper: 16 or 30 on MNIST).
    init : {"spectral", "random"}, default="spectral"
        How the clusters start. ``"spectral"``: from a spectral clustering
        of the graph joining each row to its ``n_neighbors`` nearest, which
        a cross-entropy phase trains q(y|x) towards for the first 5 epochs;
        it takes seconds and makes the fit far less dependent on the seed
        than ``"random"``, the paper's start from random networks. A
        ``warm_start`` fit, or data too large for the graph, starts from
        random networks (see :doc:`/user_guide/paper_models`).
    n_init : int, default=1
        Number of fits from different seeds, as in
        :class:`~sklearn.cluster.KMeans`; the one whose clusters agree best
        with the data's neighbourhoods (the lowest ``neighbor_loss`` of its
        last epoch) is kept. It guards against fits that merge two classes
        in one cluster (see :doc:`/user_guide/paper_models`).
    n_components : int, default=4
        Dimension of the style code z (what ``transform`` returns).
    prior : str or Prior, default="gaussian"
        Prior of the style code; see :class:`AdversarialAutoencoder`.
    %(shared_parameters)s

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        The cluster of each training sample.
    %(shared_attributes)s

    See Also
    --------
    AAEClassifier : The same model, trained with labels.
    sklearn.cluster.KMeans : Clustering on the input space.
    skaae.metrics.cluster_accuracy : The paper's measure of a clustering.

    References
    ----------
    A. Makhzani et al. "Adversarial Autoencoders", Sec. 6. arXiv:1511.05644.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AAEClustering
    >>> X = load_digits().data / 16
    >>> clustering = AAEClustering(n_clusters=10, max_iter=5, random_state=0).fit(X)
    >>> clustering.labels_.shape
    (1797,)
    """

    _parameter_constraints = {
        **CategoricalStyleAutoencoder._parameter_constraints,
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"spectral", "random"})],
    }
    _structural_parameters = (*CategoricalStyleAutoencoder._structural_parameters, "n_clusters")
    _array_attributes = (*CategoricalStyleAutoencoder._array_attributes, "labels_")

    _ADVERSARIAL_WEIGHT = 0.1

    def __init__(
        self,
        n_clusters=16,
        *,
        init="spectral",
        n_init=1,
        n_components=4,
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
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.n_components = n_components
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
        """Cluster X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : AAEClustering
            The fitted estimator.
        """
        if self.n_init == 1 or (self.warm_start and hasattr(self, "encoder_")):
            self._fit(X, None)
        else:
            self._fit_restarts(X)
        self.labels_ = self.predict(X)
        return self

    def _fit_restarts(self, X):
        """Fit ``n_init`` times from seeds drawn from ``random_state``; keep the best fit."""
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_init
        )
        parameters = self.get_params(deep=False)
        self._spectral_cache = {}  # the restarts' spectral start, computed once
        try:
            self._run_restarts(X, seeds, parameters)
        finally:
            del self._spectral_cache
            self.__dict__.pop("_progress_prefix", None)  # left by a restart that raised

    def _run_restarts(self, X, seeds, parameters):
        """The loop of ``_fit_restarts``: one fresh fit per seed; keep the best."""
        best_score, best_state = np.inf, None
        for restart, seed in enumerate(seeds):
            self.__dict__.pop("_fault", None)
            self._progress_prefix = f"restart {restart + 1}/{self.n_init}"  # in verbose's line
            self._fit(X, None, seed=int(seed), fresh=True)
            del self._progress_prefix
            score = self._restart_score()
            if self.verbose:
                print(f"restart {restart + 1}/{self.n_init}: score {score:.4f}", flush=True)
            if best_state is None or score < best_score:
                # Each fresh fit builds new networks, so references suffice.
                best_score = score
                best_state = {k: v for k, v in vars(self).items() if k not in parameters}
            if self.__dict__.pop("_fault", None) == "interrupted":
                break  # Ctrl-C stops the whole fit, keeping the best restart so far
        vars(self).update(best_state)

    def _restart_score(self):
        """Lower is better: the last epoch's neighbourhood (else reconstruction) loss.

        Infinite for a fit that finished no epoch (interrupted or rolled back
        in its first).
        """
        if not self.history_:
            return np.inf
        last = self.history_[-1]
        return last.get("neighbor_loss", last["reconstruction_loss"])

    def _starts_from_spectral(self):
        return self.init == "spectral"

    def predict_proba(self, X):
        """Cluster probabilities q(y|x).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to assign.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Probability of each cluster.
        """
        check_is_fitted(self)
        return self._category_probabilities(self._validate_X(X, reset=False))

    def predict(self, X):
        """Most probable cluster of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster numbers in ``[0, n_clusters)``.
        """
        return self.predict_proba(X).argmax(axis=1)

    def _n_categories(self, n_samples):
        return self.n_clusters

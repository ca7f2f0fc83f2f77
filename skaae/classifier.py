"""The semi-supervised adversarial autoencoder classifier (the paper's Sec. 5)."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._categorical import CategoricalStyleAutoencoder
from ._docs import fill_docs
from ._labels import check_labels, known_classes, unlabelled_mask

__all__ = ["AAEClassifier"]


@fill_docs
class AAEClassifier(ClassifierMixin, CategoricalStyleAutoencoder):
    """Semi-supervised classifier: an adversarial autoencoder with a label part and a style part.

    The encoder outputs class probabilities q(y|x) (a softmax) and a style
    code z; the decoder reconstructs x from ``[y, z]``. One discriminator
    pushes q(y|x) towards one-hot vectors of the categorical prior Cat(y),
    another pushes z towards ``prior``, and on every mini-batch a labelled
    mini-batch trains q(y|x) with cross-entropy (the paper's Sec. 5). The
    unlabelled samples (``y == -1``) shape the classes through the
    reconstruction and the categorical adversary; with every label given the
    model is fully supervised.

    Parameters
    ----------
    n_components : int, default=4
        Dimension of the style code z (what ``transform`` returns).
    supervised_weight : float, default=3.0
        Weight of the supervised cross-entropy relative to the
        reconstruction loss (the phases share one optimiser); 3.0 erred
        less than 1.0 with few labels (see :doc:`/user_guide/paper_models`).
    prior : str or Prior, default="gaussian"
        Prior of the style code; see :class:`AdversarialAutoencoder`.
    %(shared_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``fit`` (-1, unlabelled, excluded).
    %(shared_attributes)s

    See Also
    --------
    AdversarialAutoencoder : The unsupervised model, and label regularisation.
    sklearn.semi_supervised.LabelSpreading : A graph-based semi-supervised classifier.

    References
    ----------
    A. Makhzani et al. "Adversarial Autoencoders", Sec. 5. arXiv:1511.05644.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skaae import AAEClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> y_partial = np.where(np.arange(len(y)) % 10 == 0, y, -1)  # 10 % labelled
    >>> clf = AAEClassifier(max_iter=5, random_state=0).fit(X / 16, y_partial)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _ADVERSARIAL_WEIGHT = 0.1

    def __init__(
        self,
        n_components=4,
        *,
        supervised_weight=3.0,
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

    def _auto_neighbor_weight(self):
        """1: with labels, a lighter term than the clustering's 3 suffices; 0 on a table.

        A table's near rows share their class less often than images' do, and
        there the term lowered the accuracy (doc/user_guide/tabular.rst, "The
        table defaults").
        """
        return 0.0 if self.table_transformer_ is not None else 1.0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on X with the labels y (-1 for unlabelled samples).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), -1 for unlabelled samples.

        Returns
        -------
        self : AAEClassifier
            The fitted estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train for one epoch on a chunk X with its labels y, continuing the model.

        As ``SGDClassifier.partial_fit``: the first call (on an unfitted
        estimator) needs ``classes``, every class of the whole stream, since
        the networks are shaped by the number of classes; later calls may
        leave it out (or repeat the same classes), and a label outside
        ``classes`` raises a ``ValueError``. The first call also fixes the
        reconstruction loss and the input scaling from its chunk; each call
        runs one epoch with the optimiser state of the previous ones (see
        :meth:`AdversarialAutoencoder.partial_fit`). Each chunk needs at
        least one labelled sample, as in :meth:`fit`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data; sparse matrices and memmaps are
            streamed as in :meth:`fit`.
        y : array-like of shape (n_samples,)
            Class labels of the chunk, -1 for unlabelled samples.
        classes : array-like of shape (n_classes,) or None, default=None
            All the classes (-1, unlabelled, is not one); required on the
            first call, ignored when equal to ``classes_`` later.

        Returns
        -------
        self : AAEClassifier
            The updated estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        first = not hasattr(self, "encoder_")
        if classes is not None:
            classes = known_classes(check_labels(classes, np.empty((len(classes), 0))))
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every class of "
                "the stream, which shapes the networks."
            )
        if not first:
            if classes is not None and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} is not the same as on the first call to "
                    f"partial_fit: {self.classes_.tolist()}."
                )
            return self._partial_fit(X, y)
        # Checked before anything is initialised (later calls check in _partial_fit).
        unknown = set(known_classes(check_labels(y, X)).tolist()) - set(classes.tolist())
        if unknown:
            raise ValueError(
                f"y contains labels that are not in classes: {sorted(map(str, unknown))}; "
                f"classes={classes.tolist()}."
            )
        self._declared_classes = classes
        try:
            return self._partial_fit(X, y)
        finally:
            del self._declared_classes

    def predict_proba(self, X):
        """Class probabilities q(y|x).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self._category_probabilities(self._validate_X(X, reset=False))

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _n_categories(self):
        return len(self.classes_)

    def _category_weights(self, y):
        """The labelled classes' shares, when they differ (None: equal shares, 1/k each).

        The adversary makes the predicted classes follow the categorical
        prior: with Cat(1/k) an imbalanced problem (a quarter of churners)
        would be pushed to predict every class equally often.
        """
        labelled = np.asarray(y)[~unlabelled_mask(y)]
        counts = np.array([np.sum(labelled == label) for label in self.classes_], dtype=float)
        if counts.min() == counts.max() or counts.min() == 0:
            return None
        return (counts / counts.sum()).tolist()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

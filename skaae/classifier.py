"""The semi-supervised adversarial autoencoder classifier (the paper's Sec. 5)."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._categorical import CategoricalStyleAutoencoder
from ._docs import fill_docs
from ._labels import check_labels, known_classes, unlabelled_mask
from ._readout import (
    PROBE_EPOCHS,
    READOUTS,
    brier_score,
    fit_linear_readout,
    linear_probabilities,
    probe_rows,
)

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
    readout : {"auto", "head", "linear"}, default="auto"
        What ``predict_proba`` reads the class from.

        - ``"head"``: the categorical part q(y|x), the paper's classifier. The
          unlabelled samples shape it into clusters, which is right when the
          classes are clusters of the data (digits, letters).
        - ``"linear"``: a logistic regression (L2, ``C=1``) of the labelled
          samples' style codes, fitted at the end of ``fit``. Where the classes
          are not clusters (churn among a table's customers), the head learns
          the few labelled samples by heart and ranks the others little better
          than chance, while this read-out generalises.
        - ``"auto"``: a fresh ``fit`` holds a quarter of each class's labels
          out of the supervised step for the first half of the epochs (at
          most 25), then compares the two read-outs on them by their Brier
          score, keeps the better one (``readout_``, ties to the head) and
          trains on every label from then on. Measured on digits, letters
          and two tables in :doc:`/user_guide/tabular`. A warm start keeps
          the read-out chosen before; ``partial_fit`` and a one-epoch fit
          read from the head.
    prior : str or Prior, default="gaussian"
        Prior of the style code; see :class:`AdversarialAutoencoder`.
    %(shared_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``fit`` (-1, unlabelled, excluded).
    readout_ : {"head", "linear"}
        The read-out ``predict_proba`` uses (see ``readout``).
    readout_scores_ : dict or None
        With ``readout="auto"``: the Brier score of each read-out on the
        held-out labels (``{"head": ..., "linear": ...}``, lower is better);
        None when no comparison ran (another ``readout``, a warm start,
        ``partial_fit``, or too few labels: a class needs two to lend one).
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
    _parameter_constraints = {
        **CategoricalStyleAutoencoder._parameter_constraints,
        "readout": [StrOptions(set(READOUTS))],
    }
    _json_attributes = (
        *CategoricalStyleAutoencoder._json_attributes,
        "readout_",
        "readout_scores_",
        "_readout_coef",
        "_readout_intercept",
    )
    _attribute_defaults = {
        **CategoricalStyleAutoencoder._attribute_defaults,
        "readout_": "head",
        "readout_scores_": None,
        "_readout_coef": None,
        "_readout_intercept": None,
    }

    def __init__(
        self,
        n_components=4,
        *,
        supervised_weight=3.0,
        readout="auto",
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
        self.readout = readout
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
        if self.readout == "linear":
            raise ValueError(
                "readout='linear' fits a logistic regression on the labelled samples of one "
                "fit, and partial_fit sees one chunk at a time: use readout='head' (or "
                "'auto', which reads from the head in partial_fit), or fit."
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
        X = self._validate_X(X, reset=False)
        if self.readout_ == "linear":
            return linear_probabilities(
                self._style_codes(X), self._readout_coef, self._readout_intercept
            )
        return self._category_probabilities(X)

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

    # -------------------------------------------------------------- read-out
    def _train(self, X, seed, resume, train=None, validation=None, labels=None, incremental=False):
        """The shared training, with the read-out chosen (``readout="auto"``) and fitted.

        For the comparison, the probe rows' labels are hidden (-1) from the
        supervised step until the middle epoch (see ``_run_epoch``), or until
        the end when the fit stops sooner. During a fresh fit (for callbacks
        that predict) the model reads from its head; the read-out is set at
        the end.
        """
        if incremental:
            readout = "head"
        elif self.readout != "auto":
            readout = self.readout
        else:  # the probe's choice on a fresh fit; the one chosen before on a warm start
            readout = getattr(self, "readout_", "head") if resume else "head"
        scores = None
        if not resume:
            self.readout_, self.readout_scores_ = "head", None
            self._readout_coef = self._readout_intercept = None
        rows = np.arange(X.shape[0]) if train is None else train
        served = labels
        # A one-epoch fit has no epoch left to train on the held-out labels: no probe.
        epoch = min(self._max_iter(len(rows)) // 2, PROBE_EPOCHS)
        if self.readout == "auto" and not (resume or incremental) and epoch >= 1:
            probe = probe_rows(labels, rows, np.random.default_rng(seed))
            if len(probe):
                served = labels.copy()
                served[probe] = -1
                self._probe = {"X": X, "rows": probe, "labels": labels, "train": rows}
                self._probe["epoch"] = epoch
        try:
            super()._train(X, seed, resume, train, validation, served, incremental)
            if "_probe" in self.__dict__:
                self._compare_readouts()
            if "_probe_result" in self.__dict__:
                readout, scores = self._probe_result
            coef = intercept = None
            if readout == "linear":
                labelled = rows[labels[rows] >= 0]
                coef, intercept = fit_linear_readout(
                    self._style_codes(X[labelled]), labels[labelled], len(self.classes_)
                )
        finally:
            self.__dict__.pop("_probe", None)
            self.__dict__.pop("_probe_result", None)
        self.readout_, self.readout_scores_ = readout, scores
        self._readout_coef, self._readout_intercept = coef, intercept

    def _run_epoch(self, epoch):
        probe = self.__dict__.get("_probe")
        if probe is not None and epoch == probe["epoch"]:
            self._compare_readouts()
            X, labels, train = probe["X"], probe["labels"], probe["train"]
            labelled = train[labels[train] >= 0]
            self._labelled_source = self._source(
                X, self._trainer.device, labelled, labels, hold=True
            )
        return super()._run_epoch(epoch)

    def _compare_readouts(self):
        """Score both read-outs on the probe rows and end the probe (``_probe_result``)."""
        probe = self.__dict__.pop("_probe")
        X, labels, held_out, train = probe["X"], probe["labels"], probe["rows"], probe["train"]
        fitted = np.setdiff1d(train[labels[train] >= 0], held_out)
        readout = fit_linear_readout(
            self._style_codes(X[fitted]), labels[fitted], len(self.classes_)
        )
        truth = labels[held_out]
        scores = {
            "head": brier_score(self._category_probabilities(X[held_out]), truth),
            "linear": brier_score(
                linear_probabilities(self._style_codes(X[held_out]), *readout), truth
            ),
        }
        chosen = "linear" if scores["linear"] < scores["head"] else "head"
        self._probe_result = chosen, scores

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

"""The semi-supervised adversarial autoencoder classifier (the paper's Sec. 5)."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._categorical import CategoricalStyleAutoencoder
from ._docs import fill_docs
from ._labels import check_labels, known_classes, unlabelled_mask
from ._network_mixin import input_tensor
from ._readout import (
    PROBE_EPOCHS,
    READOUTS,
    ReadoutFit,
    brier_score,
    fit_linear_readout,
    linear_probabilities,
    probe_rows,
)

__all__ = ["AAEClassifier"]

# At most this many values of X are read at once for the read-out's codes.
_CODE_BLOCK_VALUES = 1 << 24


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
          most 25, and with early stopping at most ``n_iter_no_change``),
          then compares the two read-outs on them by their Brier score,
          keeps the better one (``readout_``, ties to the head) and trains
          on every label from then on; a fit stopped sooner compares at its
          end. Measured on digits, MNIST, letters and three tables (see
          :doc:`/user_guide/tabular`). A warm start keeps the read-out
          chosen before; ``partial_fit`` and a one-epoch fit read from the
          head, and with ``"linear"`` there is no ``partial_fit``.
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
        ``partial_fit``, a one-epoch fit, or too few labels: a class lends a
        quarter of its labels, rounded, and keeps at least one, so it takes
        three labels to lend one).
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
    _per_fit_attributes = (*CategoricalStyleAutoencoder._per_fit_attributes, "_readout_fit")
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

    def _partial_fit_available(self):
        """``partial_fit`` is hidden with ``readout="linear"``, which is fitted in one fit."""
        if self.readout == "linear":
            raise AttributeError(
                "AAEClassifier(readout='linear') has no partial_fit: the logistic regression "
                "is fitted on the labelled samples of one fit, and partial_fit sees one chunk "
                "at a time. Use readout='head' (or 'auto', which reads from the head in "
                "partial_fit), or fit."
            )
        return True

    @available_if(_partial_fit_available)
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
        """Class probabilities: the head's q(y|x), or the linear read-out's (``readout_``).

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

    def _n_categories(self, n_samples):
        return len(self.classes_)

    # -------------------------------------------------------------- read-out
    def _train(self, X, seed, resume, train=None, validation=None, labels=None, incremental=False):
        """The shared training, with the read-out's state for this fit (``_readout_fit``).

        With a comparison to come, the probe rows' labels are hidden (-1) from
        the supervised step until ``_run_epoch`` reaches the probe epoch;
        ``_finish_fit`` sets the read-out. Until then (for callbacks that
        predict during a fresh fit) the model reads from its head.
        """
        train_rows = np.arange(X.shape[0]) if train is None else train
        state = ReadoutFit(
            X,
            labels,
            train_rows,
            self._readout_for_this_fit(resume, incremental),
            probe_rows=np.empty(0, dtype=np.int64),
            probe_epoch=self._probe_epoch(len(train_rows)),
        )
        if state.readout == "auto" and state.probe_epoch >= 1:
            state.probe_rows = probe_rows(labels, train_rows, np.random.default_rng(seed))
        if not state.probing and state.readout == "auto":
            state.readout = "head"  # nothing to compare on
        if not resume:
            self.readout_, self.readout_scores_ = "head", None
            self._readout_coef = self._readout_intercept = None
        served_labels = labels
        if state.probing:
            served_labels = labels.copy()
            served_labels[state.probe_rows] = -1
        self._readout_fit = state
        super()._train(X, seed, resume, train, validation, served_labels, incremental)

    def _readout_for_this_fit(self, resume, incremental):
        """``readout`` for this fit: "auto" left to the comparison on a fresh fit.

        ``partial_fit`` reads from the head; a warm start keeps the read-out
        chosen before.
        """
        if incremental:
            return "head"
        if self.readout != "auto":
            return self.readout
        return getattr(self, "readout_", "head") if resume else "auto"

    def _probe_epoch(self, n_train):
        """The epoch before which the read-outs are compared: the middle one, at most 25.

        With early stopping, at most ``n_iter_no_change``: the earliest a fit
        can stop comes after it.
        """
        epoch = min(self._max_iter(n_train) // 2, PROBE_EPOCHS)
        return min(epoch, self.n_iter_no_change) if self.early_stopping else epoch

    def _run_epoch(self, epoch):
        state = self.__dict__.get("_readout_fit")
        if state is not None and state.probing and epoch == state.probe_epoch:
            self._compare_readouts(state)
            # Every label, the held-out ones too, trains the head from here on.
            self._labelled_source = self._labelled_rows_source(
                state.X, self._trainer.device, state.train_rows, state.labels
            )
        return super()._run_epoch(epoch)

    def _finish_fit(self):
        """Set the read-out: compare now if the fit stopped before the probe epoch, and fit it."""
        state = self._readout_fit
        if state.probing:
            self._compare_readouts(state)
        coef = intercept = None
        if state.readout == "linear":
            rows = state.labelled_rows
            _, style = self._codes_of_rows(state.X, rows)
            coef, intercept = fit_linear_readout(style, state.labels[rows], len(self.classes_))
        self.readout_, self.readout_scores_ = state.readout, state.scores
        self._readout_coef, self._readout_intercept = coef, intercept

    def _compare_readouts(self, state):
        """Score both read-outs on the probe rows; set ``state.readout`` and ``state.scores``.

        The linear read-out is fitted on the other labelled rows; ties go to the head.
        """
        held_out = state.probe_rows
        fit_rows = np.setdiff1d(state.labelled_rows, held_out)
        _, fit_style = self._codes_of_rows(state.X, fit_rows)
        coef, intercept = fit_linear_readout(fit_style, state.labels[fit_rows], len(self.classes_))
        head, style = self._codes_of_rows(state.X, held_out)
        truth = state.labels[held_out]
        state.scores = {
            "head": brier_score(head, truth),
            "linear": brier_score(linear_probabilities(style, coef, intercept), truth),
        }
        state.readout = "linear" if state.scores["linear"] < state.scores["head"] else "head"

    def _codes_of_rows(self, X, rows):
        """``(category probabilities, style codes)`` of rows ``rows`` of validated ``X``, float64.

        Read a block of rows at a time, so that a memmap's rows are not all
        copied into memory at once.
        """
        k = self.categorical_prior_.n_components_

        def codes(model, block, device):
            return model.embed(input_tensor(model, block, device)).double()

        block = max(1, _CODE_BLOCK_VALUES // max(X.shape[1], 1))
        parts = [self._infer(codes, X[rows[i : i + block]]) for i in range(0, len(rows), block)]
        width = k + self._fitted_structure["n_components"]
        codes = np.concatenate(parts) if parts else np.empty((0, width))
        return codes[:, :k], codes[:, k:]

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

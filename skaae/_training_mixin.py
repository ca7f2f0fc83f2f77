"""The training plumbing of the AdversarialAutoencoder family.

:class:`TrainingMixin` takes ``fit`` and ``partial_fit`` from their
arguments to the trainer: it validates the data, initialises a fresh model
(or checks the one it resumes), sets up the mini-batch sources and the
:class:`~skaae.training.AdversarialTrainer`, and runs the epochs of the loop
in :class:`~skaae._base.BaseAdversarialEstimator`.
"""

import itertools
import warnings

import numpy as np
import torch

from ._batching import make_batch_source
from ._labels import check_labels
from ._neighbors import search_components
from .augmentation import check_augmentation, in_model_units
from .losses import RECONSTRUCTION_LOSSES, choose_reconstruction_loss
from .priors import resolve_prior
from .training import AdversarialTrainer, has_native_bfloat16

__all__ = ["TrainingMixin"]

# What continues training, and how to start afresh instead, per method.
_RESUMING = {
    "fit": ("warm_start=True", "set warm_start=False to train new networks"),
    "partial_fit": ("partial_fit", "call fit to train new networks"),
}


class TrainingMixin:
    """How :class:`~skaae.AdversarialAutoencoder` and its subclasses train.

    Mixed into a :class:`~skaae._base.BaseAdversarialEstimator`, whose epoch
    loop calls ``_run_epoch`` and ``_validation_loss``. Subclasses change the
    training through ``_make_trainer`` (built on ``_new_trainer``) and
    ``_uses_labelled_batches``.
    """

    def _fit(self, X, y, seed=None, fresh=False):
        """The training behind ``fit`` (subclasses' ``fit`` check ``y`` first).

        Restarts pass a ``seed`` in place of the one drawn from
        ``random_state``, and ``fresh=True`` to train new networks whatever
        ``warm_start`` says.
        """
        resume = self.warm_start and hasattr(self, "encoder_") and not fresh
        X, summary = self._validate_X(X, reset=not resume, summarise=True)
        check_augmentation(self.augmentation, X.shape[1], self.device, type(self).__name__)
        y = None if y is None else check_labels(y, X)
        seed = self._seed() if seed is None else seed
        self._start(summary, seed, resume, "fit", y)
        labels = self._label_indices_for_fit(y, "fit")
        train, validation = self._split_rows(X.shape[0], seed)
        self._train(X, seed, resume, train, validation, labels)
        return self

    def _partial_fit(self, X, y):
        """The training behind ``partial_fit``."""
        resume = hasattr(self, "encoder_")
        X, summary = self._validate_X(X, reset=not resume, summarise=True)
        check_augmentation(self.augmentation, X.shape[1], self.device, type(self).__name__)
        y = None if y is None else check_labels(y, X)
        seed = self._seed()
        self._start(summary, seed, resume, "partial_fit", y)
        labels = self._label_indices_for_fit(y, "partial_fit")
        self._train(X, seed, resume, labels=labels, incremental=True)
        return self

    def _start(self, summary, seed, resume, method, y=None):
        """Check the data range and the structure, or initialise a fresh model (with ``y``)."""
        if resume:
            self._check_warm_start_structure(*_RESUMING[method])
            self._check_reconstruction_range(summary)
        else:
            loss = choose_reconstruction_loss(self.reconstruction_loss, summary)
            self._check_reconstruction_range(summary, loss)
            self._initialise(summary, seed, loss, y)

    def _train(self, X, seed, resume, train=None, validation=None, labels=None, incremental=False):
        """Train on rows ``train`` of ``X`` (all when None) with the fault handling of the base.

        ``labels`` are the class indices of every row of ``X`` (-1 unlabelled)
        or None; ``validation`` the rows for early stopping, or None.
        """
        device = self._runtime_device()
        if self.precision == "bfloat16" and has_native_bfloat16(device) is False:
            warnings.warn(
                f"precision='bfloat16' on a {device.type.upper()} without bfloat16 units "
                "(x86 CPUs need AVX512-BF16 or AMX, GPUs compute capability 8.0): its "
                "bfloat16 matrix products are emulated and train many times slower than "
                "precision='float32'.",
                UserWarning,
                stacklevel=5,
            )
        self._set_sources(X, train, validation, labels, device, resume)
        trainer = getattr(self, "_trainer", None) if resume else None
        if trainer is None or trainer.device != device:
            trainer = self._make_trainer(device)
        else:  # warm start: new hyperparameters, same optimiser state
            trainer.configure(
                self.learning_rate,
                self._discriminator_learning_rate(),
                self.max_grad_norm,
                self.average_weights,
            )
            trainer.regularisers = self._regularisers()
        # Independent streams for training noise, the monitor and the shuffle.
        streams = np.random.SeedSequence([seed, self.n_iter_]).generate_state(3)
        trainer.generator = torch.Generator(device).manual_seed(int(streams[0]))
        trainer.monitor_generator.manual_seed(int(streams[1]))
        trainer.precision = self.precision
        trainer.augmentation = in_model_units(self.augmentation, self._offset, self._scale, device)
        self._trainer = trainer
        self._shuffle_generator = torch.Generator().manual_seed(int(streams[2]))
        try:
            self._train_epochs(resume, incremental)
        finally:
            self._clear_sources()

    def _initialise(self, summary, seed, loss, y=None):
        """Set the prior, the classes, the loss, the input scaling and fresh networks.

        ``summary`` describes X (see ``_validate_X``); the classes come first,
        since the widths of the networks depend on them.
        """
        self.prior_ = resolve_prior(self.prior, self.n_components)
        self._set_classes(y)
        self.reconstruction_loss_ = loss
        self._offset, self._scale = RECONSTRUCTION_LOSSES[loss].input_scaling(summary)
        self._record_structure()
        with torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed would reseed CUDA too.
            torch.default_generator.manual_seed(seed)
            self._build_networks()
        self.history_ = []
        self.n_iter_ = 0
        self._n_features_out = self.n_components
        self.__dict__.pop("_trainer", None)

    def _check_reconstruction_range(self, summary, loss=None):
        """Raise if X is outside the domain of ``loss`` (default: the fitted loss)."""
        RECONSTRUCTION_LOSSES[self.reconstruction_loss_ if loss is None else loss].check_range(
            summary
        )

    def _set_sources(self, X, train, validation, labels, device, resume=False):
        """Set the mini-batch sources of this fit (see ``_clear_sources``).

        ``train`` and ``validation`` are sorted row indices of ``X`` (``train``
        None: every row; ``validation`` None: no validation), ``labels`` the
        class indices of every row of ``X`` (or None), served with the same
        rows. When the labelled samples get mini-batches of their own
        (``_uses_labelled_batches``), the labelled training rows also go to
        ``_labelled_source``. ``resume`` is True when the fit continues the
        model rather than starting a fresh one.
        """
        if labels is None and self._is_label_regularised():
            # Trained on without y (warm start, partial_fit): every sample unlabelled.
            labels = np.full(X.shape[0], -1, dtype=np.int64)
        self._train_source = self._source(X, device, train, labels)
        self._validation_source = (
            None if validation is None else self._source(X, device, validation, labels)
        )
        self._labelled_source = None
        if labels is not None and self._uses_labelled_batches():
            rows = np.arange(X.shape[0]) if train is None else train
            labelled = rows[labels[rows] >= 0]
            if len(labelled):  # (none: an endless cycle of no batches)
                # Cycled many times per epoch: held in memory when it fits a window.
                self._labelled_source = self._source(X, device, labelled, labels, hold=True)

    def _is_conditional(self):
        """Whether the decoder takes the label (the AAE's ``conditional=True``)."""
        return False

    def _is_label_regularised(self):
        """Whether labels pin codes to the prior's components (the AAE's label regularisation)."""
        return False

    def _uses_labelled_batches(self):
        """Whether each mini-batch comes with a labelled one (label regularisation)."""
        return self._is_label_regularised()

    def _clear_sources(self):
        """Drop what ``_set_sources`` and the shuffle of this fit hold."""
        for name in ("_train_source", "_validation_source", "_labelled_source"):
            self.__dict__.pop(name, None)
        self.__dict__.pop("_shuffle_generator", None)

    def _source(self, X, device, rows=None, labels=None, hold=False):
        return make_batch_source(
            X, device, offset=self._offset, scale=self._scale, rows=rows, y=labels, hold=hold
        )

    def _make_trainer(self, device):
        """An ``AdversarialTrainer`` of ``model_`` with this estimator's settings."""
        return AdversarialTrainer(
            self.model_,
            self._regularisers(),
            learning_rate=self.learning_rate,
            discriminator_learning_rate=self._discriminator_learning_rate(),
            max_grad_norm=self.max_grad_norm,
            generator=torch.Generator(device),
            precision=self.precision,
            average_weights=self.average_weights,
        )

    def _discriminator_learning_rate(self):
        """The discriminators' step size; None for a model without discriminators (a VAE)."""
        return getattr(self, "discriminator_learning_rate", None)

    def _adversarial_weight(self):
        """``adversarial_weight``, with "auto" resolved by ``_auto_adversarial_weight``."""
        if self.adversarial_weight != "auto":
            return self.adversarial_weight
        return self._auto_adversarial_weight()

    def _neighbor_weight(self):
        """``neighbor_weight``, with "auto" resolved by ``_auto_neighbor_weight``."""
        if self.neighbor_weight != "auto":
            return self.neighbor_weight
        return self._auto_neighbor_weight()

    def _run_epoch(self, epoch):
        batch_size = self._batch_size(self._train_source.n_samples)
        uses_neighbors = any(r.uses_neighbors for r in self._trainer.regularisers)
        n_neighbors = self.n_neighbors if uses_neighbors else 0
        batches = self._train_source.batches(
            batch_size,
            self._shuffle_generator,
            n_neighbors,
            search_components(self.n_features_in_),
        )
        if self._labelled_source is None:
            return self._trainer.run_epoch(batches)
        labelled = self._cycle_labelled(batch_size)
        return self._trainer.run_epoch(
            batch._replace(labelled=next(labelled)[:2]) for batch in batches
        )

    def _cycle_labelled(self, batch_size):
        """Labelled mini-batches without end, reshuffled at each pass over them."""
        source = self._labelled_source
        size = min(batch_size, source.n_samples)
        return itertools.chain.from_iterable(
            source.batches(size, self._shuffle_generator) for _ in itertools.count()
        )

    def _validation_loss(self):
        return self._trainer.reconstruction_error(self._validation_source.batches(4096))

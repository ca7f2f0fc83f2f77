"""How the estimators train: from ``fit`` to the trainer's epochs.

:class:`TrainingMixin` takes ``fit`` and ``partial_fit`` from their
arguments to the trainer: it validates the data, initialises a fresh model
(or checks the one it resumes), sets up the mini-batch sources and the
:class:`~skaae.training.AdversarialTrainer` with the estimator's
regularisers, and runs the epochs (history, verbose output, early stopping,
callbacks, Ctrl-C, divergence and rollbacks).
"""

import copy
import itertools
import warnings

import numpy as np
import torch

from ._batching import make_batch_source
from ._labels import check_labels
from ._neighbors import search_components
from ._progress import EpochProgress
from ._threads import thread_policy
from .augmentation import check_augmentation, in_model_units
from .losses import RECONSTRUCTION_LOSSES, choose_reconstruction_loss
from .priors import resolve_prior
from .training import AdversarialTrainer, TrainingDivergedError, has_native_bfloat16

__all__ = ["TrainingMixin"]

# max_iter="auto": the epochs of a fit on an array, and the mini-batches of a fit on a table.
_DEFAULT_EPOCHS = 300
_TABLE_BATCHES = 1000
# ... three times as many with label regularisation, whose classes (a rare one too) each
# fill a component of the prior.
_LABELLED_FACTOR = 3

# What continues training, and how to start afresh instead, per method.
_RESUMING = {
    "fit": ("warm_start=True", "set warm_start=False to train new networks"),
    "partial_fit": ("partial_fit", "call fit to train new networks"),
}


class TrainingMixin:
    """How every estimator of the family trains.

    Mixed into a :class:`~skaae._base.BaseAdversarialEstimator`. An estimator
    says what it trains through ``_build_networks`` (its model),
    ``_regularisers`` (its objective next to the reconstruction) and its use
    of labels (``_set_classes``, ``_label_indices_for_fit``,
    ``_uses_labelled_batches``).
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
            loss = (
                "per_column"
                if self.table_transformer_ is not None
                else choose_reconstruction_loss(self.reconstruction_loss, summary)
            )
            self._check_reconstruction_range(summary, loss)
            self._initialise(summary, seed, loss, y)

    def _train(self, X, seed, resume, train=None, validation=None, labels=None, incremental=False):
        """Train on rows ``train`` of ``X`` (all when None), with the epoch loop's fault handling.

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
                max_grad_norm=self.max_grad_norm,
                average_weights=self._average_weights(),
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
            with thread_policy(self.model_, self._batch_size(X.shape[0]), device):
                self._train_epochs(resume, incremental)
        finally:
            self._clear_sources()

    def _initialise(self, summary, seed, loss, y=None):
        """Set the prior, the classes, the loss, the input scaling and fresh networks.

        ``summary`` describes X (see ``_validate_X``); the classes come first,
        since the widths of the networks depend on them.
        """
        self.prior_ = resolve_prior(self.prior, self.n_components)
        self._set_classes(y, summary.n_samples)
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
            self._labelled_source = self._labelled_rows_source(X, device, rows, labels)

    def _labelled_rows_source(self, X, device, rows, labels):
        """The source of the labelled rows among ``rows`` of ``X``; None if there are none."""
        labelled = rows[labels[rows] >= 0]
        if not len(labelled):  # (none: an endless cycle of no batches)
            return None
        # Cycled many times per epoch: held in memory when it fits a window.
        return self._source(X, device, labelled, labels, hold=True)

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
        """Drop what this fit holds (``_per_fit_attributes``: its sources, its shuffle, ...)."""
        for name in self._per_fit_attributes:
            self.__dict__.pop(name, None)

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
            average_weights=self._average_weights(),
        )

    def _average_weights(self):
        """``average_weights``, with "auto" resolved: True for a table."""
        if self.average_weights != "auto":
            return self.average_weights
        return getattr(self, "table_transformer_", None) is not None

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

    def _max_iter(self, n_samples):
        """``max_iter``, with "auto" resolved for ``n_samples`` training rows (see its doc)."""
        if self.max_iter != "auto":
            return self.max_iter
        if getattr(self, "table_transformer_", None) is None:
            return _DEFAULT_EPOCHS
        batches = -(-n_samples // self._batch_size(n_samples))
        wanted = _TABLE_BATCHES * (_LABELLED_FACTOR if self._is_label_regularised() else 1)
        return int(np.clip(round(wanted / batches), 10, _DEFAULT_EPOCHS))

    def _run_epoch(self, epoch):
        batch_size = self._batch_size(self._train_source.n_samples)
        uses_neighbors = any(r.uses_neighbors for r in self._trainer.regularisers)
        n_neighbors = self.n_neighbors if uses_neighbors else 0
        batches = self._train_source.batches(
            batch_size,
            self._shuffle_generator,
            n_neighbors,
            search_components(self._n_model_features()),
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

    # ------------------------------------------------------------ epochs
    def _train_epochs(self, resume=False, incremental=False):
        """Run epochs until ``max_iter``, early stopping or a callback says stop.

        ``incremental=True`` (``partial_fit``) runs one epoch, without early
        stopping.

        Fills ``history_`` and ``n_iter_`` and calls the callbacks (see
        :mod:`skaae.callbacks`). With early stopping, the weights of the epoch
        with the best validation loss (with their optimiser state) are
        restored at the end, as in ``MLPClassifier``. Faults, handled here for every estimator:

        - Ctrl-C keeps the model of the last finished epoch (weights and
          optimiser state; the fresh networks if no epoch finished), warns and
          returns: the estimator stays usable.
        - A non-finite loss raises :class:`TrainingDivergedError`, or with
          ``on_divergence="rollback"`` restores the last finished epoch, warns
          and returns.
        - Any other exception (a raising callback, divergence with
          ``on_divergence="raise"``) propagates after restoring the state from
          before this call for a warm start (``resume=True``: weights,
          optimiser state, ``history_``, ``n_iter_``), or after leaving a
          fresh fit unfitted.
        """
        start = self._snapshot()
        progress = {"last": start, "best": None}
        callbacks = list(self.callbacks or ())
        try:
            try:
                _notify(callbacks, "on_fit_begin", self)
                self._run_epochs(callbacks, progress, incremental)
            except KeyboardInterrupt:
                self._stop_at(progress["last"], "interrupted")
            except TrainingDivergedError as error:
                if self.on_divergence != "rollback":
                    raise
                self._stop_at(progress["last"], "diverged", error)
            if progress["best"] is not None:
                self._restore_model(progress["best"])
            self._finish_fit()
            _notify(callbacks, "on_fit_end", self)
        except TrainingDivergedError as error:
            self._abandon_fit(start, resume)
            raise TrainingDivergedError(f"{type(self).__name__}: {error}") from None
        except BaseException:
            self._abandon_fit(start, resume)
            raise

    def _finish_fit(self):
        """Complete the fitted model once the epochs end, before ``on_fit_end`` (default: nothing).

        Also after Ctrl-C or a rollback; an exception here abandons the fit
        as one from an epoch does.
        """

    def _run_epochs(self, callbacks, progress, incremental=False):
        """The epoch loop: ``progress["last"]`` is the snapshot of the last finished epoch."""
        best_loss, stall = np.inf, 0
        n_epochs = 1 if incremental else self._max_iter(self._train_source.n_samples)
        early_stopping = self.early_stopping and not incremental
        last_epoch = self.n_iter_ + n_epochs
        prefix = getattr(self, "_progress_prefix", "")  # AAEClustering's restarts
        with EpochProgress(self.verbose, last_epoch, prefix) as display:
            for epoch in range(n_epochs):
                record = self._run_epoch(epoch)
                record = {"epoch": len(self.history_) + 1, **record}
                if early_stopping:
                    record["validation_loss"] = self._validation_loss()
                self.history_.append(record)
                self.n_iter_ += 1
                progress["last"] = self._snapshot()
                display.update(record)
                stop = False
                if early_stopping:
                    if record["validation_loss"] < best_loss - self.tol:
                        best_loss, stall = record["validation_loss"], 0
                        progress["best"] = progress["last"]
                    else:
                        stall += 1
                    stop = stall >= self.n_iter_no_change
                if _notify(callbacks, "on_epoch_end", self, record) or stop:
                    break

    def _stop_at(self, snapshot, what, error=None):
        """Go back to ``snapshot`` (the last finished epoch) after a fault, and warn.

        ``_fault`` records ``what`` for callers that fit more than once
        (``AAEClustering``'s restarts stop at an interrupt).
        """
        self._restore(snapshot)
        self._fault = what
        n = self.n_iter_
        if n == 0:
            kept = "the freshly initialised networks are kept (untrained, n_iter_=0)"
        else:
            kept = f"the model of epoch {n}, the last finished one, is kept"
        cause = "" if error is None else f" ({error}); on_divergence='rollback'"
        warnings.warn(
            f"Training {what} after {n} epochs, during epoch {n + 1}{cause}: {kept}.",
            RuntimeWarning,
            stacklevel=5,
        )

    def _abandon_fit(self, start, resume):
        """After an exception: back to the state before ``fit``, or unfitted."""
        if resume:
            self._restore(start)
            return
        self.__dict__.pop("model_", None)
        self.__dict__.pop("_trainer", None)

    def _snapshot(self):
        """A copy of what a rollback restores: weights, optimiser state, progress."""
        trainer = getattr(self, "_trainer", None)
        return {
            "weights": self._weights(),
            "trainer": None if trainer is None else copy.deepcopy(trainer.state_dict()),
            "n_iter": self.n_iter_,
            "n_records": len(self.history_),
        }

    def _restore(self, snapshot):
        self._restore_model(snapshot)
        self.n_iter_ = snapshot["n_iter"]
        del self.history_[snapshot["n_records"] :]

    def _restore_model(self, snapshot):
        """The weights and the trainer's state of ``snapshot``; the progress stays."""
        self._load_weights(snapshot["weights"])
        if snapshot["trainer"] is not None:
            # A copy: the optimisers take over the tensors they are given.
            self._trainer.load_state_dict(copy.deepcopy(snapshot["trainer"]))

    def _weights(self):
        """A copy of the model's weights."""
        return copy.deepcopy(self.model_.state_dict())

    def _load_weights(self, weights):
        self.model_.load_state_dict(weights)


def _notify(callbacks, method, *args):
    """Call ``method`` on every callback that has it; True if any asked to stop."""
    answers = [getattr(cb, method)(*args) for cb in callbacks if hasattr(cb, method)]
    return any(answers)

"""Callbacks: code that runs during ``fit``, passed as ``callbacks=[...]``.

The protocol
------------
A callback is any object with some of these methods (each is optional;
subclassing :class:`Callback` is not required):

``on_fit_begin(estimator)``
    Once per call to ``fit``, before the first epoch; the networks exist
    (fresh, or those of the last fit for a warm start). Reset per-fit state
    here.
``on_epoch_end(estimator, record) -> bool | None``
    After every finished epoch, once ``record`` (the epoch's entry of
    ``history_``) is appended and ``n_iter_`` counts it. Return True to stop
    training after this epoch.
``on_fit_end(estimator)``
    Once training stops: after ``max_iter`` epochs, early stopping, a stop
    asked by a callback, Ctrl-C or a rollback (``on_divergence="rollback"``),
    with the final model in place. Not called when ``fit`` raises.

An exception raised by a callback ends ``fit`` and propagates: a warm start
goes back to the model as it was before the call, a fresh fit is left
unfitted. ``KeyboardInterrupt`` is Ctrl-C: training stops and keeps the last
finished epoch.

Callbacks are parameters of the estimator: ``clone`` (and so
``GridSearchCV``) deep-copies them, and pickling the estimator pickles them,
so a callback must be deep-copyable and picklable, or be given afresh to each
estimator. Keep a callback's state in attributes reset by ``on_fit_begin``.
:func:`skaae.save` does not store callbacks.
"""

import math
import os
import warnings

__all__ = ["Callback", "Checkpoint", "EarlyStopping"]


class Callback:
    """Base class with do-nothing hooks; see the module docstring for the protocol."""

    def on_fit_begin(self, estimator):
        """Called once before the first epoch of each ``fit``."""

    def on_epoch_end(self, estimator, record):
        """Called after each finished epoch; return True to stop training."""

    def on_fit_end(self, estimator):
        """Called once when training stops (not when ``fit`` raises)."""

    def __repr__(self):
        params = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({params})"


class Checkpoint(Callback):
    """Save the estimator with :func:`skaae.save` every ``every`` epochs.

    Each file is written to a temporary file and renamed, so an interrupted
    save never leaves a partial file at ``path``. The file holds
    ``callbacks=None`` (callbacks are not saved).

    Parameters
    ----------
    path : str or os.PathLike
        Where to save. ``{epoch}`` in it is replaced by the epoch number
        (``n_iter_``), e.g. ``"aae-{epoch:04d}.skaae"`` keeps every
        checkpoint; without it each save replaces the last.
    every : int, default=1
        Save after every ``every``-th epoch, counted over warm starts.

    Examples
    --------
    >>> from skaae.callbacks import Checkpoint
    >>> from skaae import AdversarialAutoencoder
    >>> aae = AdversarialAutoencoder(callbacks=[Checkpoint("aae.skaae", every=10)])
    """

    def __init__(self, path, every=1):
        self.path = path
        self.every = every

    def on_fit_begin(self, estimator):
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"Checkpoint(every=...) must be an int >= 1; got {self.every!r}.")

    def on_epoch_end(self, estimator, record):
        if record["epoch"] % self.every == 0:
            self.save(estimator, record["epoch"])

    def save(self, estimator, epoch):
        """Save ``estimator`` to ``path`` (formatted with ``epoch``); return the path."""
        from .persistence import CallbacksNotSavedWarning, save

        path = os.fspath(self.path)
        if "{epoch" in path:
            path = path.format(epoch=epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CallbacksNotSavedWarning)
            save(estimator, path)
        return path


class EarlyStopping(Callback):
    """Stop training when a ``history_`` value has stopped improving.

    Unlike the estimator's own ``early_stopping`` (which holds out validation
    data and restores the best weights), this watches any key of the epoch
    records and keeps the last epoch's model.

    Parameters
    ----------
    monitor : str, default="prior_match"
        The key of the ``history_`` records to watch, e.g. ``"prior_match"``,
        ``"reconstruction_loss"`` or, with ``early_stopping=True``,
        ``"validation_loss"``.
    patience : int, default=10
        Number of epochs without improvement after which training stops.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    mode : {"min", "max"}, default="min"
        Whether lower or higher values are better.

    Attributes
    ----------
    best_ : float or None
        The best value seen in the current fit.
    best_epoch_ : int
        The epoch (``history_`` numbering) of ``best_``.
    stopped_epoch_ : int or None
        The epoch after which it stopped training, None if it did not.
    """

    def __init__(self, monitor="prior_match", patience=10, min_delta=0.0, mode="min"):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode

    def on_fit_begin(self, estimator):
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping(mode=...) must be 'min' or 'max'; got {self.mode!r}.")
        if not isinstance(self.patience, int) or self.patience < 1:
            raise ValueError(
                f"EarlyStopping(patience=...) must be an int >= 1; got {self.patience!r}."
            )
        self.best_, self.best_epoch_, self.stopped_epoch_ = None, None, None
        self._best, self._wait = math.inf, 0  # _best: the value signed so that lower is better

    def on_epoch_end(self, estimator, record):
        if self.monitor not in record:
            raise ValueError(
                f"EarlyStopping(monitor={self.monitor!r}): no such key in the epoch record; "
                f"the keys are {sorted(record)}."
            )
        value = float(record[self.monitor])
        signed = value if self.mode == "min" else -value
        if signed < self._best - self.min_delta:  # False for NaN
            self._best, self._wait = signed, 0
            self.best_, self.best_epoch_ = value, record["epoch"]
            return None
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch_ = record["epoch"]
            return True
        return None

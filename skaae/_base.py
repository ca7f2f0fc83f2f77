"""The shared base of the skaae estimators: their scikit-learn plumbing.

Parameter constraints, input validation, device resolution, seeding, the
registry of estimator classes and device-independent pickling live here, so
every estimator gets them the same way. Training is in
:mod:`skaae._training_mixin`, inference in :mod:`skaae._network_mixin`.
"""

import collections.abc
import copy
import numbers
import threading
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import assert_all_finite
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_array, check_random_state, validate_data

from ._out_of_core import ArraySummary, ChunkedSummary, is_memory_mapped, iter_row_blocks
from ._precision import PRECISIONS
from .losses import RECONSTRUCTION_LOSSES
from .nn import ACTIVATIONS, ENCODERS
from .priors import PRIORS, Prior
from .tabular import TableTransformer, fit_table

__all__ = ["ESTIMATORS", "BaseAdversarialEstimator", "ModelPart", "resolve_device"]

ESTIMATORS = {}
"""skaae's estimator classes by name, filled as they are defined (see
``BaseAdversarialEstimator.__init_subclass__``); :func:`skaae.save` and
:func:`skaae.load` handle exactly these."""

# hidden_layer_sizes="auto": the networks of an array's model, and of a table's, whose
# one-hot and quantile-normalised columns fit as well in half the width at a third of the cost.
_HIDDEN_LAYERS = (256, 256)
_TABLE_HIDDEN_LAYERS = (128, 128)

# Serialises the lazy move of the networks to the device, so that threads
# calling transform at once never run a half-moved network.
_DEVICE_LOCK = threading.Lock()


def resolve_device(device):
    """Turn the ``device`` parameter into a ``torch.device``.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. A CUDA
    device asked for on a machine without one falls back to the CPU with a
    warning, so that a model saved on a GPU machine runs anywhere.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = _parse_device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"device={str(device)!r} was requested but CUDA is not available; using the CPU.",
            RuntimeWarning,
            stacklevel=3,
        )
        return torch.device("cpu")
    return device


class RegistryNames(collections.abc.Set):
    """The names of a registry (a dict), plus fixed extra names, read at each look-up.

    For ``StrOptions`` in ``_parameter_constraints``: a prior, encoder kind or
    reconstruction loss registered after skaae is imported is then a valid
    option as soon as it is in its registry.
    """

    def __init__(self, registry, *extra):
        self._registry, self._extra = registry, extra

    def __contains__(self, name):
        return name in self._extra or name in self._registry

    def __iter__(self):
        yield from self._extra
        yield from (name for name in self._registry if name not in self._extra)

    def __len__(self):
        return sum(1 for _ in self)

    @classmethod
    def _from_iterable(cls, iterable):
        # Set operations (``a - b``) give plain frozensets, not live views.
        return frozenset(iterable)


class ModelPart:
    """A fitted attribute that is one network of the estimator's ``model_`` (read-only).

    Parameters
    ----------
    path : str
        The network's path in the model (``model_.get_submodule(path)``).
    doc : str
        What the network is.
    """

    def __init__(self, path, doc):
        self.path = path
        self.__doc__ = doc

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self
        model = estimator.__dict__.get("model_")
        if model is None:  # unfitted: hasattr() is False, as for any fitted attribute
            raise AttributeError(f"{owner.__name__!r} object has no attribute {self.name!r}")
        return model.get_submodule(self.path)

    def __set__(self, estimator, value):
        raise AttributeError(
            f"{self.name} is a view of the fitted model_; replace networks through model_."
        )


class BaseAdversarialEstimator(BaseEstimator):
    """Plumbing shared by the adversarial autoencoder estimators.

    The fitted networks live in ``model_`` (an
    :class:`~skaae.model.AutoencoderModel`); ``_module_attributes`` names
    the :class:`ModelPart` attributes that expose them.

    For :func:`skaae.save` / :func:`skaae.load`, subclasses also list their
    other fitted attributes in ``_json_attributes`` (stored as JSON) and
    ``_array_attributes`` (numpy arrays or None), and implement
    ``_build_networks()``: a fresh ``model_`` built from those attributes alone.
    """

    _module_attributes = ()
    # The fitted attributes every model of the family has (stored by skaae.save).
    _json_attributes = (
        "n_features_in_",
        "feature_names_in_",
        "prior_",
        "classes_",
        "reconstruction_loss_",
        "table_transformer_",
        "history_",
        "n_iter_",
        "_n_features_out",
        "_fitted_structure",
    )
    _array_attributes = ("_offset", "_scale")
    # Fitted attributes added after files were written, with their value for such a file.
    _attribute_defaults = {"table_transformer_": None}
    # What a fit holds while it runs (its data among them): left out of a pickle
    # taken during the fit, e.g. by a callback.
    _per_fit_attributes = (
        "_train_source",
        "_validation_source",
        "_labelled_source",
        "_shuffle_generator",
    )

    # A shared base class sets this in its own body: it is not an estimator of its own.
    _abstract = True

    def __init_subclass__(cls, **kwargs):
        """Register every concrete estimator class of skaae in :data:`ESTIMATORS`."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.split(".")[0] == "skaae" and not cls.__dict__.get("_abstract", False):
            ESTIMATORS[cls.__name__] = cls

    # Parameters that fix the networks' shapes; warm_start refuses to change them.
    _structural_parameters = (
        "n_components",
        "prior",
        "hidden_layer_sizes",
        "activation",
        "reconstruction_loss",
        "table",
    )

    # The parameters of the model and its adversary, shared by the AAE estimators.
    _model_parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "prior": [StrOptions(RegistryNames(PRIORS)), Prior],
        "posterior": [StrOptions(RegistryNames(ENCODERS))],
        "hidden_layer_sizes": [
            "array-like",
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "discriminator_layer_sizes": [
            "array-like",
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "reconstruction_loss": [StrOptions(RegistryNames(RECONSTRUCTION_LOSSES, "auto"))],
        "activation": [StrOptions(RegistryNames(ACTIVATIONS))],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "discriminator_learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "adversarial_weight": [
            Interval(numbers.Real, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "discriminator_noise": [Interval(numbers.Real, 0, None, closed="left")],
        "neighbor_weight": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    _common_parameter_constraints = {
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        # Any torch device string ("cuda:1", ...); checked by resolve_device in fit.
        "device": [torch.device, str],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "max_grad_norm": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "on_divergence": [StrOptions({"raise", "rollback"})],
        "precision": [StrOptions(set(PRECISIONS))],
        "average_weights": ["boolean", StrOptions({"auto"})],
        # f(x, generator) -> tensor (skaae.augmentation); its output checked in fit.
        "augmentation": [callable, None],
        # Each item follows the protocol of skaae.callbacks; checked in _validate_params.
        "callbacks": [list, tuple, None],
        "table": [StrOptions({"auto"}), TableTransformer, None],
    }

    # ----------------------------------------------------------- validation
    def _validate_params(self):
        """Check the declared constraints, the ``*_layer_sizes`` and the device."""
        super()._validate_params()
        for name, sizes in self.get_params(deep=False).items():
            if name.endswith("_layer_sizes") and not (isinstance(sizes, str) and sizes == "auto"):
                _layer_sizes(sizes, name, type(self).__name__)
        _parse_device(self.device)
        _check_callbacks(self.callbacks)

    def _validate_X(self, X, reset, summarise=False):
        """Validate ``X`` (dense, sparse, DataFrame or memmap); record or check its features.

        A memory-mapped ``X`` is not copied: it is checked chunk by chunk (see
        :mod:`skaae._out_of_core`). With ``summarise=True``, return
        ``(X, summary)``: the range of ``X`` (attributes ``min``, ``max``) and,
        for a fresh fit (``reset=True``, when the input scaling is set), its
        column moments (``mean``, ``var``), gathered in the same pass for a
        memmap and computed on first use otherwise.

        A table (see the ``table`` parameter) becomes the block matrix of the
        fitted ``table_transformer_``, which a fresh fit learns here.
        """
        table = self._table_for(X, reset)
        if table is not None:
            if reset:
                validate_data(self, X, reset=True, skip_check_array=True)
            X = table.transform(X)
            return (X, ArraySummary(X)) if summarise else X
        if is_memory_mapped(X):
            X = self._check_memmap(X, reset)
            moments = summarise and reset
            summary = _summarise_memmap(X, type(self).__name__, moments=moments)
        else:
            X = validate_data(
                self,
                X,
                reset=reset,
                accept_sparse=("csr", "csc"),
                dtype=(np.float64, np.float32),
                ensure_min_samples=1,
            )
            _check_float32_range(X, "X")
            summary = ArraySummary(X)
        return (X, summary) if summarise else X

    def _table_for(self, X, reset):
        """The table transformer of ``X``: fitted here when ``reset``, else the fitted one."""
        if reset:
            table = self.table
            if sp.issparse(X) or is_memory_mapped(X):
                if isinstance(table, TableTransformer):
                    raise ValueError(
                        "A table must be a DataFrame or an array, not sparse or memory-mapped X."
                    )
                table = None  # (numbers only)
            self.table_transformer_ = fit_table(table, self.reconstruction_loss, X)
        return getattr(self, "table_transformer_", None)

    def _hidden_layer_sizes(self):
        """The fitted ``hidden_layer_sizes``, with "auto" resolved: (128, 128) for a table,
        else (256, 256)."""
        sizes = self._fitted_structure["hidden_layer_sizes"]
        if isinstance(sizes, str) and sizes == "auto":
            table = getattr(self, "table_transformer_", None)
            return _TABLE_HIDDEN_LAYERS if table is not None else _HIDDEN_LAYERS
        return _layer_sizes(sizes)

    def _n_model_features(self):
        """The width of the networks' input: the table's block matrix, or X's features."""
        table = getattr(self, "table_transformer_", None)
        return self.n_features_in_ if table is None else table.n_features_out_

    def _check_memmap(self, X, reset):
        """Check the shape and dtype of memory-mapped ``X`` without reading it; return it.

        Any numeric dtype is kept as it is (batches are converted to float32
        as they are read); scikit-learn's own checks run on the first row.
        """
        head = X[:1] if X.ndim else X
        check_array(
            head,
            dtype=(np.float64, np.float32),
            ensure_min_samples=1,
            input_name="X",
            estimator=self,
        )
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} reads memory-mapped X with a numeric dtype only; "
                f"got dtype {X.dtype}."
            )
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _check_finite_output(self, values, what):
        """Raise if finite input gave non-finite ``values`` (float32 overflow in the networks)."""
        if not np.isfinite(values).all():
            raise ValueError(
                f"{type(self).__name__} computed non-finite {what} from finite input: the "
                "values are too large for the networks, which compute in float32 (overflow). "
                "Scale the input down."
            )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(128, n_samples)
        return min(self.batch_size, n_samples)

    def _seed(self):
        """One integer seed drawn from ``random_state``, for torch generators."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _split_rows(self, n_samples, seed):
        """Sorted row indices ``(train, validation)``; ``(None, None)`` without early stopping.

        Indices rather than copies, so that a memory-mapped X stays on disk.
        """
        n_val = round(self.validation_fraction * n_samples) if self.early_stopping else 0
        if n_val < 1 or n_val >= n_samples:
            if self.early_stopping:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves no validation or "
                    f"no training samples out of {n_samples}."
                )
            return None, None
        order = np.random.RandomState(seed).permutation(n_samples)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _check_warm_start_structure(
        self, what="warm_start=True", remedy="set warm_start=False to train new networks"
    ):
        """Raise if a parameter that shapes the networks changed since the last fit."""
        params = self.get_params(deep=False)
        # A model saved before a structural parameter existed was fitted at its default.
        fitted = {**self._default_structure(), **self._fitted_structure}
        changed = [
            name
            for name in self._structural_parameters
            if _comparable(params[name]) != _comparable(fitted[name])
        ]
        if changed:
            raise ValueError(f"{what} cannot change {', '.join(changed)} after fitting; {remedy}.")

    @classmethod
    def _default_structure(cls):
        """The structural parameters at their defaults."""
        defaults = cls().get_params(deep=False)
        return {name: defaults[name] for name in cls._structural_parameters}

    def _record_structure(self):
        params = self.get_params(deep=False)
        self._fitted_structure = {
            name: copy.deepcopy(params[name]) for name in self._structural_parameters
        }

    # ----------------------------------------------------------- device
    def _runtime_device(self):
        """The device to compute on now; moves the networks there if needed."""
        device = resolve_device(self.device)
        with _DEVICE_LOCK:
            model = self.__dict__.get("model_")
            if model is not None and model.device != device:
                model.to(device)
        return device

    def __sklearn_is_fitted__(self):
        return "model_" in self.__dict__

    # ----------------------------------------------------------- pickling
    def __getstate__(self):
        # A copy: on Python >= 3.11 object.__getstate__ returns the live __dict__,
        # and pickling must not drop the trainer or swap the networks of self.
        state = dict(super().__getstate__())
        for name in ("_trainer", *self._per_fit_attributes):
            state.pop(name, None)
        model = state.get("model_")
        if model is not None and model.device.type != "cpu":
            state["model_"] = copy.deepcopy(model).to("cpu")
        return state

    def __setstate__(self, state):
        # A pickle of skaae 0.1.0 holds the networks as attributes (encoder_, ...),
        # not a model_: rebuild the model from the fitted attributes and take them over.
        networks = {name: state.pop(name) for name in self._module_attributes if name in state}
        # Parameters and fitted attributes added since the pickle was written: their defaults.
        defaults = type(self)().get_params(deep=False)
        state = {**{name: value for name, value in defaults.items() if name not in state}, **state}
        if networks or "model_" in state:
            state = {**self._attribute_defaults, **state}
        super().__setstate__(state)
        if networks and "model_" not in self.__dict__:
            with torch.random.fork_rng(devices=[]):
                self._build_networks()
            for name, network in networks.items():
                getattr(self, name).load_state_dict(network.state_dict())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_CALLBACK_METHODS = ("on_fit_begin", "on_epoch_end", "on_fit_end")


def _check_callbacks(callbacks):
    """Refuse a ``callbacks`` item that follows none of the protocol (see skaae.callbacks)."""
    for callback in callbacks or ():
        if isinstance(callback, type) or not any(
            callable(getattr(callback, method, None)) for method in _CALLBACK_METHODS
        ):
            raise InvalidParameterError(
                f"Each item of 'callbacks' must be an object with at least one of the methods "
                f"{', '.join(_CALLBACK_METHODS)} (see skaae.callbacks); got {callback!r}."
            )


def _check_float32_range(X, input_name):
    """Raise if float64 ``X`` (dense or sparse) holds values that overflow float32."""
    values = X.data if sp.issparse(X) else X
    if values.dtype != np.float64 or values.size == 0:
        return
    largest = float(np.abs(values).max())
    limit = float(np.finfo(np.float32).max)
    if largest > limit:
        raise ValueError(
            f"Input {input_name} contains values too large for float32 (largest magnitude "
            f"{largest:.4g} > {limit:.4g}), the precision the networks compute in; they would "
            f"overflow to infinity. Scale {input_name} down."
        )


def _float_dtype(X):
    """The dtype of outputs computed from ``X``: its own if float32/64, else float64.

    (A memmap keeps its integer dtype; arrays in memory are converted to
    float64 by validation, so integer data gives float64 results either way.)
    """
    return X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _summarise_memmap(X, estimator_name, moments):
    """Check memory-mapped ``X`` chunk by chunk and summarise it in the same pass.

    Each chunk must be finite and, in float64, within the float32 range.
    """
    summary = ChunkedSummary(X.shape[1], moments=moments)
    for start, chunk in iter_row_blocks(X):
        try:
            assert_all_finite(chunk, input_name="X", estimator_name=estimator_name)
        except ValueError as error:
            row = start + int(np.flatnonzero(~np.isfinite(chunk).all(axis=1))[0])
            raise ValueError(f"{error}\nThe first non-finite value is in row {row}.") from None
        _check_float32_range(chunk, "X")
        summary.update(chunk)
    return summary


def _parse_device(device):
    """``torch.device(device)``, with a ValueError naming a bad device string."""
    if device == "auto":
        return device
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a valid torch device: {error}") from None


def _layer_sizes(sizes, name="hidden_layer_sizes", owner="the estimator"):
    """``sizes`` as a tuple of positive ints (an int is one layer, as in MLPClassifier)."""
    layers = (sizes,) if isinstance(sizes, numbers.Integral) else sizes
    try:
        layers = tuple(layers)
    except TypeError:
        layers = None
    if layers is None or not all(
        isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1
        for size in layers
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a positive int or a sequence of "
            f"positive ints. Got {sizes!r} instead."
        )
    return tuple(int(size) for size in layers)


def _comparable(value):
    """A value that compares equal for equal parameter settings (priors by their params)."""
    if isinstance(value, BaseEstimator):
        return (type(value), repr(sorted(value.get_params(deep=False).items())))
    if isinstance(value, list | tuple):
        return tuple(value)
    return value

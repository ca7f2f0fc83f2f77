"""Safe persistence: :func:`save` and :func:`load`, a file format that runs no code.

A pickle (or joblib) file can run arbitrary code when it is loaded; only load
one you made yourself. :func:`load` never unpickles code, so it is the way to
open a model file from anyone else, and, being versioned, to keep one for
long.

File format (``format_version`` 1)
-----------------------------------
One zip file with exactly three members:

``checksums.json``
    ``{"format": "skaae", "format_version": 1, "members": {name: sha256}}``:
    the SHA-256 of each of the two other members. It is read first; nothing
    else is parsed until every checksum matches.
``metadata.json``
    ``format``, ``format_version``, ``skaae_version``, ``torch_version``,
    ``estimator`` (the class name, one of :data:`ESTIMATORS`), ``params``
    (``get_params(deep=False)``), ``attributes`` (the fitted attributes stored
    as JSON), ``arrays`` (the names of the fitted numpy arrays, or ``null``
    for an array attribute that is ``None``) and, when ``set_output`` was
    called, ``output_config`` (e.g. ``{"transform": "pandas"}``, absent from
    older files). Values that JSON cannot hold are
    tagged objects ``{"__type__": kind, ...}``: ``tuple``, ``float`` (NaN and
    infinities), ``numpy_scalar``, ``ndarray`` (numeric or str), ``device``
    (``torch.device``), ``random_state`` (``numpy.random.RandomState``) and
    ``prior`` (a :class:`~skaae.priors.Prior` by class name, one of
    :data:`~skaae.priors.PRIORS`, with its parameters and, for a fitted prior,
    its code dimension).
``tensors.pt``
    ``torch.save`` of ``{"modules": {name: state_dict}, "arrays": {name:
    tensor}}`` with CPU tensors only, read back with ``torch.load(...,
    weights_only=True)``.

A checksum guards against truncation and accidental corruption, not against a
forger, who can rewrite it; safety comes from what :func:`load` accepts:
JSON decoded through a whitelist of types and classes, and tensors only.

Adding an estimator
-------------------
Every estimator class defined in skaae is in :data:`ESTIMATORS` (a shared
base class opts out with ``_abstract = True`` in its body). Declare on it, next to
``_module_attributes`` (the ``nn.Module`` attributes, stored as state dicts):
``_json_attributes`` and ``_array_attributes`` (the other fitted attributes,
stored as JSON and as tensors), and a ``_build_networks()`` method that builds
the modules, with fresh weights, from those attributes alone.
"""

import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
import zlib

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._base import ESTIMATORS
from ._json_values import UnsafeOrCorruptFileError, decode, encode

__all__ = ["ESTIMATORS", "FORMAT_VERSION", "UnsafeOrCorruptFileError", "load", "save"]

FORMAT_NAME = "skaae"
FORMAT_VERSION = 1
# The set_output keys stored (scikit-learn's set_output configures "transform"),
# and the values it accepts.
_OUTPUT_KEYS = ("transform",)
_OUTPUT_VALUES = {"default", "pandas", "polars"}
"""Version of the file format that :func:`save` writes and :func:`load` reads."""


_CHECKSUMS, _METADATA, _TENSORS = "checksums.json", "metadata.json", "tensors.pt"
_MEMBERS = frozenset({_CHECKSUMS, _METADATA, _TENSORS})
_MAX_JSON_BYTES = 64 << 20


# ---------------------------------------------------------------- save
def save(estimator, path):
    """Save a fitted skaae estimator to ``path`` in the safe format.

    The file holds the parameters and fitted state as JSON and the network
    weights as tensors; :func:`load` reads it back without running any code
    from it. Written to a temporary file first, so a failed save leaves no
    partial file at ``path``.

    ``callbacks`` are code, which the format never stores: the file holds
    ``callbacks=None`` (with a ``UserWarning`` when the estimator has any);
    pass them again after :func:`load` to keep using them.

    Parameters
    ----------
    estimator : AdversarialAutoencoder
        A fitted estimator of a class in :data:`ESTIMATORS`.
    path : str or os.PathLike
        Where to write the file (conventionally ``*.skaae``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator's class, or a parameter value, cannot be stored
        safely (e.g. a subclass, a custom Prior or augmentation); use pickle for
        those.
    """
    path = os.fsdecode(path)  # a TypeError naming the type for anything but a path
    cls = type(estimator)
    if ESTIMATORS.get(cls.__name__) is not cls:
        raise TypeError(
            f"skaae.save handles {sorted(ESTIMATORS)}, not {cls.__module__}.{cls.__qualname__}; "
            "use pickle or joblib for other estimators."
        )
    check_is_fitted(estimator)
    arrays = {name: getattr(estimator, name) for name in cls._array_attributes}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "skaae_version": _skaae_version(),
        "torch_version": torch.__version__,
        "estimator": cls.__name__,
        "params": encode(_storable_params(estimator)),
        "attributes": {
            name: encode(getattr(estimator, name))
            for name in cls._json_attributes
            if hasattr(estimator, name)  # e.g. feature_names_in_ only with named columns
        },
        "arrays": {name: None if value is None else name for name, value in arrays.items()},
    }
    output_config = _output_config(estimator)
    if output_config:
        metadata["output_config"] = output_config
    tensors = {
        "modules": {
            name: {key: t.detach().cpu().clone() for key, t in module.state_dict().items()}
            for name in cls._module_attributes
            for module in [getattr(estimator, name)]
        },
        "arrays": {
            name: torch.from_numpy(np.array(value, copy=True))
            for name, value in arrays.items()
            if value is not None
        },
    }
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    payload = {
        _METADATA: json.dumps(metadata, allow_nan=False, indent=1).encode(),
        _TENSORS: buffer.getvalue(),
    }
    checksums = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "members": {name: hashlib.sha256(data).hexdigest() for name, data in payload.items()},
    }
    payload = {_CHECKSUMS: json.dumps(checksums, indent=1).encode(), **payload}
    _write_atomically(os.fspath(path), payload)


class CallbacksNotSavedWarning(UserWarning):
    """:func:`save` stored ``callbacks=None``: callbacks are code and are not saved."""


def _output_config(estimator):
    """What ``set_output`` asked for: ``{"transform": "pandas"}``, or ``{}``."""
    config = getattr(estimator, "_sklearn_output_config", {})
    return {key: config[key] for key in _OUTPUT_KEYS if isinstance(config.get(key), str)}


def _restore_output_config(estimator, config):
    """Call ``set_output`` as the saved estimator had, after checking the stored values."""
    if config is None:
        return  # a file written before the key existed, or without set_output
    if not isinstance(config, dict) or not set(config) <= set(_OUTPUT_KEYS):
        raise UnsafeOrCorruptFileError(f"Unexpected output_config in the file: {config!r}.")
    for key, value in config.items():
        if value not in _OUTPUT_VALUES:
            raise UnsafeOrCorruptFileError(
                f"Unexpected output_config[{key!r}] in the file: {value!r}; expected one of "
                f"{sorted(_OUTPUT_VALUES)}."
            )
    if config:
        estimator.set_output(**config)


def _storable_params(estimator):
    params = estimator.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn(
            f"skaae.save does not store callbacks (code); the file holds callbacks=None instead "
            f"of {params['callbacks']!r}. Pass them again after skaae.load.",
            CallbacksNotSavedWarning,
            stacklevel=3,
        )
    if "callbacks" in params:
        params["callbacks"] = None
    return params


def _write_atomically(path, payload):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".skaae-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file, zipfile.ZipFile(file, "w") as archive:
            for name, data in payload.items():
                kind = zipfile.ZIP_STORED if name == _TENSORS else zipfile.ZIP_DEFLATED
                archive.writestr(name, data, compress_type=kind)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _skaae_version():
    from . import __version__

    return __version__


# ---------------------------------------------------------------- load
def load(path):
    """Load an estimator saved by :func:`save`, without running code from the file.

    The checksums are verified before anything else is read; the JSON is
    decoded through a whitelist of types, estimator classes
    (:data:`ESTIMATORS`) and priors (:data:`~skaae.priors.PRIORS`); the
    tensors are read with ``torch.load(weights_only=True)``. The networks are
    on the CPU; the ``device`` parameter is kept and applies from the next
    call, as after unpickling.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.

    Returns
    -------
    estimator : AdversarialAutoencoder
        The fitted estimator: it predicts as the saved one did and can keep
        training with ``warm_start=True`` (with fresh optimiser state, as
        after unpickling).

    Raises
    ------
    UnsafeOrCorruptFileError
        If the file is not a skaae file, is truncated or corrupt, fails its
        checksum, was written by a newer format version, names an estimator or
        prior outside the whitelists, holds unexpected members or values, or
        carries a pickle that is not plain tensors.
    """
    path = os.fsdecode(path)  # a TypeError naming the type for anything but a path
    # Opened first: a missing or unreadable path raises its own OSError, and
    # any OSError after that comes from a damaged archive.
    with open(path, "rb") as file:
        try:
            with zipfile.ZipFile(file) as archive:
                members = _read_verified_members(archive)
        except UnsafeOrCorruptFileError:
            raise
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            zlib.error,
            NotImplementedError,  # a damaged header naming an unsupported compression method
            RuntimeError,  # a damaged header flagging a member as encrypted
            OSError,  # a damaged offset seeking before the start of the file
            ValueError,  # the same, from a file object that checks the seek itself
        ) as error:
            raise UnsafeOrCorruptFileError(
                f"{path!r} is not a skaae file or is truncated or corrupt: {error}"
            ) from None
    metadata = _parse_json(members[_METADATA], _METADATA)
    _check_header(metadata, _METADATA)
    tensors = _load_tensors(members[_TENSORS])
    try:
        return _build_estimator(metadata, tensors)
    except UnsafeOrCorruptFileError:
        raise
    except (ValueError, TypeError, KeyError, RuntimeError) as error:
        raise UnsafeOrCorruptFileError(
            f"The skaae file holds an invalid estimator state: {error}"
        ) from None


def _read_verified_members(archive):
    """The members' bytes, once the member list and every checksum check out."""
    names = [info.filename for info in archive.infolist()]
    if set(names) != _MEMBERS or len(names) != len(_MEMBERS):
        raise UnsafeOrCorruptFileError(
            f"Not a skaae file: expected the members {sorted(_MEMBERS)}, found {sorted(names)}."
        )
    for info in archive.infolist():
        if info.filename != _TENSORS and info.file_size > _MAX_JSON_BYTES:
            raise UnsafeOrCorruptFileError(f"{info.filename} is implausibly large.")
    checksums = _parse_json(archive.read(_CHECKSUMS), _CHECKSUMS)
    _check_header(checksums, _CHECKSUMS)
    expected = checksums.get("members")
    if not isinstance(expected, dict) or set(expected) != _MEMBERS - {_CHECKSUMS}:
        raise UnsafeOrCorruptFileError(f"{_CHECKSUMS} does not list the file's members.")
    members = {}
    for name, digest in expected.items():
        data = archive.read(name)
        if hashlib.sha256(data).hexdigest() != digest:
            raise UnsafeOrCorruptFileError(
                f"Checksum mismatch for {name}: the file was modified or corrupted."
            )
        members[name] = data
    return members


def _parse_json(data, name):
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise UnsafeOrCorruptFileError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UnsafeOrCorruptFileError(f"{name} is not a JSON object.")
    return value


def _refuse_constant(name):
    raise ValueError(f"non-standard constant {name}")


def _check_header(document, name):
    if document.get("format") != FORMAT_NAME:
        raise UnsafeOrCorruptFileError(f"Not a skaae file: {name} has no 'format': 'skaae'.")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UnsafeOrCorruptFileError(f"Invalid format_version {version!r} in {name}.")
    if version > FORMAT_VERSION:
        raise UnsafeOrCorruptFileError(
            f"The file has format_version {version}, newer than this skaae reads "
            f"({FORMAT_VERSION}); upgrade skaae to load it."
        )


def _load_tensors(data):
    try:
        tensors = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:  # any failure here means a refused payload
        raise UnsafeOrCorruptFileError(
            f"{_TENSORS} is not a plain tensor file (refused by weights_only loading, so "
            f"nothing in it ran): {_torch_reason(error)}"
        ) from None
    valid = (
        isinstance(tensors, dict)
        and set(tensors) == {"modules", "arrays"}
        and isinstance(tensors["modules"], dict)
        and all(_is_tensor_dict(state) for state in tensors["modules"].values())
        and _is_tensor_dict(tensors["arrays"])
    )
    if not valid:
        raise UnsafeOrCorruptFileError(f"{_TENSORS} does not hold the expected tensor layout.")
    return tensors


def _torch_reason(error):
    """The line of torch's error that says what was refused, without its advice to
    retry with ``weights_only=False`` (which would run the payload)."""
    lines = [line.strip() for line in str(error).splitlines()]
    reason = " ".join(line for line in lines if line and "weights_only" not in line)
    return f"{type(error).__name__}: {reason or 'refused'}"[:300]


def _is_tensor_dict(mapping):
    return isinstance(mapping, dict) and all(
        isinstance(key, str) and type(value) is torch.Tensor for key, value in mapping.items()
    )


def _build_estimator(metadata, tensors):
    name = metadata.get("estimator")
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise UnsafeOrCorruptFileError(
            f"Unknown estimator class {name!r}; skaae.load accepts only {sorted(ESTIMATORS)}."
        )
    cls = ESTIMATORS[name]
    params = decode(metadata.get("params"))
    # A parameter added after the file was written takes its default; one this
    # skaae does not know is refused.
    expected = set(cls().get_params(deep=False))
    if not isinstance(params, dict) or not set(params) <= expected:
        raise UnsafeOrCorruptFileError(f"The parameters stored do not match those of {name}.")
    estimator = cls(**params)
    estimator._validate_params()
    attributes, arrays = metadata.get("attributes"), metadata.get("arrays")
    _check_names(attributes, cls._json_attributes, "attributes", subset=True)
    _check_names(arrays, cls._array_attributes, "arrays")
    _check_names(tensors["modules"], cls._module_attributes, "modules")
    present = {key for key, value in arrays.items() if value is not None}
    if set(tensors["arrays"]) != present:
        raise UnsafeOrCorruptFileError(f"{_TENSORS} does not hold the arrays the metadata lists.")
    for key, value in {**cls._attribute_defaults, **attributes}.items():
        setattr(estimator, key, decode(value))
    for key in cls._array_attributes:
        tensor = tensors["arrays"].get(key)
        setattr(estimator, key, None if tensor is None else tensor.numpy())
    with torch.random.fork_rng(devices=[]):
        estimator._build_networks()
    for key in cls._module_attributes:
        getattr(estimator, key).load_state_dict(tensors["modules"][key], strict=True)
    _restore_output_config(estimator, metadata.get("output_config"))
    return estimator


def _check_names(mapping, names, what, subset=False):
    """Refuse unless ``mapping``'s keys are ``names`` (or, with ``subset``, some of them)."""
    keys = set(mapping) if isinstance(mapping, dict) else None
    if keys is None or not (keys <= set(names) if subset else keys == set(names)):
        found = sorted(keys) if keys is not None else type(mapping).__name__
        raise UnsafeOrCorruptFileError(
            f"Unexpected {what} in the file: found {found}, expected {sorted(names)}."
        )

"""JSON encoding of the values that :mod:`skaae.persistence` stores.

Plain JSON holds what it can; everything else becomes a tagged object
``{"__type__": kind, ...}`` from a closed list of kinds (tuples, non-finite
floats, numpy scalars and numeric arrays, torch devices, RandomState
instances, priors from :data:`skaae.priors.PRIORS`, augmentations from
:data:`skaae.augmentation.AUGMENTATIONS` and table transformers with their
fitted state). Decoding accepts
exactly these kinds and nothing else, so a file cannot name code to run.
"""

import math
import numbers

import numpy as np
import torch

from .augmentation import AUGMENTATIONS
from .priors import PRIORS, Prior
from .tabular import TableTransformer

__all__ = ["UnsafeOrCorruptFileError", "decode", "encode"]

_NUMERIC_DTYPES = frozenset("?bhilqBHILQefd")  # dtype.char of bool, ints and floats


class UnsafeOrCorruptFileError(ValueError):
    """:func:`skaae.load` refused a file: not a skaae file, corrupt, tampered with or unsafe.

    Raised before anything in the file is used: nothing in it has run.
    """


# ---------------------------------------------------------------- JSON codec
def _prior_classes():
    """The priors of :data:`~skaae.priors.PRIORS` by class name, as registered now."""
    return {cls.__name__: cls for cls in PRIORS.values()}


def encode(value):
    """``value`` as plain JSON, with the tagged objects listed in the module docstring."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        if value.dtype.char not in _NUMERIC_DTYPES:
            raise TypeError(f"Cannot store a numpy scalar of dtype {value.dtype} safely.")
        return {
            "__type__": "numpy_scalar",
            "dtype": value.dtype.str,
            "value": encode(value.item()),
        }
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"__type__": "float", "value": repr(value)}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {"__type__": "tuple", "items": [encode(item) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value) or "__type__" in value:
            raise TypeError("Cannot store a dict whose keys are not all str, or with '__type__'.")
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, torch.device):
        return {"__type__": "device", "value": str(value)}
    if isinstance(value, np.random.RandomState):
        kind, keys, pos, has_gauss, cached = value.get_state()
        return {"__type__": "random_state", "state": encode((kind, keys, pos, has_gauss, cached))}
    if isinstance(value, Prior):
        return _encode_prior(value)
    if type(value) is TableTransformer:
        encoded = {"__type__": "table_transformer",
                   "params": encode(value.get_params(deep=False))}  # fmt: skip
        if hasattr(value, "columns_"):
            encoded["state"] = encode(value.get_state())
        return encoded
    if AUGMENTATIONS.get(type(value).__name__) is type(value):
        return {"__type__": "augmentation", "augmentation_class": type(value).__name__,
                "params": encode(value.get_params(deep=False))}  # fmt: skip
    raise TypeError(
        f"Cannot store a value of type {type(value).__name__} safely; use pickle or joblib."
    )


def _encode_array(array):
    if array.dtype.char in _NUMERIC_DTYPES:
        data = [encode(item) for item in array.ravel().tolist()]
        return {"__type__": "ndarray", "dtype": array.dtype.str, "shape": list(array.shape),
                "data": data}  # fmt: skip
    if array.dtype.kind in "OU" and all(isinstance(item, str) for item in array.ravel().tolist()):
        return {"__type__": "ndarray", "dtype": "str" if array.dtype.kind == "U" else "object_str",
                "shape": list(array.shape), "data": array.ravel().tolist()}  # fmt: skip
    raise TypeError(f"Cannot store an array of dtype {array.dtype} safely.")


def _encode_prior(prior):
    cls = type(prior)
    classes = _prior_classes()
    if classes.get(cls.__name__) is not cls:
        raise TypeError(
            f"Cannot store the prior {cls.__qualname__} safely: skaae.save handles the priors of "
            f"skaae.priors.PRIORS ({sorted(classes)}); use pickle or joblib instead."
        )
    encoded = {"__type__": "prior", "prior_class": cls.__name__,
               "params": encode(prior.get_params(deep=False))}  # fmt: skip
    if hasattr(prior, "n_components_"):
        encoded["n_components"] = int(prior.n_components_)
    return encoded


def decode(value):
    """Inverse of :func:`encode`; raises UnsafeOrCorruptFileError on anything else."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        raise UnsafeOrCorruptFileError(f"Unexpected JSON value {value!r}.")
    if "__type__" not in value:
        return {key: decode(item) for key, item in value.items()}
    kind = value["__type__"]
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise UnsafeOrCorruptFileError(f"Unknown tagged value {kind!r} in the metadata.")
    try:
        return decoder(value)
    except UnsafeOrCorruptFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise UnsafeOrCorruptFileError(f"Invalid {kind!r} value in the metadata: {error}") from None


def _check_list(value):
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _decode_float(value):
    if value["value"] not in ("nan", "inf", "-inf"):
        raise ValueError(f"not a non-finite float: {value['value']!r}")
    return float(value["value"])


def _decode_numpy_scalar(value):
    dtype = _numeric_dtype(value["dtype"])
    return dtype.type(decode(value["value"]))


def _numeric_dtype(name):
    if not isinstance(name, str):
        raise TypeError("dtype must be a str")
    dtype = np.dtype(name)
    if dtype.char not in _NUMERIC_DTYPES:
        raise ValueError(f"dtype {name!r} is not numeric")
    return dtype


def _decode_ndarray(value):
    shape = tuple(value["shape"])
    if not all(isinstance(size, int) and size >= 0 for size in shape):
        raise ValueError(f"invalid shape {shape!r}")
    data = value["data"]
    if not isinstance(data, list) or len(data) != math.prod(shape):
        raise ValueError("data does not match the shape")
    if value["dtype"] in ("str", "object_str"):
        if not all(isinstance(item, str) for item in data):
            raise ValueError("a str array holds non-str items")
        dtype = str if value["dtype"] == "str" else object
        return np.array(data, dtype=dtype).reshape(shape)
    items = [decode(item) for item in data]
    if not all(isinstance(item, numbers.Real) for item in items):
        raise ValueError("a numeric array holds non-numeric items")
    return np.array(items, dtype=_numeric_dtype(value["dtype"])).reshape(shape)


def _decode_random_state(value):
    kind, keys, pos, has_gauss, cached = decode(value["state"])
    if not isinstance(keys, np.ndarray) or keys.dtype != np.uint32:
        raise TypeError("the RandomState keys must be a uint32 array")
    random_state = np.random.RandomState()
    random_state.set_state((kind, keys, pos, has_gauss, cached))
    return random_state


def _construct(value, class_key, registry, what):
    """The object of the class ``value[class_key]`` of ``registry``, from its stored params."""
    name = value[class_key]
    if not isinstance(name, str) or name not in registry:
        raise UnsafeOrCorruptFileError(
            f"Unknown {what} {name!r}; skaae.load accepts only {sorted(registry)}."
        )
    params = decode(value["params"])
    if not isinstance(params, dict):
        raise TypeError(f"{what} params must be an object")
    return registry[name](**params)


def _decode_prior(value):
    prior = _construct(value, "prior_class", _prior_classes(), "prior class")
    if "n_components" in value:
        return prior.bind(value["n_components"])
    return prior


def _decode_table_transformer(value):
    params = decode(value["params"])
    if not isinstance(params, dict):
        raise TypeError("table transformer params must be an object")
    table = TableTransformer(**params)
    if "state" in value:
        table.set_state(decode(value["state"]))
    return table


_DECODERS = {
    "table_transformer": _decode_table_transformer,
    "tuple": lambda value: tuple(decode(_check_list(value["items"]))),
    "float": _decode_float,
    "numpy_scalar": _decode_numpy_scalar,
    "ndarray": _decode_ndarray,
    "device": lambda value: torch.device(value["value"]),
    "random_state": _decode_random_state,
    "prior": _decode_prior,
    "augmentation": lambda value: _construct(
        value, "augmentation_class", AUGMENTATIONS, "augmentation"
    ),
}

"""Property-based tests: generated bad input at every public entry point.

Every call must end in either a correct result (right shape and dtype, finite
values) or a ValueError / TypeError / NotFittedError whose message names one
of the problems the input has: never an error from deep inside torch, a numpy
overflow warning, or a silently wrong output.

The examples are bounded by the hypothesis profile (tests/conftest.py):
``HYPOTHESIS_PROFILE=long`` runs 10,000 examples per property.
"""

import numbers
import os
import re
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

import skaae
from skaae import AdversarialAutoencoder, UnsafeOrCorruptFileError
from skaae.priors import GaussianMixturePrior, GaussianPrior, SwissRollPrior, UniformPrior

# Mixing DataFrames and arrays on purpose: scikit-learn's notice about it is expected.
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")

N_FEATURES, N_COMPONENTS = 5, 2
F32_MAX = float(np.finfo(np.float32).max)
# Finite inputs up to this magnitude must give a result; larger ones (still
# within float32) may also fail with an error naming the overflow.
SAFE_MAGNITUDE = 1e30
OVERFLOW = r"non-finite .*overflow|became non-finite.*extreme scales"
ERRORS = (ValueError, TypeError, NotFittedError)

_LONG = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "long"


def budget(n):
    """``settings`` with ``n`` examples in CI, the profile's number in the long run."""
    return settings(max_examples=settings.default.max_examples if _LONG else n, deadline=None)


TINY = {
    "n_components": N_COMPONENTS,
    "hidden_layer_sizes": (8,),
    "discriminator_layer_sizes": (8,),
    "max_iter": 1,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(scope="module")
def models():
    """Tiny fitted models: BCE, MSE (universal posterior) and one with feature names."""
    rng = np.random.RandomState(0)
    unit = rng.uniform(size=(40, N_FEATURES))
    real = 50.0 + 10.0 * rng.normal(size=(40, N_FEATURES))
    names = [f"f{i}" for i in range(N_FEATURES)]
    return {
        "bce": AdversarialAutoencoder(**TINY).fit(unit),
        "mse": AdversarialAutoencoder(**TINY, posterior="universal").fit(real),
        "named": AdversarialAutoencoder(**TINY, posterior="gaussian").fit(
            pd.DataFrame(unit, columns=names)
        ),
    }


MODEL_KEYS = st.sampled_from(["bce", "mse", "named"])

# ---------------------------------------------------------------- the oracle


def run(call, required=(), allowed=()):
    """Run ``call()`` and check its outcome; return its result, or None if it raised.

    ``required``: regexes of the problems the input has. If there are any, the
    call must raise one of ERRORS with a message matching one of them (or one
    of ``allowed``). Without any, it must return, or raise with a message
    matching ``allowed`` (problems the input may or may not trigger).
    """
    patterns = [*required, *allowed]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. feature-name mismatch warnings
        try:
            result = call()
        except ERRORS as error:
            message = str(error)
            assert patterns, f"unexpected {type(error).__name__}: {message}"
            assert re.search("|".join(patterns), message, flags=re.DOTALL), (
                f"{type(error).__name__} does not name the problem {patterns}: {message}"
            )
            return None
    assert not required, f"expected an error naming {list(required)}, got a result"
    # A numpy overflow or invalid-value warning behind a result means a silently
    # non-finite value somewhere (before an error that names the problem, it is harmless).
    overflows = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not overflows, f"a result despite {overflows}"
    return result


def check_result(result, shape, dtype):
    assert isinstance(result, np.ndarray), type(result)
    assert result.shape == shape
    assert result.dtype == dtype
    assert np.isfinite(result).all(), "non-finite output from accepted input"


def value_problems(X, bce_range=False):
    """Problems of the values of a 2-D float array; (required, allowed) regexes."""
    required, allowed = [], []
    if np.isnan(X).any():
        required.append("contains NaN")
    if np.isinf(X).any():
        required.append("contains infinity")
    finite = np.abs(X[np.isfinite(X)])
    largest = finite.max() if finite.size else 0.0
    if largest > F32_MAX:
        required.append("too large for float32")
    elif largest > SAFE_MAGNITUDE:
        allowed.append(OVERFLOW)
    if bce_range and finite.size and (X[np.isfinite(X)].min() < 0 or X[np.isfinite(X)].max() > 1):
        required.append(r"reconstruction_loss='bce' needs X in \[0, 1\]")
    return required, allowed


def shape_problems(shape, width, codes=False):
    n, f = shape
    required = []
    if n == 0:
        required.append(r"0 sample\(s\)")
    if f == 0:
        required.append(r"0 feature\(s\)")
    elif f != width:
        required.append(
            rf"codes have {f} columns, but .*n_components={width}"
            if codes
            else rf"X has {f} features, but \w+ is expecting {width} features"
        )
    return required


SPECIAL = [
    0.0,
    -0.0,
    1.0,
    np.nan,
    np.inf,
    -np.inf,
    1e300,
    -1e300,
    3.5e38,
    F32_MAX,
    -F32_MAX,
    1e38,
    1e31,
    1e-300,
    5e-324,
    1e-45,
]
ELEMENTS = st.one_of(
    st.floats(-2.0, 2.0),
    st.floats(0.0, 1.0),
    st.floats(width=64),
    st.sampled_from(SPECIAL),
)


@st.composite
def float_arrays(draw, width, max_rows=6):
    """Float64 arrays of 0-`max_rows` rows, mostly `width` columns, any values."""
    n = draw(st.integers(0, max_rows))
    f = draw(st.one_of(st.just(width), st.integers(0, width + 2)))
    return draw(hnp.arrays(np.float64, (n, f), elements=ELEMENTS))


def layout(X, kind):
    """``X`` with the same values in another memory layout."""
    if kind == "F":
        return np.asfortranarray(X)
    if kind == "strided":  # a view with row and column strides
        wide = np.repeat(np.repeat(X, 2, axis=0), 2, axis=1)
        return wide[::2, ::2]
    if kind == "reversed":
        return X[::-1, ::-1][::-1, ::-1]
    if kind == "readonly":
        X = X.copy()
        X.flags.writeable = False
        return X
    return np.ascontiguousarray(X)


METHODS = st.sampled_from(["transform", "score", "inverse_transform"])
LAYOUTS = st.sampled_from(["C", "F", "strided", "reversed", "readonly"])


def call_method(model, method, X):
    """The expected (shape, dtype) or None for a score, and the call."""
    return lambda: getattr(model, method)(X)


def expectation(model, method, X):
    """(required, allowed, check) for ``model.method(X)`` with a 2-D float ``X``."""
    codes = method == "inverse_transform"
    width = N_COMPONENTS if codes else N_FEATURES
    values = np.asarray(X, dtype=np.float64)
    required, allowed = value_problems(
        values, bce_range=method == "score" and model.reconstruction_loss_ == "bce"
    )
    required = shape_problems(X.shape, width, codes) + required
    dtype = np.float32 if X.dtype == np.float32 else np.float64

    def check(result):
        if method == "score":
            assert isinstance(result, float) and np.isfinite(result)
            return
        out = N_FEATURES if codes else N_COMPONENTS
        check_result(result, (X.shape[0], out), dtype)

    return required, allowed, check


# ------------------------------------------------------------- dense input


@budget(60)
@given(
    data=st.data(),
    key=MODEL_KEYS,
    method=METHODS,
    dtype=st.sampled_from([np.float64, np.float32, np.float16]),
    kind=LAYOUTS,
)
def test_dense_values_shapes_dtypes_and_layouts(models, data, key, method, dtype, kind):
    model = models[key]
    width = N_COMPONENTS if method == "inverse_transform" else N_FEATURES
    X = data.draw(float_arrays(width))
    with np.errstate(over="ignore"):  # float64 -> float16/32 overflows to inf: an input
        X = X.astype(dtype)
    X = layout(X, kind)
    required, allowed, check = expectation(model, method, X)
    result = run(lambda: getattr(model, method)(X), required, allowed)
    if result is not None:
        check(result)
        # The layout does not change the answer.
        reference = getattr(model, method)(np.ascontiguousarray(X))
        np.testing.assert_allclose(result, reference, rtol=1e-5, atol=1e-6)


@budget(40)
@given(data=st.data(), key=MODEL_KEYS, method=METHODS)
def test_other_dtypes(models, data, key, method):
    """Integers, bools and numeric objects work as floats; complex and strings are refused."""
    model = models[key]
    width = N_COMPONENTS if method == "inverse_transform" else N_FEATURES
    n = data.draw(st.integers(1, 5))
    kind = data.draw(st.sampled_from(["int64", "uint8", "bool", "object", "complex", "str"]))
    if kind in ("int64", "uint8", "bool"):
        info = np.iinfo(np.int64) if kind == "int64" else np.iinfo(np.uint8)
        ints = st.integers(0, 1) if kind == "bool" else st.integers(int(info.min), int(info.max))
        X = data.draw(hnp.arrays(np.dtype(kind), (n, width), elements=ints))
    elif kind == "object":
        values = data.draw(hnp.arrays(np.float64, (n, width), elements=ELEMENTS))
        X = values.astype(object)
    elif kind == "complex":
        X = data.draw(hnp.arrays(np.float64, (n, width), elements=st.floats(0, 1))) + 0j
    else:
        X = data.draw(hnp.arrays(np.dtype("U3"), (n, width)))
    if kind == "complex":
        required, allowed, check = ["Complex data not supported"], [], None
    elif kind == "str":
        required, allowed, check = [r"could not convert|Unable to convert|dtype"], [], None
        # Numeric strings ("1") are parsed as numbers, as in scikit-learn.
        try:
            parsed = X.astype(np.float64)
        except ValueError:
            parsed = None
        if parsed is not None:
            required, allowed, check = expectation(model, method, parsed)
    else:
        required, allowed, check = expectation(model, method, X.astype(np.float64))
    result = run(lambda: getattr(model, method)(X), required, allowed)
    if result is not None:
        check(result)


@budget(40)
@given(
    data=st.data(),
    key=MODEL_KEYS,
    method=METHODS,
    fmt=st.sampled_from(["csr", "csc", "coo", "lil", "dok", "bsr", "dia"]),
    as_array=st.booleans(),
)
def test_sparse_formats(models, data, key, method, fmt, as_array):
    """Every scipy format (matrix and array) equals its dense input; codes must be dense."""
    model = models[key]
    width = N_COMPONENTS if method == "inverse_transform" else N_FEATURES
    n = data.draw(st.integers(1, 6))
    mostly_zero = st.one_of(st.just(0.0), st.just(0.0), ELEMENTS)
    dense = data.draw(hnp.arrays(np.float64, (n, width), elements=mostly_zero))
    X = (sp.csr_array if as_array else sp.csr_matrix)(dense).asformat(fmt)
    if method == "inverse_transform":
        run(lambda: model.inverse_transform(X), [r"Sparse data was passed.*dense data is required"])
        return
    required, allowed, check = expectation(model, method, dense)
    result = run(lambda: getattr(model, method)(X), required, allowed)
    if result is not None:
        check(result)
        reference = getattr(model, method)(dense)
        np.testing.assert_allclose(result, reference, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------- malformed input

SHAPE_ERRORS = {
    "scalar": r"Expected 2D array, got scalar array",
    "1-D": r"Expected 2D array, got 1D array",
    "n-D": r"Found array with dim [34]",
    "ragged": r"inhomogeneous|setting an array element with a sequence",
    "empty": r"Expected 2D array|0 feature\(s\)|0 sample\(s\)",
    "text": r"could not convert|Expected 2D array, got scalar",
}


@st.composite
def malformed(draw):
    kind = draw(st.sampled_from(sorted(SHAPE_ERRORS)))
    value = st.floats(-2, 2)
    if kind == "scalar":
        X = draw(st.one_of(value, value.map(np.float64), st.none(), st.integers(-3, 3)))
    elif kind == "1-D":
        X = draw(hnp.arrays(np.float64, st.integers(0, 6), elements=value))
        X = draw(st.sampled_from([X, X.tolist()]))
    elif kind == "n-D":
        shape = draw(hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=3))
        X = draw(hnp.arrays(np.float64, shape, elements=value))
    elif kind == "ragged":
        rows = draw(st.lists(st.lists(value, min_size=1, max_size=6), min_size=2, max_size=4))
        assume(len({len(row) for row in rows}) > 1)
        X = rows
    elif kind == "empty":
        X = draw(st.sampled_from([[], [[]], [[], []], np.empty((0,)), np.empty((0, 0))]))
    else:
        X = draw(st.text(min_size=1, max_size=5))
        assume(not _is_number(X))
    return kind, X


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@budget(40)
@given(case=malformed(), key=MODEL_KEYS, method=st.sampled_from(["fit", *METHODS.elements]))
def test_malformed_input(models, case, key, method):
    kind, X = case
    model = models[key] if method != "fit" else AdversarialAutoencoder(**TINY)
    run(lambda: getattr(model, method)(X), [SHAPE_ERRORS[kind]])


# ------------------------------------------------------------ DataFrames

COLUMN_NAMES = st.lists(
    st.one_of(
        st.text(max_size=4),
        st.integers(-3, 3),
        st.sampled_from(["f0", "f1", "f2", "f3", "f4", "é", "列", "\u200b", True, 1.5, None]),
    ),
    min_size=N_FEATURES,
    max_size=N_FEATURES,
)


@budget(40)
@given(names=COLUMN_NAMES, key=MODEL_KEYS, method=st.sampled_from(["transform", "score"]))
def test_dataframe_column_names(models, names, key, method):
    model = models[key]
    X = pd.DataFrame(np.random.RandomState(0).uniform(size=(4, N_FEATURES)), columns=names)
    types = {type(name) for name in names}
    required, allowed = [], []
    if len(set(names)) < len(names):
        # Refused when names are used; non-str names alone are ignored, as in scikit-learn.
        (required if str in types else allowed).append("Expected unique column names")
    if str in types and len(types) > 1:
        required.append("only supported if all input features have string names")
    if types == {str} and hasattr(model, "feature_names_in_"):
        if list(model.feature_names_in_) != names:
            required.append("feature names should match those that were passed during fit")
    result = run(lambda: getattr(model, method)(X), required, allowed)
    if result is not None and method == "transform":
        check_result(result, (4, N_COMPONENTS), np.float64)


# ----------------------------------------------------------------- fit


@budget(30)
@given(
    data=st.data(),
    method=st.sampled_from(["fit", "fit_transform"]),
    fmt=st.sampled_from(["dense", "F", "readonly", "csr", "coo"]),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_fit_on_generated_data(data, method, fmt, dtype):
    """One sample, one feature, constant columns, extreme values: a model or a clear error."""
    X = data.draw(float_arrays(data.draw(st.integers(1, 4)), max_rows=5))
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    required, allowed = value_problems(X.astype(np.float64))
    required = shape_problems(X.shape, X.shape[1])[:2] + required
    Xf = sp.csr_matrix(X).asformat(fmt) if fmt in ("csr", "coo") else layout(X, fmt)
    aae = AdversarialAutoencoder(**TINY)
    result = run(lambda: getattr(aae, method)(Xf), required, allowed)
    if result is None:
        return
    codes = result if method == "fit_transform" else run(lambda: aae.transform(Xf), (), allowed)
    if codes is not None:
        check_result(codes, (X.shape[0], N_COMPONENTS), np.dtype(dtype))


# ---------------------------------------------------------------- sampling

N_SAMPLES = st.one_of(
    st.integers(-1000, 30),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=2),
    st.sampled_from(
        [np.int64(3), np.int32(0), np.uint8(2), np.float64(2.0), np.bool_(True), 2 + 0j]
    ),
    st.just(Fraction(4, 2)),
)
RANDOM_STATES = st.one_of(
    st.none(),
    st.integers(0, 2**32 - 1),
    st.integers(-5, -1),
    st.builds(np.random.RandomState, st.integers(0, 100)),
    st.text(max_size=2),
    st.floats(0, 10),
)


def sample_problems(n_samples, random_state):
    required = []
    valid_n = (
        isinstance(n_samples, numbers.Integral)
        and not isinstance(n_samples, bool | np.bool_)
        and n_samples >= 0
    )
    if not valid_n:
        required.append(r"n_samples must be a non-negative int")
    valid_state = random_state is None or isinstance(random_state, np.random.RandomState)
    valid_state |= isinstance(random_state, numbers.Integral) and 0 <= random_state < 2**32
    if not valid_state:
        required.append(r"cannot be used to seed|Seed must be between")
    return required


@budget(60)
@given(key=MODEL_KEYS, n_samples=N_SAMPLES, random_state=RANDOM_STATES)
def test_sample(models, key, n_samples, random_state):
    model = models[key]
    required = sample_problems(n_samples, random_state)
    result = run(lambda: model.sample(n_samples, random_state=random_state), required)
    if result is not None:
        check_result(result, (int(n_samples), N_FEATURES), np.float64)


PRIORS = st.one_of(
    st.builds(GaussianPrior, scale=st.floats(0.1, 10)),
    st.builds(UniformPrior, scale=st.floats(0.1, 10)),
    st.builds(GaussianMixturePrior, n_modes=st.integers(1, 12)),
    st.builds(SwissRollPrior, n_modes=st.integers(1, 12)),
)


@budget(60)
@given(prior=PRIORS, d=st.integers(1, 4), n_samples=N_SAMPLES, random_state=RANDOM_STATES)
def test_prior_sample(prior, d, n_samples, random_state):
    if isinstance(prior, SwissRollPrior):
        d = 2
    run(lambda: prior.sample(3), [r"not bound to a code dimension"])
    bound = prior.bind(d)
    required = sample_problems(n_samples, random_state)
    result = run(lambda: bound.sample(n_samples, random_state=random_state), required)
    if result is not None:
        check_result(result, (int(n_samples), d), np.float64)


# ----------------------------------------------------------------- unfitted


@budget(20)
@given(
    case=st.one_of(malformed().map(lambda case: case[1]), float_arrays(N_FEATURES)),
    method=st.sampled_from(["transform", "score", "inverse_transform", "sample"]),
)
def test_unfitted_calls_say_so(case, method):
    """Whatever the input, an unfitted estimator says it is not fitted."""
    aae = AdversarialAutoencoder(**TINY)
    args = (3,) if method == "sample" else (case,)
    run(lambda: getattr(aae, method)(*args), [r"not fitted yet"])


# -------------------------------------------------------------- save / load


@pytest.fixture(scope="module")
def saved(models, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "model.skaae"
    skaae.save(models["mse"], path)
    return path, path.read_bytes()


@budget(40)
@given(data=st.data())
def test_load_refuses_garbage_and_damaged_files(models, saved, data):
    """Random bytes, truncations and byte flips: refused cleanly, or loaded intact."""
    path, original = saved
    kind = data.draw(st.sampled_from(["random", "truncated", "flipped"]))
    if kind == "random":
        payload = data.draw(st.binary(max_size=256))
    elif kind == "truncated":
        payload = original[: data.draw(st.integers(0, len(original) - 1))]
    else:
        where = data.draw(st.integers(0, len(original) - 1))
        flip = data.draw(st.integers(1, 255))
        payload = original[:where] + bytes([original[where] ^ flip]) + original[where + 1 :]
    damaged = path.with_name("damaged.skaae")
    damaged.write_bytes(payload)
    try:
        loaded = skaae.load(damaged)
    except UnsafeOrCorruptFileError as error:
        assert re.search(r"not a skaae file|corrupt|truncated|checksum|invalid", str(error), re.I)
        return
    # Only a flip in bytes that nothing reads (zip timestamps, ...) can load.
    assert kind == "flipped"
    X = np.random.RandomState(0).normal(50, 10, size=(4, N_FEATURES))
    np.testing.assert_array_equal(loaded.transform(X), models["mse"].transform(X))


@pytest.mark.parametrize("path", [3, None, 2.5, b"\x00", ["a"]])
def test_save_and_load_refuse_non_paths(models, path):
    with pytest.raises((TypeError, ValueError), match=r"path|PathLike|null|embedded"):
        skaae.load(path)
    if not isinstance(path, int):  # an int is a file descriptor to open()
        with pytest.raises((TypeError, ValueError), match=r"path|PathLike|null|embedded"):
            skaae.save(models["bce"], path)


# ------------------------------------- regressions found by the properties


def test_float32_fit_with_values_near_the_float32_limit():
    """The feature scaling of float32 X overflowed (inf std: a silently constant feature)."""
    X = np.array([[0.0], [3e38], [-3e38], [1.0]], dtype=np.float32)
    aae = run(
        lambda: AdversarialAutoencoder(**TINY, reconstruction_loss="mse").fit(X), (), [OVERFLOW]
    )
    if aae is not None:
        assert np.isfinite(aae._scale).all() and np.isfinite(aae._offset).all()


@pytest.mark.parametrize("method", ["fit", "transform", "score", "inverse_transform"])
def test_values_beyond_float32_are_refused(models, method):
    X = np.full((3, N_COMPONENTS if method == "inverse_transform" else N_FEATURES), 1e300)
    model = AdversarialAutoencoder(**TINY) if method == "fit" else models["mse"]
    with pytest.raises(ValueError, match="too large for float32"):
        getattr(model, method)(X)


def test_score_is_finite_for_large_finite_input(models):
    X = np.full((3, N_FEATURES), 1e30)
    assert np.isfinite(models["mse"].score(X))
    with pytest.raises(ValueError, match=r"needs X in \[0, 1\]"):
        models["bce"].score(X)


@pytest.mark.parametrize(
    ("offset", "value"),
    # The 'encrypted' flag; an unknown compression method; the offset of the
    # central directory (end record, byte 19) pointing before the file's start.
    [(8, 1), (10, 99), ("end", 0x10)],
    ids=["encrypted-flag", "compression-method", "negative-seek"],
)
def test_load_refuses_damaged_zip_headers(saved, offset, value):
    path, original = saved
    payload = bytearray(original)
    if offset == "end":
        payload[payload.rfind(b"PK\x05\x06") + 19] ^= value
    else:
        # The central-directory entry of checksums.json, the member load reads first.
        directory = payload.find(b"PK\x01\x02")
        while payload[directory + 46 : directory + 60] != b"checksums.json":
            directory = payload.find(b"PK\x01\x02", directory + 1)
        payload[directory + offset] = value
    damaged = path.with_name("damaged-header.skaae")
    damaged.write_bytes(bytes(payload))
    with pytest.raises(UnsafeOrCorruptFileError, match="not a skaae file or is truncated"):
        skaae.load(damaged)


# ----------------------------------------------------------- the model family

FAMILY_TINY = {key: value for key, value in TINY.items() if key != "n_components"}
N_LABELLED = 24
FAMILY_FACTORIES = {
    "classifier": lambda: skaae.AAEClassifier(n_components=N_COMPONENTS, **FAMILY_TINY),
    "clustering": lambda: skaae.AAEClustering(
        n_clusters=3, n_components=N_COMPONENTS, **FAMILY_TINY
    ),
    "embedding": lambda: skaae.AAEEmbedding(n_components=N_COMPONENTS, **FAMILY_TINY),
    "label-regularised": lambda: AdversarialAutoencoder(
        **TINY, prior=GaussianMixturePrior(n_modes=4)
    ),
    "conditional": lambda: AdversarialAutoencoder(**TINY, conditional=True),
}
# Which take y in fit, and whether they use it as labels.
LABELLED = ("classifier", "embedding", "label-regularised", "conditional")


@pytest.fixture(scope="module")
def family():
    """Tiny fitted models of the family, on [0, 1] data with labels "a", "b", "c" (some -1)."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(N_LABELLED, N_FEATURES))
    y = np.resize(np.array(["a", "b", "c"], dtype=object), N_LABELLED)
    partial = y.copy()
    partial[::4] = -1
    fitted = {}
    for name, factory in FAMILY_FACTORIES.items():
        labels = {"clustering": None, "conditional": y}.get(name, partial)
        fitted[name] = factory().fit(X, labels)
    return fitted


FAMILY_KEYS = st.sampled_from(sorted(FAMILY_FACTORIES))
FAMILY_METHODS = st.sampled_from(["transform", "predict", "predict_proba"])


@budget(60)
@given(data=st.data(), key=FAMILY_KEYS, method=FAMILY_METHODS)
def test_family_bad_X(family, data, key, method):
    """The family's methods on generated float input: a correct result or a clear error."""
    model = family[key]
    if not hasattr(model, method):
        return
    X = data.draw(float_arrays(N_FEATURES))
    X = layout(X, data.draw(LAYOUTS))
    required, allowed = value_problems(X)
    required = shape_problems(X.shape, N_FEATURES) + required
    result = run(lambda: getattr(model, method)(X), required, allowed)
    if result is None:
        return
    n = X.shape[0]
    if method == "transform":
        check_result(result, (n, N_COMPONENTS), np.float64)
    elif method == "predict_proba":
        check_result(result, (n, model.predict_proba(X[:1]).shape[1]), np.float64)
        np.testing.assert_allclose(result.sum(axis=1), 1.0, rtol=1e-6)
    else:
        assert result.shape == (n,)
        classes = getattr(model, "classes_", None)
        assert set(result) <= set(range(3) if classes is None else classes)


# Values a generated y is made of: labels, -1, unseen labels, NaN, inf, non-integral floats.
Y_VALUES = st.one_of(
    st.sampled_from(["a", "b", "c", "zz", -1, 0, 1, 2, 7, -1.0, 2.0, 0.5, np.nan, np.inf, None])
)


@st.composite
def bad_labels(draw, n):
    """A y for ``n`` samples: any values, sometimes of the wrong length or 2-D."""
    length = draw(st.one_of(st.just(n), st.integers(0, n + 2)))
    values = draw(st.lists(Y_VALUES, min_size=length, max_size=length))
    kind = draw(st.sampled_from(["list", "array", "column", "2-D"]))
    if kind == "list":
        return values
    y = np.array(values, dtype=object)
    if all(isinstance(v, numbers.Real) and v is not None for v in values):
        y = y.astype(np.float64)
    elif all(isinstance(v, str) for v in values):
        y = y.astype(str)
    if kind == "column":
        return y.reshape(-1, 1)
    if kind == "2-D":
        return np.stack([y, y], axis=1)
    return y


def label_problems(y, n, name, model=None):
    """Regexes of what is wrong with ``y`` as labels for ``n`` samples (fit: model=None).

    Every problem ``y`` has is listed: the error may name any one of them.
    """
    values = np.asarray(y, dtype=object)
    problems = []
    if values.ndim == 2 and values.shape[1] != 1:
        problems.append(r"1-D class labels|y should be a 1d array")
    values = values.ravel()
    if len(values) != n and not problems:
        problems.append(r"inconsistent numbers of samples|y must be")
    items = values.tolist()
    numeric = [v for v in items if isinstance(v, numbers.Real)]
    if any(isinstance(v, float) and np.isnan(v) for v in numeric):
        problems.append(r"contains NaN")
    if any(isinstance(v, float) and np.isinf(v) for v in numeric):
        problems.append(r"contains infinity")
    unlabelled = [not isinstance(v, str) and v == -1 for v in items]
    if model is not None:  # sample / inverse_transform: every entry must be a known class
        if any(unlabelled):
            problems.append(r"-1 \(unlabelled\) is not one")
        known = {str(c) for c in model.classes_}
        if any(str(v) not in known for v in items if not isinstance(v, float) or v != -1):
            problems.append(r"not seen in fit|Unknown label type")
        return problems
    if problems:
        return problems
    if n and all(unlabelled):
        return ["no labelled sample"]
    labels = [v for v, u in zip(items, unlabelled, strict=True) if not u]
    if any(v is None for v in labels) or len({type(v) is str for v in labels}) > 1:
        problems.append(r"Unknown label type|Mix of label input types|'<' not supported")
    if any(isinstance(v, float) and v != round(v) for v in labels):
        problems.append("Unknown label type")
    if problems:
        return problems
    classes = {str(v) for v in labels}
    if name == "conditional" and any(unlabelled):
        return ["no -1"]
    if name in ("classifier", "embedding") and len(classes) < 2:
        return ["got 1 class"]
    if name == "label-regularised" and len(classes) > 4:
        return ["components"]
    return []


@budget(60)
@given(data=st.data(), name=st.sampled_from(LABELLED))
def test_family_fit_with_bad_y(data, name):
    """Wrong length, 2-D, NaN, inf, all unlabelled, mixed types, too many classes."""
    n = 8
    X = np.random.RandomState(0).uniform(size=(n, N_FEATURES))
    y = data.draw(bad_labels(n))
    model = FAMILY_FACTORIES[name]()
    result = run(lambda: model.fit(X, y), label_problems(y, n, name))
    if result is not None:
        assert np.isfinite(model.transform(X)).all()


@budget(60)
@given(
    data=st.data(),
    name=st.sampled_from(["classifier", "embedding", "conditional", "label-regularised"]),
    method=st.sampled_from(["sample", "inverse_transform"]),
)
def test_family_labels_to_sample_and_decode(family, data, name, method):
    """``y`` of sample / inverse_transform: a known class per row, or a clear error."""
    model = family[name]
    n = data.draw(st.integers(0, 4))
    scalar = data.draw(st.booleans())
    y = data.draw(Y_VALUES) if scalar else data.draw(bad_labels(n))
    label_arg = np.full(n, y, dtype=object) if scalar else y
    required = label_problems(label_arg, n, name, model)
    if method == "inverse_transform" and name in ("embedding", "label-regularised"):
        required = [r"takes no y|only used to decode with conditional=True"]
    if method == "inverse_transform" and n == 0:
        required = [*required, r"0 sample\(s\)"]  # no codes to decode
    if scalar and y is None:
        required = []  # y=None: categories drawn (sample), or refused as missing (decode)
        if method == "inverse_transform" and name in ("classifier", "conditional"):
            required = [r"needs y|pass y"]
    if method == "sample":
        result = run(lambda: model.sample(n, random_state=0, y=y), required)
    else:
        Z = np.zeros((n, N_COMPONENTS))
        result = run(lambda: model.inverse_transform(Z, y=y), required)
    if result is not None:
        check_result(result, (n, N_FEATURES), np.float64)


@pytest.mark.parametrize("name", sorted(FAMILY_FACTORIES))
@pytest.mark.parametrize("method", ["transform", "predict", "predict_proba", "sample"])
def test_family_unfitted_calls_say_so(name, method):
    model = FAMILY_FACTORIES[name]()
    if not hasattr(model, method):
        return
    args = (3,) if method == "sample" else (np.zeros((2, N_FEATURES)),)
    run(lambda: getattr(model, method)(*args), [r"not fitted yet"])

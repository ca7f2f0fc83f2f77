"""Random mixed schemas: every table ends in rows of its own schema or a clear ValueError."""

import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from skaae import AdversarialAutoencoder  # noqa: E402
from skaae.tabular import TableTransformer  # noqa: E402

KINDS = [
    "float",
    "float_nan",
    "int",
    "Int32_na",
    "category",
    "ordered",
    "object",
    "object_none",
    "bool",
    "boolean_na",
    "string",
    "binary",
    "constant",
    "all_missing",
    "mixed_types",
    "datetime",
]
# Kinds that must be refused with a ValueError that names the column.
REFUSED = {"mixed_types", "datetime"}


def make_column(kind, n, rng):
    missing = rng.random(n) < 0.3
    if kind == "float":
        return rng.normal(size=n) * 10.0 ** rng.integers(-3, 4)
    if kind == "float_nan":
        return np.where(missing, np.nan, rng.lognormal(size=n))
    if kind == "int":
        return rng.integers(-5, 50, n)
    if kind == "Int32_na":
        values = pd.array(rng.integers(0, 9, n), dtype="Int32")
        values[missing] = pd.NA
        return values
    if kind in ("category", "ordered"):
        levels = ["lo", "mid", "hi", "top"]
        return pd.Categorical(rng.choice(levels, n), categories=levels, ordered=kind == "ordered")
    if kind == "object":
        return pd.Series(rng.choice(["a", "b", "c"], n), dtype=object)
    if kind == "object_none":
        return pd.Series(
            [None if m else v for m, v in zip(missing, rng.choice(["x", "y"], n), strict=True)],
            dtype=object,
        )
    if kind == "bool":
        return rng.random(n) < 0.5
    if kind == "boolean_na":
        values = pd.array(rng.random(n) < 0.5, dtype="boolean")
        values[missing] = pd.NA
        return values
    if kind == "string":
        return pd.array(rng.choice(["p", "q"], n), dtype="string")
    if kind == "binary":
        return rng.integers(0, 2, n).astype(float)
    if kind == "constant":
        return np.full(n, 7.0)
    if kind == "all_missing":
        return np.full(n, np.nan)
    if kind == "mixed_types":
        return pd.Series([1, "one"] * (n // 2) + ["two"] * (n % 2), dtype=object)
    return pd.date_range("2020-01-01", periods=n, freq="D")


@st.composite
def tables(draw):
    n = draw(st.integers(2, 40))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pd.DataFrame(
        {f"c{i}_{kind}": make_column(kind, n, rng) for i, kind in enumerate(kinds)}
    )
    return frame, kinds


def check_schema(rows, table, n_rows):
    assert isinstance(rows, pd.DataFrame) or not any(
        not pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in table.dtypes
    )
    if isinstance(rows, np.ndarray):
        assert rows.shape == (n_rows, table.shape[1])
        return
    assert rows.shape == (n_rows, table.shape[1])
    assert list(rows.columns) == list(table.columns)
    for name in table.columns:
        if table[name].isna().all():
            assert rows[name].isna().all()
            continue
        assert rows[name].dtype == table[name].dtype, name


@settings(deadline=None)
@given(tables())
def test_random_schemas_round_trip_or_fail_clearly(case):
    table, kinds = case
    transformer = TableTransformer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # identifier-like columns
        if REFUSED & set(kinds):
            with pytest.raises(ValueError, match="Column 'c"):
                transformer.fit(table)
            return
        encoded = transformer.fit(table).transform(table)
    assert np.isfinite(encoded).all()
    check_schema(transformer.inverse_transform(encoded), table, len(table))
    check_schema(transformer.inverse_transform(encoded, random_state=0), table, len(table))


@settings(deadline=None, max_examples=15)
@given(tables())
def test_random_schemas_fit_and_sample(case):
    table, kinds = case
    model = AdversarialAutoencoder(max_iter=1, hidden_layer_sizes=(8,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if REFUSED & set(kinds):
            with pytest.raises(ValueError, match="Column 'c"):
                model.fit(table)
            return
        model.fit(table)
        codes = model.transform(table)
    assert codes.shape == (len(table), 2) and np.isfinite(codes).all()
    check_schema(model.sample(7, random_state=0), table, 7)
    check_schema(model.inverse_transform(codes), table, len(table))

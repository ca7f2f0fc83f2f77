"""The columns of a table: their kinds, levels and dtypes, checked early and by name.

Helpers of :class:`skaae.tabular.TableTransformer`: reading a table's
columns (:func:`table_columns`), describing them as plain data
(:func:`describe_columns`), category codes of a column
(:func:`encode_category_codes`) and a column rebuilt in its own dtype from
codes or values (:func:`rebuild_column`).
"""

import numbers
import warnings

import numpy as np

__all__ = ["describe_columns", "encode_category_codes", "rebuild_column", "table_columns"]

# A categorical column with more levels than this share of the rows (and more
# than _ID_MIN_LEVELS) looks like an identifier: a warning says so.
_ID_SHARE = 0.5
_ID_MIN_LEVELS = 50


def _pandas():
    try:
        import pandas as pd
    except ImportError as error:  # pragma: no cover - pandas is there when a frame is
        raise ImportError("Tables of mixed column types need pandas.") from error
    return pd


def table_columns(X):
    """``(frame, names, has_non_numeric)``: ``X`` as a DataFrame with str column names.

    An array becomes a frame with columns ``x0``, ``x1``, ...
    """
    pd = _pandas()
    if isinstance(X, pd.DataFrame):
        names = [str(name) for name in X.columns]
        if len(set(names)) != len(names):
            raise ValueError("The table has duplicated column names; rename them.")
        frame = X.set_axis(names, axis=1)
    else:
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(f"Expected a 2-D table; got an array of shape {array.shape}.")
        names = [f"x{i}" for i in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=names)
    non_numeric = any(not _is_number_dtype(frame[name].dtype) for name in names)
    return frame, names, non_numeric


def _is_number_dtype(dtype):
    pd = _pandas()
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def describe_columns(frame, names, categorical_features, binary_columns):
    """One plain-data description per column (see ``TableTransformer.columns_``)."""
    forced = _forced_categorical(categorical_features, names)
    return [
        _describe(frame[name], name, name in forced, binary_columns, len(frame)) for name in names
    ]


def _forced_categorical(categorical_features, names):
    """The names that ``categorical_features`` makes categorical beyond the dtypes."""
    if categorical_features is None or isinstance(categorical_features, str):
        return set()
    chosen = np.asarray(categorical_features)
    if chosen.dtype.kind == "b":
        if len(chosen) != len(names):
            raise ValueError(
                f"categorical_features is a mask of {len(chosen)} values for {len(names)} columns."
            )
        return {name for name, flag in zip(names, chosen, strict=True) if flag}
    forced = set()
    for item in chosen.tolist():
        if isinstance(item, numbers.Integral):
            if not -len(names) <= item < len(names):
                raise ValueError(f"categorical_features index {item} is out of range.")
            forced.add(names[item])
        elif str(item) in names:
            forced.add(str(item))
        else:
            raise ValueError(f"categorical_features names {item!r}, which is not a column.")
    return forced


def _describe(values, name, forced, binary_columns, n_rows):
    pd = _pandas()
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ValueError(
            f"Column {name!r} holds dates or durations ({dtype}): convert it to numbers "
            "first (e.g. days since a reference date) or drop it."
        )
    if isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype):
        raise ValueError(f"Column {name!r} has dtype {dtype}: convert it to numbers or strings.")
    missing = values.isna()
    description = {
        "name": name,
        "dtype": str(dtype),
        "missing_rate": float(missing.mean()),
        "integral": False,
        "ordered": False,
    }
    present = values[~missing]
    numeric = _is_number_dtype(dtype)
    two_valued = numeric and binary_columns == "categorical" and present.nunique() == 2
    if numeric and not forced and not two_valued:
        x = present.astype("float64").to_numpy(dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError(f"Column {name!r} holds infinite values.")
        description.update(kind="numeric", integral=bool(len(x)) and bool((x == np.round(x)).all()))
        return description
    description.update(kind="categorical", categories=_levels(values, present, name))
    if str(dtype) == "object":  # what stands for a missing value: None or NaN, as in the input
        description["missing_is_none"] = any(value is None for value in values[missing])
    if isinstance(dtype, pd.CategoricalDtype):
        description["ordered"] = bool(dtype.ordered)
    levels = len(description["categories"])
    if not numeric and levels > max(_ID_MIN_LEVELS, _ID_SHARE * n_rows):
        warnings.warn(
            f"Column {name!r} has {levels} distinct values in {n_rows} rows: it looks like "
            "an identifier, which a model cannot learn or generate. Drop it from the table.",
            UserWarning,
            stacklevel=5,
        )
    return description


def _levels(values, present, name):
    """The column's levels, as JSON-able Python values, in a stable order."""
    pd = _pandas()
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = list(values.dtype.categories)
    elif pd.api.types.is_bool_dtype(values.dtype):
        levels = [False, True]
    else:
        levels = list(pd.unique(present))
    levels = [level.item() if isinstance(level, np.generic) else level for level in levels]
    kinds = {_value_kind(level) for level in levels}
    if None in kinds:
        bad = next(level for level in levels if _value_kind(level) is None)
        raise ValueError(
            f"Column {name!r} holds a value of type {type(bad).__name__} ({bad!r}); "
            "categorical values must be strings, numbers or booleans."
        )
    if len(kinds) > 1:
        raise ValueError(
            f"Column {name!r} mixes values of types {sorted(kinds)}: make them one type "
            f"(e.g. df[{name!r}].astype(str)) before fitting."
        )
    if not isinstance(values.dtype, pd.CategoricalDtype):
        levels = sorted(levels)
    return levels


def _value_kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, str):
        return "str"
    return None


def encode_category_codes(values, column):
    """The level index of each value; -1 for a missing value or an unseen category (warned)."""
    pd = _pandas()
    categories = column["categories"]
    if isinstance(values.dtype, pd.CategoricalDtype) and list(values.dtype.categories) == list(
        categories
    ):
        return values.cat.codes.to_numpy(dtype=np.int64)
    present = values.notna().to_numpy()
    if column["dtype"] != str(values.dtype) and _is_number_dtype(values.dtype):
        values = values.astype("float64")
    codes = pd.Index(categories, dtype=object).get_indexer(values.astype(object))
    codes = np.asarray(codes, dtype=np.int64)
    unseen = present & (codes < 0)
    if unseen.any():
        examples = sorted({str(v) for v in values[unseen].tolist()})[:5]
        warnings.warn(
            f"Column {column['name']!r} has {int(unseen.sum())} values of categories not seen "
            f"at fit (e.g. {', '.join(examples)}): they are encoded as no category.",
            UserWarning,
            stacklevel=4,
        )
    return codes


def rebuild_column(column, kind, data):
    """A pandas Series of ``column``'s dtype from level ``codes`` or numeric ``values``."""
    pd = _pandas()
    dtype = column["dtype"]
    if kind == "codes":
        categories = column["categories"]
        if dtype == "category":
            kind_of = pd.CategoricalDtype(categories, ordered=column["ordered"])
            return pd.Series(pd.Categorical.from_codes(data, dtype=kind_of))
        levels = np.asarray([*categories, None], dtype=object)
        values = pd.Series(levels[np.where(data >= 0, data, len(categories))], dtype=object)
    else:
        values = pd.Series(data)
    if dtype == "object":
        return values.where(values.notna(), None if column.get("missing_is_none") else np.nan)
    return _in_dtype(values, dtype)


def _in_dtype(values, dtype):
    """``values`` (object or float, None/NaN where missing) as ``dtype`` where pandas can."""
    pd = _pandas()
    try:
        target = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return values
    if isinstance(target, np.dtype) and target.kind in "iub" and values.isna().any():
        return values  # a plain integer or bool dtype cannot hold the missing values
    try:
        return values.astype(target)
    except (TypeError, ValueError):
        return values

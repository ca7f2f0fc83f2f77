"""Tables of mixed column types as the networks' numbers, and back as rows.

:class:`TableTransformer` turns a table (a pandas DataFrame of numeric,
boolean, categorical, string and ordered categorical columns, with missing
values anywhere; or a numeric array) into one float32 matrix laid out in
blocks, one block per column:

- a categorical column: its one-hot levels, plus a level for "missing" when
  the column had missing values at fit;
- a numeric column: its value through a quantile transform to a standard
  normal (skewed, heavy-tailed and multimodal columns all become bell-shaped
  values the networks fit well, and the inverse puts point masses such as a
  column of mostly zeros back exactly), plus a missing-value indicator when
  the column had missing values at fit.

``inverse_transform`` maps decoder outputs in that layout (probabilities per
categorical block and indicator, values for numeric columns) back to rows
with the input's columns, dtypes, category sets and missing values; with a
random generator it draws the categorical values and the missing cells from
the model's probabilities instead of taking the most likely ones.

The estimators of skaae use it for every DataFrame with a non-numeric column
or a missing value (their ``table`` parameter), with the per-column
reconstruction loss :class:`~skaae.losses.PerColumnLoss` that its ``blocks``
describe. Its fitted state is plain data (:meth:`TableTransformer.get_state`),
so :func:`skaae.save` stores it without code.
"""

import numbers
import warnings

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._table_columns import (
    describe_columns,
    encode_category_codes,
    rebuild_column,
    table_columns,
)

__all__ = ["TableTransformer", "fit_table", "needs_table"]

# Normal scores are clipped here: ndtri(1e-7) ~ -5.2, so no value becomes infinite.
_CLIP = 1e-7


def needs_table(X):
    """Whether ``X`` needs a :class:`TableTransformer`: a DataFrame with a column that
    is not a plain number (categorical, string, object, boolean) or a missing value."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "dtypes"):
        return False
    import pandas as pd

    for position in range(len(columns)):
        column = X.iloc[:, position]  # (by position: names may repeat)
        kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
        if kind not in ("i", "u", "f") and not pd.api.types.is_numeric_dtype(column.dtype):
            return True
        if pd.api.types.is_bool_dtype(column.dtype) or column.isna().any():
            return True
    return False


def fit_table(table, reconstruction_loss, X):
    """The table transformer that an estimator's ``table`` parameter gives for ``X``, fitted.

    ``table="auto"``: a ``TableTransformer()`` when ``X`` needs one (see
    :func:`needs_table`) or ``reconstruction_loss="per_column"`` asks for
    one; a ``TableTransformer``: a clone of it; None: none. Returns None
    when ``X`` goes to the networks as it is; raises a ValueError for a
    combination that cannot work.
    """
    if table == "auto":
        wanted = needs_table(X) or reconstruction_loss == "per_column"
        table = TableTransformer() if wanted else None
    if table is None:
        if reconstruction_loss == "per_column":
            raise ValueError(
                "reconstruction_loss='per_column' needs a table: a DataFrame or an array "
                "with table='auto' or a TableTransformer."
            )
        if needs_table(X):
            raise ValueError(
                "X is a table with non-numeric columns or missing values, which "
                "table=None passes to the networks as it is: use table='auto'."
            )
        return None
    if reconstruction_loss not in ("auto", "per_column"):
        raise ValueError(
            f"A table is reconstructed column by column (reconstruction_loss='per_column'); "
            f"got reconstruction_loss={reconstruction_loss!r}. Use 'auto', or "
            "table=None for a numeric X."
        )
    return clone(table).fit(X)


class TableTransformer(TransformerMixin, BaseEstimator):
    """Mixed-type table <-> the block matrix that skaae's networks reconstruct.

    Parameters
    ----------
    categorical_features : "from_dtype", array-like of str, int or bool, or None, \
            default="from_dtype"
        Which columns are categorical. ``"from_dtype"``: columns of pandas
        ``category``, object, string and boolean dtype (as
        ``HistGradientBoostingClassifier``); a list of names or indices, or
        a boolean mask: those columns too (e.g. integer-coded categories);
        None: only the non-numeric ones, which cannot be anything else.
    binary_columns : {"categorical", "numeric"}, default="categorical"
        How a numeric column with two distinct values (a 0/1 flag) is
        modelled. ``"categorical"``: as a two-level categorical whose
        output takes exactly one of the two values, in the column's own
        dtype; ``"numeric"``: as any numeric column, whose output is
        rounded only if the column holds integers. Flags are categories in
        what they mean, and a softmax over two values cannot produce the
        in-between values that a numeric output must then round.
    numeric_transform : {"quantile", "standard"}, default="quantile"
        ``"quantile"``: each numeric column through its empirical quantiles
        to a standard normal; ``"standard"``: standardised to zero mean and
        unit variance. The quantile transform copes with skewed and
        multimodal columns, where standardised values leave most rows in a
        narrow band.
    n_quantiles : int, default=1000
        Quantiles kept per numeric column (fewer when the column has fewer
        rows); 1,000 keeps the inverse accurate to 0.1 % of the rows.

    Attributes
    ----------
    columns_ : list of dict
        One description per input column: ``name``, ``kind``
        (``"categorical"`` or ``"numeric"``), ``dtype``, ``categories``,
        ``ordered``, ``missing_rate``, ``integral``, and the numeric
        transform's ``quantiles`` or ``mean`` and ``std``.
    blocks_ : list of tuple
        The layout of the output: ``(kind, start, stop)`` per block, with
        ``kind`` one of ``"categorical"``, ``"numeric"``, ``"missing"``.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the input columns (``x0``, ``x1``, ... for an array).
    n_features_out_ : int
        Width of the output matrix.
    returns_frame_ : bool
        Whether ``inverse_transform`` returns a DataFrame (the table had a
        non-numeric column) rather than an array.
    """

    _parameter_constraints = {
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "binary_columns": [StrOptions({"categorical", "numeric"})],
        "numeric_transform": [StrOptions({"quantile", "standard"})],
        "n_quantiles": [Interval(numbers.Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        categorical_features="from_dtype",
        binary_columns="categorical",
        numeric_transform="quantile",
        n_quantiles=1000,
    ):
        self.categorical_features = categorical_features
        self.binary_columns = binary_columns
        self.numeric_transform = numeric_transform
        self.n_quantiles = n_quantiles

    def fit(self, X, y=None):
        """Learn each column's kind, levels, missing rate and numeric transform.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.
        y : None
            Ignored.

        Returns
        -------
        self : TableTransformer
        """
        self._validate_params()
        frame, names, self.returns_frame_ = table_columns(X)
        if len(frame) == 0:
            raise ValueError("TableTransformer needs at least one row to fit.")
        self.columns_ = describe_columns(
            frame, names, self.categorical_features, self.binary_columns
        )
        for column in self.columns_:
            if column["kind"] == "numeric":
                self._fit_numeric(column, frame[column["name"]])
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.blocks_ = _layout(self.columns_)
        self.n_features_out_ = self.blocks_[-1][2] if self.blocks_ else 0
        return self

    def _fit_numeric(self, column, values):
        x = _numeric_values(values)
        x = x[~np.isnan(x)]
        if not len(x):  # every value missing: the column comes back missing
            column.update(quantiles=[0.0], mean=0.0, std=1.0)
            return
        if self.numeric_transform == "quantile":
            levels = np.linspace(0, 1, min(self.n_quantiles, len(x)))
            column["quantiles"] = np.quantile(x, levels).tolist()
        else:
            std = float(x.std())
            column.update(mean=float(x.mean()), std=std if std > 0 else 1.0)

    def transform(self, X):
        """The block matrix of ``X``.

        Columns are found by name, so a DataFrame may list them in another
        order. A category not seen at fit is encoded as all zeros in its
        block (as ``OneHotEncoder(handle_unknown="ignore")``), with a warning;
        a missing value in a column that had none at fit is encoded as the
        column's median (numeric) or all zeros (categorical), with a warning.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)
            Rows of a table like the one fitted.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out_), float32
        """
        check_is_fitted(self)
        frame = self._aligned(X)
        out = np.zeros((len(frame), self.n_features_out_), dtype=np.float32)
        blocks = iter(self.blocks_)
        for column in self.columns_:
            values = frame[column["name"]]
            missing = values.isna().to_numpy()
            _, start, stop = next(blocks)
            if column["kind"] == "categorical":
                codes = encode_category_codes(values, column)
                rows = np.flatnonzero(codes >= 0)
                out[rows, start + codes[rows]] = 1.0
            else:
                x = _numeric_values(values)
                out[:, start] = np.where(missing, 0.0, self._to_normal(column, x))
            if column["missing_rate"] > 0:
                if column["kind"] == "numeric":
                    _, start, stop = next(blocks)
                    out[:, start] = missing
                else:
                    out[missing, stop - 1] = 1.0
            elif missing.any():
                warnings.warn(
                    f"Column {column['name']!r} has {int(missing.sum())} missing values, but "
                    "had none at fit: they are encoded as "
                    + ("the median." if column["kind"] == "numeric" else "no category."),
                    UserWarning,
                    stacklevel=3,
                )
        return out

    def inverse_transform(self, X, random_state=None):
        """Rows from block values (e.g. a decoder's probabilities and values).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out_)
            Per categorical block, the probability (or a score) of each
            level; per numeric column, its normal score; per missing
            indicator, the probability that the value is missing.
        random_state : int, RandomState instance or None, default=None
            None: each categorical value is the most likely level and a
            value is missing when its probability exceeds 0.5 (as the
            argmax of ``predict``). Otherwise the seed of draws from those
            probabilities, which keeps the rates of rare levels and of
            missing values.

        Returns
        -------
        X_original : DataFrame or ndarray of shape (n_samples, n_features_in_)
            A DataFrame with the fitted columns, dtypes and categories when
            ``returns_frame_``; else a float array with NaN where missing.
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_out_:
            raise ValueError(
                f"TableTransformer.inverse_transform expects {self.n_features_out_} columns; "
                f"got an array of shape {X.shape}."
            )
        rng = None if random_state is None else check_random_state(random_state)
        blocks = iter(self.blocks_)
        columns = {}
        for column in self.columns_:
            _, start, stop = next(blocks)
            if column["kind"] == "categorical":
                codes = _choose(X[:, start:stop], rng)
                levels = len(column["categories"])
                codes = np.where(codes >= levels, -1, codes)  # the "missing" level
                columns[column["name"]] = ("codes", codes)
                continue
            values = self._from_normal(column, X[:, start])
            if column["missing_rate"] > 0:
                _, start, _ = next(blocks)
                p = X[:, start]
                missing = p > 0.5 if rng is None else rng.random_sample(len(p)) < p
                if column["missing_rate"] == 1:  # nothing else was ever seen
                    missing = np.ones_like(missing)
                values = np.where(missing, np.nan, values)
            columns[column["name"]] = ("values", values)
        rebuilt = {c["name"]: rebuild_column(c, *columns[c["name"]]) for c in self.columns_}
        if not self.returns_frame_:
            return np.column_stack([_numeric_values(rebuilt[c["name"]]) for c in self.columns_])
        import pandas as pd

        return pd.DataFrame(rebuilt, columns=list(self.feature_names_in_))

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``name=level``, ``name``, ``name_missing``."""
        check_is_fitted(self)
        names = []
        for column in self.columns_:
            name = column["name"]
            if column["kind"] == "categorical":
                names += [f"{name}={level}" for level in column["categories"]]
                if column["missing_rate"] > 0:
                    names.append(f"{name}=<missing>")
            else:
                names.append(str(name))
                if column["missing_rate"] > 0:
                    names.append(f"{name}_missing")
        return np.asarray(names, dtype=object)

    # --------------------------------------------------------------- state
    def get_state(self):
        """The fitted state as plain data (JSON-able), for :func:`skaae.save`."""
        check_is_fitted(self)
        return {
            "columns": self.columns_,
            "feature_names_in": [str(name) for name in self.feature_names_in_],
            "returns_frame": bool(self.returns_frame_),
        }

    def set_state(self, state):
        """Restore a state from :meth:`get_state`; returns self."""
        self.columns_ = [dict(column) for column in state["columns"]]
        self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.returns_frame_ = bool(state["returns_frame"])
        self.blocks_ = _layout(self.columns_)
        self.n_features_out_ = self.blocks_[-1][2] if self.blocks_ else 0
        return self

    # ------------------------------------------------------------- helpers
    def _aligned(self, X):
        """``X`` as a frame with the fitted columns in the fitted order, or a clear error."""
        frame, names, _ = table_columns(X)
        expected = [str(name) for name in self.feature_names_in_]
        given = [str(name) for name in names]
        if given != expected:
            missing = [name for name in expected if name not in given]
            extra = [name for name in given if name not in expected]
            if missing or extra:
                raise ValueError(
                    f"X has other columns than the table fitted: missing {missing}, "
                    f"unexpected {extra}."
                )
        frame.columns = given
        return frame[expected]

    def _to_normal(self, column, x):
        if self.numeric_transform == "standard" or "quantiles" not in column:
            return (x - column["mean"]) / column["std"]
        q = np.asarray(column["quantiles"])
        if len(q) == 1 or q[0] == q[-1]:
            return np.zeros_like(x)
        levels = np.linspace(0, 1, len(q))
        # The mean of the interpolations from above and below: ties map to the
        # middle of their run of quantiles (as scikit-learn's QuantileTransformer).
        up = np.interp(x, q, levels)
        down = -np.interp(-x, -q[::-1], -levels[::-1])
        return ndtri(np.clip(0.5 * (up + down), _CLIP, 1 - _CLIP))

    def _from_normal(self, column, z):
        if self.numeric_transform == "standard" or "quantiles" not in column:
            x = z * column["std"] + column["mean"]
        else:
            q = np.asarray(column["quantiles"])
            x = np.interp(ndtr(z), np.linspace(0, 1, len(q)), q)
        if column["integral"]:
            x = np.round(x)
        return x


def _layout(columns):
    """``(kind, start, stop)`` of each block, in column order."""
    blocks, start = [], 0
    for column in columns:
        if column["kind"] == "categorical":
            width = len(column["categories"]) + (column["missing_rate"] > 0)
            blocks.append(("categorical", start, start + width))
            start += width
        else:
            blocks.append(("numeric", start, start + 1))
            start += 1
            if column["missing_rate"] > 0:
                blocks.append(("missing", start, start + 1))
                start += 1
    return blocks


def _numeric_values(values):
    """A numeric column as float64 with NaN where missing (nullable dtypes included)."""
    return values.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _choose(scores, rng):
    """Per row, the index of the largest score, or one drawn from the scores (probabilities)."""
    if rng is None:
        return np.argmax(scores, axis=1)
    p = np.clip(scores, 0, None)
    total = p.sum(axis=1, keepdims=True)
    p = np.where(total > 0, p / np.where(total > 0, total, 1), 1.0 / p.shape[1])
    u = rng.random_sample((len(p), 1))
    return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)

"""How data pass through the fitted model, for every estimator of the family.

:class:`NetworkMixin` runs inference through the estimator's
:class:`~skaae.model.AutoencoderModel` (``model_``): the model's one forward
path, the same that training uses.
"""

import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import ModelPart, _check_float32_range, _float_dtype
from ._labels import check_labels
from ._out_of_core import iter_row_blocks
from ._prior_base import check_n_samples
from ._threads import thread_policy
from .losses import PerColumnLoss, make_reconstruction_loss
from .training import precision_context

__all__ = ["NetworkMixin", "codes_tensor", "input_tensor"]

# Inference processes rows in blocks of about this many values (64 MiB as float32).
_INFERENCE_BLOCK_VALUES = 1 << 24
# Sampling with conditions gives up after this many draws per row asked for.
_MAX_DRAWS_PER_ROW = 1000


def _wants_pandas(estimator):
    """Whether ``set_output(transform="pandas")`` asked for DataFrames."""
    config = getattr(estimator, "_sklearn_output_config", {})
    return config.get("transform") == "pandas"


def input_tensor(model, block, device):
    """Rows of X as the model's input: through float32 (the training dtype), then scaled."""
    x = torch.as_tensor(_writable(np.ascontiguousarray(block, dtype=np.float32)), device=device)
    return model.to_model(x.to(model.dtype))


def codes_tensor(model, block, device):
    """Codes (or class indices' companions) as a tensor in the model's dtype."""
    return torch.as_tensor(_writable(np.asarray(block)), dtype=model.dtype, device=device)


def _writable(array):
    """``array``, copied if read-only (e.g. a DataFrame's values under pandas' copy-on-write),
    which torch would warn about before sharing its memory."""
    return array if array.flags.writeable else array.copy()


class NetworkMixin:
    """Inference through the fitted model, shared by the estimators.

    The estimators build their model in ``_build_networks`` (a fresh
    ``model_`` from fitted attributes alone, so that :func:`skaae.load` can
    rebuild it before loading its weights).
    """

    encoder_ = ModelPart("encoder", "The encoder network q(z|x).")
    decoder_ = ModelPart("decoder", "The decoder network p(x|z).")

    def _infer(self, function, X, *aligned):
        """``function(model, block, device, *aligned_blocks)`` over ``X`` in large batches.

        ``model`` is the fitted model in eval mode and in the inference
        precision (see :meth:`_inference_model`). ``aligned`` arrays (e.g.
        labels) have one entry per row of ``X`` and are cut into the same
        blocks. With ``precision="bfloat16"`` it runs under autocast
        (bfloat16 results come back as float32).
        """
        device = self._runtime_device()
        model = self._inference_model(device, _float_dtype(X))
        threads = thread_policy(model, min(X.shape[0], 4096), device)
        with torch.inference_mode(), precision_context(device, self.precision), threads:
            return self._map_batches(
                lambda block, *extra: function(model, block, device, *extra), X, *aligned
            )

    def _inference_model(self, device, input_dtype):
        """The model that computes inference, in eval mode.

        Inference computes in the precision of the input, as scikit-learn's
        estimators do: float64 input runs a float64 copy of the model on the
        CPU, float32 input the float32 model itself (about twice as fast). In
        float32, BLAS kernels change with the number of rows, which changes a
        row's result in its last bits (about 5e-7), so the output for a
        sample depends slightly on the other samples of the call; in float64
        that noise is about 1e-16. On CUDA, and with ``precision="bfloat16"``
        (asked for speed), the float32 model always runs.
        """
        exact = (
            device.type == "cpu"
            and np.dtype(input_dtype) == np.float64
            and self.precision == "float32"
        )
        model = copy.deepcopy(self.model_).to(torch.float64) if exact else self.model_
        return model.eval()

    def _map_batches(self, function, X, *aligned):
        """Apply ``function`` (tensor -> tensor) to ``X`` in large batches; return numpy."""
        out = []
        rows = max(1, min(4096, _INFERENCE_BLOCK_VALUES // max(X.shape[1], 1)))
        for start, block in iter_row_blocks(X, rows):
            if sp.issparse(block):
                block = block.toarray()
            extra = [values[start : start + rows] for values in aligned]
            result = function(block, *extra)
            if result.dtype == torch.bfloat16:  # numpy has no bfloat16
                result = result.float()
            out.append(result.cpu().numpy())
        return np.concatenate(out) if out else np.empty((0,))

    def _encode(self, X):
        """The codes of X that ``transform`` returns (the encoder's ``embed``), in X's dtype."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        codes = self._infer(
            lambda model, block, device: model.embed(input_tensor(model, block, device)), X
        )
        self._check_finite_output(codes, "codes")
        return codes.astype(_float_dtype(X), copy=False)

    def _reconstruction(self):
        """The fitted reconstruction loss, with its input scaling."""
        table = getattr(self, "table_transformer_", None)
        if table is not None:
            return PerColumnLoss(blocks=table.blocks_)
        return make_reconstruction_loss(self.reconstruction_loss_, self._offset, self._scale)

    def _sample_rows(self, draw, n_samples, rng, conditions=None, y=None):
        """``n_samples`` rows from ``draw(n) -> (decoded, dtype)``, n prior draws decoded.

        With ``conditions`` (``{column: value}``), only rows that hold those
        values: rows are drawn from the model and those that do not hold them
        are rejected, which samples the model's own conditional distribution
        and keeps the condition in every row. ``y`` is the label the draws
        were asked for (one label only, with conditions).
        """
        check_n_samples(n_samples)
        if not conditions:
            decoded, dtype = draw(n_samples)  # (for no samples too: it checks y)
            if not n_samples:
                decoded = self._no_rows()
            return self._rows(decoded, dtype, random_state=rng)
        names = self._check_conditions(conditions)
        if y is not None and np.ndim(y) > 0:
            raise ValueError("sample takes one label y (not one per sample) with conditions.")
        kept, n_kept, n_drawn, batch = [], 0, 0, max(n_samples, 1)
        while n_kept < n_samples:
            rows = self._rows(*draw(batch), random_state=rng)
            holds = np.ones(batch, dtype=bool)
            for name, value in conditions.items():
                column = rows[name] if not isinstance(rows, np.ndarray) else rows[:, names[name]]
                holds &= np.asarray(column == value, dtype=bool)
            kept.append(rows[holds])
            n_kept, n_drawn = n_kept + int(holds.sum()), n_drawn + batch
            if n_kept < n_samples and n_drawn >= _MAX_DRAWS_PER_ROW * n_samples:
                raise ValueError(
                    f"Only {n_kept} of {n_drawn} rows drawn hold {conditions}: the model "
                    f"gives them a probability of about {n_kept / n_drawn:.2g}, too rare "
                    f"to sample {n_samples} rows."
                )
            rate = max(n_kept, 1) / n_drawn
            batch = min(int(1.2 * (n_samples - n_kept) / rate) + 1, 1 << 16)
        if isinstance(rows, np.ndarray):
            return np.concatenate(kept)[:n_samples]
        import pandas as pd

        return pd.concat(kept, ignore_index=True).iloc[:n_samples]

    def _check_conditions(self, conditions):
        """The column index of each name of ``conditions``, or a clear error."""
        table = getattr(self, "table_transformer_", None)
        if table is None:
            raise ValueError(
                "sample(conditions=...) needs a model fitted on a table with categorical "
                "columns (see the table parameter)."
            )
        columns = {column["name"]: column for column in table.columns_}
        names = list(columns)
        for name, value in conditions.items():
            column = columns.get(name)
            if column is None:
                raise ValueError(f"conditions names {name!r}, which is not a column of X.")
            if column["kind"] != "categorical":
                raise ValueError(
                    f"conditions can hold categorical columns only; {name!r} is numeric."
                )
            if value not in column["categories"]:
                raise ValueError(
                    f"{value!r} is not a category of column {name!r}: {column['categories']}."
                )
        return {name: names.index(name) for name in conditions}

    def _no_rows(self):
        """The decoder's output for no codes."""
        return np.empty((0, self._n_model_features()), dtype=np.float32)

    def _rows(self, decoded, dtype=np.float64, random_state=None):
        """Decoded values as the rows that ``inverse_transform`` and ``sample`` return.

        For a table, its rows (a DataFrame when it had non-numeric columns):
        the most likely categories, or with ``random_state`` categories and
        missing values drawn from the decoder's probabilities. Otherwise an
        array of ``dtype``. With ``set_output(transform="pandas")``, numeric
        rows come as a DataFrame with the input's column names.
        """
        table = getattr(self, "table_transformer_", None)
        if table is None:
            rows = decoded.astype(dtype, copy=False)
        else:
            rows = table.inverse_transform(decoded, random_state=random_state)
            if isinstance(rows, np.ndarray):
                rows = rows.astype(dtype, copy=False)
        if isinstance(rows, np.ndarray) and _wants_pandas(self):
            import pandas as pd

            names = getattr(self, "feature_names_in_", None)
            if names is None:
                names = [f"x{i}" for i in range(rows.shape[1])]
            rows = pd.DataFrame(rows, columns=list(names))
        return rows

    def _decode(self, Z, conditions=None):
        """Decoded data of the codes ``Z`` (with class indices ``conditions``, if any)."""
        aligned = () if conditions is None else (conditions,)

        def decode(model, block, device, *labels):
            y = torch.as_tensor(labels[0], dtype=torch.long, device=device) if labels else None
            return model.to_data(model.decode(codes_tensor(model, block, device), y))

        decoded = self._infer(decode, Z, *aligned)
        self._check_finite_output(decoded, "decoded data")
        return decoded

    def _validate_codes(self, Z):
        Z = check_array(Z, dtype=(np.float64, np.float32), input_name="Z")
        _check_float32_range(Z, "Z")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"The codes have {Z.shape[1]} columns, but {type(self).__name__} was fitted "
                f"with n_components={self.n_components}."
            )
        return Z

    def score(self, X, y=None):
        """Negative mean reconstruction loss of X (higher is better).

        The loss is the one used in training (``reconstruction_loss_``),
        averaged over samples and features, with X encoded as by
        ``transform`` and decoded. Model selection (``GridSearchCV``) uses it
        when no ``scoring`` is given.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.
        y : array-like of shape (n_samples,) or None, default=None
            The class of each sample, decoded with it when the model is
            conditional (needed there); ignored otherwise.

        Returns
        -------
        score : float
            Minus the mean reconstruction loss.
        """
        check_is_fitted(self)
        X, summary = self._validate_X(X, reset=False, summarise=True)
        self._check_reconstruction_range(summary)
        aligned = ()
        if self._is_conditional():
            if y is None:
                raise ValueError("This model is conditional (conditional=True): score needs y.")
            aligned = (self._condition_indices(check_labels(y, X), X.shape[0]),)

        def summed_loss(model, block, device, *labels):
            x = input_tensor(model, block, device)
            y = torch.as_tensor(labels[0], dtype=torch.long, device=device) if labels else None
            # In float64: squared errors of large (finite float32) inputs overflow float32.
            output = model.decode(model.embed(x), y).double()
            return model.reconstruction_loss(output, x.double()).reshape(1) * len(block)

        losses = self._infer(summed_loss, X, *aligned)
        self._check_finite_output(losses, "reconstruction loss")
        return -float(losses.sum() / X.shape[0])

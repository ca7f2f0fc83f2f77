"""Reconstruction losses: each one object with its loss, scaling and output activation.

A reconstruction loss owns everything that depends on what the data are:

- ``check_range(summary)``: refuse data outside the loss's domain, early and
  by name (BCE needs values in [0, 1]);
- ``input_scaling(summary)``: the ``(offset, scale)`` it learns from a
  summary of X (``min``, ``max``, ``mean``, ``var``), or ``(None, None)``;
- ``to_model(x)``: data units to the units the networks see;
- ``loss(output, target)``: the decoder's raw output against a target in the
  networks' units, a scalar mean over samples and features;
- ``to_data(output)``: the decoder's raw output back to data units (the
  decoder's output activation).

The losses are ``nn.Module`` objects whose scaling is held in non-persistent
buffers, so that it follows the model to a device or to float64 and stays
out of the model's ``state_dict`` (the estimators store it as ``_offset``
and ``_scale``). To add one, subclass :class:`ReconstructionLoss` and add it
to :data:`RECONSTRUCTION_LOSSES`; ``reconstruction_loss=<its name>`` then
selects it.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "RECONSTRUCTION_LOSSES",
    "BinaryCrossEntropy",
    "MeanSquaredError",
    "PerColumnLoss",
    "ReconstructionLoss",
    "choose_reconstruction_loss",
    "make_reconstruction_loss",
]


class ReconstructionLoss(nn.Module):
    """Base class: a loss that takes the data as they are (no scaling).

    Parameters
    ----------
    offset, scale : array-like of shape (n_features,) or None, default=None
        The input scaling ``(x - offset) / scale`` into the networks' units;
        None: none.
    """

    name = None

    def __init__(self, offset=None, scale=None):
        super().__init__()
        for key, value in (("offset", offset), ("scale", scale)):
            tensor = None if value is None else torch.as_tensor(value, dtype=torch.float32)
            self.register_buffer(key, tensor, persistent=False)

    @staticmethod
    def input_scaling(summary):
        """``(offset, scale)`` learnt from ``summary``; ``(None, None)``: the data as they are."""
        return None, None

    @staticmethod
    def check_range(summary):
        """Raise a ValueError if data summarised by ``summary`` are outside the domain."""

    def to_model(self, x):
        if self.offset is None:
            return x
        return (x - self.offset.to(x.dtype)) / self.scale.to(x.dtype)

    def loss(self, output, target):
        raise NotImplementedError

    def to_data(self, output):
        if self.offset is None:
            return output
        return output * self.scale.to(output.dtype) + self.offset.to(output.dtype)


class BinaryCrossEntropy(ReconstructionLoss):
    """Binary cross-entropy of the decoder's logits, for data in [0, 1] (e.g. pixels).

    The decoder outputs logits; ``to_data`` is their sigmoid.
    """

    name = "bce"

    @staticmethod
    def check_range(summary):
        if summary.min < 0 or summary.max > 1:
            raise ValueError(
                f"reconstruction_loss='bce' needs X in [0, 1]; got values in "
                f"[{summary.min:.4g}, {summary.max:.4g}]. Scale X, or use "
                "reconstruction_loss='mse'."
            )

    def loss(self, output, target):
        return F.binary_cross_entropy_with_logits(output, target)

    def to_data(self, output):
        return torch.sigmoid(output)


class MeanSquaredError(ReconstructionLoss):
    """Mean squared error on features standardised to zero mean and unit variance.

    Standardising puts every feature's error on one scale whatever its
    units; ``to_data`` scales the output back. A constant feature keeps a
    scale of 1.
    """

    name = "mse"

    @staticmethod
    def input_scaling(summary):
        mean, std = summary.mean, np.sqrt(summary.var)
        return mean, np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)

    def loss(self, output, target):
        return F.mse_loss(output, target)


class PerColumnLoss(ReconstructionLoss):
    """The loss of a table: one term per column, averaged over the columns.

    The input is the block matrix of a :class:`~skaae.tabular.TableTransformer`
    (its ``blocks_``): a categorical column's term is the cross-entropy of the
    softmax over its block; a numeric column's the squared error of its
    normal score, counted only where the value is present, plus the binary
    cross-entropy of its missing-value indicator where it has one. Every
    column weighs the same whatever its width, so a 50-level column does
    not drown the numeric ones.

    ``to_data`` gives each categorical block's probabilities, each
    indicator's probability and the numeric scores, the layout that
    ``TableTransformer.inverse_transform`` reads.

    Parameters
    ----------
    offset, scale : None
        Unused: the table transformer scales the columns.
    blocks : sequence of (kind, start, stop)
        The layout, as ``TableTransformer.blocks_``.
    """

    name = "per_column"

    def __init__(self, offset=None, scale=None, *, blocks=()):
        super().__init__()
        blocks = [(kind, int(start), int(stop)) for kind, start, stop in blocks]
        if not blocks:
            raise ValueError("PerColumnLoss needs the blocks of a fitted TableTransformer.")
        self.blocks = blocks
        self.n_columns = sum(kind != "missing" for kind, _, _ in blocks)
        numeric = [start for kind, start, _ in blocks if kind == "numeric"]
        indicators = [start for kind, start, _ in blocks if kind == "missing"]
        # A numeric column's indicator follows it: the squared errors it masks, by position.
        masked = [numeric.index(start - 1) for start in indicators]
        categorical = [(start, stop) for kind, start, stop in blocks if kind == "categorical"]
        width = max((stop - start for start, stop in categorical), default=0)
        # Categorical blocks gathered to one width; the padding repeats a block's first
        # column and is masked out (``categorical_valid``).
        index = [list(range(a, b)) + [a] * (width - (b - a)) for a, b in categorical]
        valid = [[i < b - a for i in range(width)] for a, b in categorical]
        for key, value, dtype in (
            ("numeric_index", numeric, torch.long),
            ("indicator_index", indicators, torch.long),
            ("masked_numeric", masked, torch.long),
            ("categorical_index", index, torch.long),
            ("categorical_valid", valid, torch.bool),
        ):
            self.register_buffer(key, torch.as_tensor(value, dtype=dtype), persistent=False)

    def loss(self, output, target):
        total = output.new_zeros(())
        if len(self.numeric_index):
            error = (output[:, self.numeric_index] - target[:, self.numeric_index]) ** 2
            if len(self.masked_numeric):  # (a length: no device sync)
                present = torch.ones_like(error)
                present[:, self.masked_numeric] = 1 - target[:, self.indicator_index]
                error = error * present
            total = total + error.sum(dim=1).mean()
        if len(self.indicator_index):
            total = (
                total
                + F.binary_cross_entropy_with_logits(
                    output[:, self.indicator_index],
                    target[:, self.indicator_index],
                    reduction="none",
                )
                .sum(dim=1)
                .mean()
            )
        if len(self.categorical_index):
            padding = ~self.categorical_valid
            logits = output[:, self.categorical_index].masked_fill(
                padding, torch.finfo(output.dtype).min
            )
            log_p = torch.log_softmax(logits, dim=-1)
            weights = target[:, self.categorical_index].masked_fill(padding, 0.0)
            total = total - (weights * log_p.clamp_min(-1e4)).sum(dim=(1, 2)).mean()
        return total / self.n_columns

    def to_data(self, output):
        data = output.clone()
        if len(self.indicator_index):
            data[:, self.indicator_index] = torch.sigmoid(output[:, self.indicator_index])
        for kind, start, stop in self.blocks:
            if kind == "categorical":
                data[:, start:stop] = torch.softmax(output[:, start:stop], dim=1)
        return data


RECONSTRUCTION_LOSSES = {
    cls.name: cls for cls in (BinaryCrossEntropy, MeanSquaredError, PerColumnLoss)
}
"""Names accepted by ``reconstruction_loss=``, each mapped to its class."""


def choose_reconstruction_loss(name, summary):
    """The name of the loss that ``reconstruction_loss=name`` means for data like ``summary``.

    ``"auto"``: ``"bce"`` when every value lies in [0, 1], else ``"mse"``.
    """
    if name != "auto":
        return name
    return "bce" if 0.0 <= summary.min and summary.max <= 1.0 else "mse"


def make_reconstruction_loss(name, offset=None, scale=None):
    """The loss ``name`` with the input scaling ``(offset, scale)`` (None: none)."""
    return RECONSTRUCTION_LOSSES[name](offset, scale)

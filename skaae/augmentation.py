"""Data augmentation: random transformations of the training mini-batches.

Every estimator takes an ``augmentation`` parameter: ``None`` (the default)
or a callable ``augmentation(x, generator)`` that receives a mini-batch ``x``
(a float32 tensor of shape ``(batch, n_features)``, in the units of ``X``,
on the training device) and a ``torch.Generator`` on that device, and
returns a new tensor of the same shape: the batch transformed at random.
The encoder sees each training mini-batch transformed (its inputs, its
neighbours and its labelled rows, each anew) while the decoder is asked for
the batch as given, as in a denoising autoencoder: the encoder learns to
ignore the transformation, so the codes of transformed and original data
agree and the adversaries' match to the prior holds for the data as given.
``transform``, ``predict`` and validation see the data as given. Drawing
every random number from ``generator`` keeps fits reproducible with
``random_state``. Augmentation encodes what should not change a sample's
meaning: for images, small shifts (see :doc:`/user_guide/paper_models`).

To add a transformation, write such a callable; to make it clone-able and
storable by :func:`skaae.save`, subclass ``sklearn.base.BaseEstimator`` (for
``get_params``) and add it to :data:`AUGMENTATIONS`.
"""

import functools
import math
import numbers

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

from ._base import resolve_device

__all__ = ["AUGMENTATIONS", "RandomShift"]


class RandomShift(BaseEstimator):
    """Shift each image of a mini-batch by a random whole number of pixels.

    Each row of X is an image flattened in C order (as
    ``images.reshape(n, -1)`` gives). Every image of every training
    mini-batch moves by ``(dy, dx)`` pixels, each drawn uniformly from
    ``-max_shift, ..., max_shift``; the pixels that enter take the value
    ``fill``. Pass it as the ``augmentation`` parameter of any estimator.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)``, or ``(channels, height, width)`` for images
        with channels first; their product is the number of features.
    max_shift : int, default=2
        Largest shift, in pixels, along each axis; on MNIST 2 erred less
        than 1 or 3 (see :doc:`/user_guide/paper_models`).
    fill : float, default=0.0
        Value of the pixels shifted in (0: black, for dark backgrounds as
        MNIST's), in the units of X.

    Examples
    --------
    >>> import torch
    >>> from skaae.augmentation import RandomShift
    >>> shift = RandomShift(image_shape=(8, 8), max_shift=1)
    >>> x = torch.rand(5, 64)
    >>> shift(x, torch.Generator().manual_seed(0)).shape
    torch.Size([5, 64])
    """

    def __init__(self, image_shape, max_shift=2, fill=0.0):
        self.image_shape = image_shape
        self.max_shift = max_shift
        self.fill = fill

    def __call__(self, x, generator):
        """Shifted copies of the images in the rows of ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flattened images.
        generator : torch.Generator
            Source of the shifts, on the device of ``x``.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The shifted images, flattened; ``x`` is left unchanged.
        """
        channels, height, width = self._shape(x.shape[-1])
        shift = self.max_shift
        n = x.shape[0]
        if shift == 0 or n == 0:
            return x.clone()
        images = F.pad(x.reshape(n, channels, height, width), (shift,) * 4, value=self.fill)
        padded_height, padded_width = height + 2 * shift, width + 2 * shift
        # One gather: the flat index of every pixel of the window at offset
        # (0, 0) of the padded image, moved to each sample's offset (dy, dx)
        # in [0, 2 * shift], which is the image moved by (shift - dy, shift - dx).
        arange = functools.partial(torch.arange, device=x.device)
        window = (
            arange(channels)[:, None, None] * (padded_height * padded_width)
            + arange(height)[None, :, None] * padded_width
            + arange(width)[None, None, :]
        ).reshape(-1)
        dy, dx = torch.randint(0, 2 * shift + 1, (2, n, 1), generator=generator, device=x.device)
        return images.reshape(n, -1).gather(1, window + dy * padded_width + dx)

    def _shape(self, n_features):
        """``(channels, height, width)``, checking the parameters against ``n_features``."""
        shape = self.image_shape
        if (
            not isinstance(shape, tuple | list)
            or len(shape) not in (2, 3)
            or not all(isinstance(size, numbers.Integral) and size > 0 for size in shape)
        ):
            raise ValueError(
                "RandomShift's image_shape must be (height, width) or (channels, height, "
                f"width), positive integers; got {shape!r}."
            )
        if not isinstance(self.max_shift, numbers.Integral) or self.max_shift < 0:
            raise ValueError(
                f"RandomShift's max_shift must be a non-negative integer; got {self.max_shift!r}."
            )
        if not isinstance(self.fill, numbers.Real) or not math.isfinite(self.fill):
            raise ValueError(f"RandomShift's fill must be a finite number; got {self.fill!r}.")
        if math.prod(shape) != n_features:
            raise ValueError(
                f"RandomShift(image_shape={tuple(shape)}) needs {math.prod(shape)} features "
                f"per sample, but X has {n_features}."
            )
        return (1, *shape) if len(shape) == 2 else tuple(shape)


#: The augmentations that :func:`skaae.save` stores (by their parameters).
AUGMENTATIONS = {"RandomShift": RandomShift}


class _InModelUnits:
    """An augmentation applied to batches standardised by ``(x - offset) / scale``.

    The estimators train on standardised features (for the MSE loss); the
    user's augmentation works in the units of X: undo the scaling, augment,
    redo it.
    """

    def __init__(self, augmentation, offset, scale):
        self.augmentation = augmentation
        self.offset = offset
        self.scale = scale

    def __call__(self, x, generator):
        return (self.augmentation(x * self.scale + self.offset, generator) - self.offset) / (
            self.scale
        )


def in_model_units(augmentation, offset, scale, device):
    """``augmentation`` for the networks' inputs (scaled by ``offset`` and ``scale``, or not)."""
    if augmentation is None or offset is None:
        return augmentation
    return _InModelUnits(
        augmentation,
        torch.as_tensor(offset, dtype=torch.float32, device=device),
        torch.as_tensor(scale, dtype=torch.float32, device=device),
    )


def check_augmentation(augmentation, n_features, device, estimator_name):
    """Run ``augmentation`` once on two rows; raise a clear error if its output is unusable.

    ``device`` is an estimator's ``device`` parameter (``"auto"`` resolved here).
    """
    if augmentation is None:
        return
    device = resolve_device(device)
    probe = torch.zeros(2, n_features, device=device)
    out = augmentation(probe, torch.Generator(device).manual_seed(0))
    if not isinstance(out, torch.Tensor) or out.shape != probe.shape or not out.is_floating_point():
        got = (
            f"a {out.dtype} tensor of shape {tuple(out.shape)}"
            if isinstance(out, torch.Tensor)
            else f"a {type(out).__name__}"
        )
        raise ValueError(
            f"{estimator_name}'s augmentation must return a float tensor of the shape of its "
            f"input, (batch, {n_features}); given a (2, {n_features}) batch it returned {got}."
        )

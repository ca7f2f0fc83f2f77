"""Mini-batches from validated input, without a DataLoader.

Dense in-memory data is copied to the device once and shuffled once per epoch
(one gather), so a mini-batch is a view. Sparse matrices (and, later,
out-of-core arrays) stay where they are and one mini-batch at a time is
densified and copied to the device.
"""

import numpy as np
import scipy.sparse as sp
import torch


class BatchSource:
    """Rows of ``X`` as float32 tensors on ``device``, centred and scaled.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated input.
    device : torch.device
        Where the batches go.
    offset, scale : ndarray of shape (n_features,) or None
        The batches are ``(X - offset) / scale``; ``None`` leaves ``X`` as is.
    y : ndarray of shape (n_samples,) or None, default=None
        Integer class indices (-1 for unlabelled); when given, each batch is
        a pair ``(x, y)`` with ``y`` a long tensor on ``device``.
    """

    def __init__(self, X, device, offset=None, scale=None, y=None):
        self.n_samples = X.shape[0]
        self.device = device
        self._y = (
            None if y is None else torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
        )
        self._streamed = sp.issparse(X)
        self._offset = _as_row(offset, device)
        self._scale = _as_row(scale, device)
        if self._streamed:
            self._X = X.tocsr()
        else:
            self._X = self._normalise(
                torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
            )

    def _normalise(self, x):
        # The first operation copies (x may share memory with the caller's
        # array); the second works in place on that copy.
        if self._offset is not None:
            x = x - self._offset
            if self._scale is not None:
                x.div_(self._scale)
        elif self._scale is not None:
            x = x / self._scale
        return x

    def _rows(self, index):
        """Densified, normalised rows ``index`` (a sorted int ndarray) of a streamed X."""
        block = self._X[index].toarray().astype(np.float32, copy=False)
        return self._normalise(torch.from_numpy(block).to(self.device, non_blocking=True))

    def batches(self, batch_size, generator=None):
        """Yield mini-batches of at most ``batch_size`` rows.

        Parameters
        ----------
        batch_size : int
            Rows per batch.
        generator : torch.Generator or None
            CPU generator for the shuffle; ``None`` keeps the row order.
        """
        n = self.n_samples
        order = None if generator is None else torch.randperm(n, generator=generator)
        if not self._streamed:
            data = self._X if order is None else self._X[order.to(self.device)]
            if self._y is None:
                yield from data.split(batch_size)
                return
            labels = self._y if order is None else self._y[order.to(self.device)]
            yield from zip(data.split(batch_size), labels.split(batch_size), strict=True)
            return
        order = np.arange(n) if order is None else order.numpy()
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            index = index if generator is None else np.sort(index)
            if self._y is None:
                yield self._rows(index)
            else:
                yield self._rows(index), self._y[torch.from_numpy(index).to(self.device)]


def _as_row(values, device):
    if values is None:
        return None
    return torch.as_tensor(np.asarray(values, dtype=np.float32), device=device)

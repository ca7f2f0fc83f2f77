"""Mini-batches from validated input, without a DataLoader.

Dense in-memory data is copied to the device once and shuffled once per epoch
(one permutation), each mini-batch gathering its rows. Sparse matrices stay
where they are and one mini-batch at a time is densified and copied to the
device. Memory-mapped arrays stay on disk and are read a window of blocks at
a time (:class:`BlockShuffledSource`).
"""

import copy
import itertools

import numpy as np
import scipy.sparse as sp
import torch

from ._neighbors import nearest_neighbors
from ._out_of_core import RowReader, is_memory_mapped, rows_per_block
from .training import Batch

# A memory-mapped X is shuffled within windows of this many blocks.
WINDOW_BLOCKS = 16


def make_batch_source(X, device, offset=None, scale=None, rows=None, y=None, hold=False):
    """The batch source for ``X``: block-shuffled for a memmap, else :class:`BatchSource`.

    Arguments as for :class:`BatchSource`. ``hold=True`` is for a source
    cycled many times per epoch (the labelled mini-batches): the served
    rows of a memmap are then read once and held in memory when they fit in
    one window, instead of being read from the file at every pass (and are
    then shuffled exactly, as in memory).
    """
    if is_memory_mapped(X):
        source = BlockShuffledSource(X, device, offset, scale, rows, y)
        if not (hold and source.n_samples <= WINDOW_BLOCKS * source._block_rows):
            return source
        X = source.read()
        y = None if y is None or rows is None else np.asarray(y)[rows]
        rows = None
    return BatchSource(X, device, offset, scale, rows, y)


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
    rows : ndarray of int or None, default=None
        Sorted indices of the rows to serve; ``None`` serves every row. Dense
        data is copied to the device for these rows only; a sparse matrix is
        not copied.
    y : ndarray of shape (n_samples,) or None, default=None
        Integer class indices (-1 for unlabelled), one per row of ``X`` (not
        per served row: ``y[rows]`` go with the rows served); when given,
        each batch's ``y`` is a long tensor of them on ``device``.
    """

    def __init__(self, X, device, offset=None, scale=None, rows=None, y=None):
        self.n_samples = X.shape[0] if rows is None else len(rows)
        self.device = device
        self._y = None if y is None else _labels(y, rows, device)
        self._streamed = sp.issparse(X)
        self._offset = _as_row(offset, device)
        self._scale = _as_row(scale, device)
        if self._streamed:
            self._X = X.tocsr()
            self._index = rows
        else:
            X = X if rows is None else X[rows]
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
        """Densified, normalised rows ``index`` (an int ndarray, any order) of a streamed X."""
        if self._index is not None:
            index = self._index[index]
        block = self._X[index].toarray().astype(np.float32, copy=False)
        return self._normalise(torch.from_numpy(block).to(self.device, non_blocking=True))

    def batches(self, batch_size, generator=None, n_neighbors=0, search_components=None):
        """Yield mini-batches of at most ``batch_size`` rows, as :class:`~skaae.training.Batch`.

        Parameters
        ----------
        batch_size : int
            Rows per batch.
        generator : torch.Generator or None
            CPU generator for the shuffle; ``None`` keeps the row order.
        n_neighbors : int, default=0
            When positive, each row comes with one of its ``n_neighbors``
            nearest rows (``Batch.neighbors``), drawn anew every epoch. The
            neighbours are searched once, at the first such call (see
            :func:`~skaae._neighbors.nearest_neighbors`).
        search_components : int or None, default=None
            Search the neighbours of dense rows in this many principal
            components; None: in all the features.
        """
        n = self.n_samples
        order = None if generator is None else torch.randperm(n, generator=generator)
        partner = None
        if n_neighbors > 0:
            partner = self._partners(n_neighbors, generator, search_components)
        if not self._streamed:
            order = torch.arange(n) if order is None else order
            for index in order.to(self.device).split(batch_size):
                # A gather per mini-batch: gathering all rows at once would hold
                # a second copy of X (e.g. 188 MB for MNIST) through the epoch.
                yield Batch(
                    self._X[index],
                    None if self._y is None else self._y[index],
                    neighbors=None if partner is None else self._X[partner[index]],
                )
            return
        order = np.arange(n) if order is None else order.numpy()
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]  # (in the order of the dense path)
            yield Batch(
                self._rows(index),
                None if self._y is None else self._y[torch.from_numpy(index).to(self.device)],
                neighbors=None if partner is None else self._rows(partner[index].numpy()),
            )

    def search_rows(self):
        """The served rows as the neighbour search sees them: normalised, in serving order.

        A tensor on the device (dense data; no copy) or a scaled sparse
        matrix; None when the rows are only ever searched a window at a time
        (a memory-mapped X larger than one window).
        """
        return self._X if not self._streamed else self._scaled_sparse_rows()

    def with_labels(self, y):
        """A source of the same rows, sharing their memory, that serves the labels ``y``.

        ``y`` has one label per served row, in serving order.
        """
        source = copy.copy(self)
        source._y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)
        return source

    def _partners(self, n_neighbors, generator, search_components):
        """For each served row, one of its ``n_neighbors`` nearest rows, drawn at random."""
        table = self._neighbor_table(self.search_rows, n_neighbors, generator, search_components)
        return _draw_partners(table, generator)

    def _neighbor_table(self, rows, n_neighbors, generator, search_components):
        """Neighbour table of the rows ``rows()`` returns: searched once, then kept."""
        settings = (n_neighbors, search_components)
        if getattr(self, "_neighbors", (None,))[0] != settings:
            found = nearest_neighbors(rows(), n_neighbors, generator, search_components)
            self._neighbors = (settings, found)
        return self._neighbors[1]

    def _scaled_sparse_rows(self):
        """The served rows of a sparse X, scaled as the batches are (centring moves no distance)."""
        X = self._X if self._index is None else self._X[self._index]
        if self._scale is None:
            return X
        return sp.csr_matrix(X.multiply(1.0 / self._scale.cpu().numpy()[None]))


class BlockShuffledSource(BatchSource):
    """Mini-batches of a memory-mapped ``X`` that stays on disk.

    A random mini-batch of rows scattered over a file larger than memory
    would cost one random read per row. Instead the rows are grouped in
    blocks of consecutive rows (about 4 MiB each, one sequential read); an
    epoch visits the blocks in a random order, ``WINDOW_BLOCKS`` (16) at a
    time, and shuffles the rows of each such window (about 64 MiB) before
    cutting it into mini-batches. The trade-off: a mini-batch mixes rows of
    at most 16 contiguous stretches of the file rather than of the whole
    file, so data stored sorted (by class, by time) gives mini-batches less
    varied than an exact shuffle would; shuffle such a file once on disk.
    Data that fits in one window is shuffled exactly, and then the batches
    are those of :class:`BatchSource` on the same data in memory.

    Only one window (plus one incomplete mini-batch carried over to the next
    window) is in memory at a time. Parameters as for :class:`BatchSource`;
    with ``rows``, a block is a stretch of the file and serves the rows of
    ``rows`` it holds. With ``y``, the labels of the rows read (``y``
    indexed with the same row indices) travel with them through the shuffle.
    """

    def __init__(self, X, device, offset=None, scale=None, rows=None, y=None):
        self.n_samples = X.shape[0] if rows is None else len(rows)
        self.device = device
        self._offset = _as_row(offset, device)
        self._scale = _as_row(scale, device)
        self._reader = RowReader(X)
        self._n_rows = X.shape[0]
        self._block_rows = rows_per_block(X)
        self._index = rows
        # Labels are small (8 bytes a row): kept whole, on the CPU, indexed like the rows.
        self._y = None if y is None else np.asarray(y, dtype=np.int64)

    def _block(self, k):
        """The served rows of file block ``k``, as read (dtype of X), and their labels."""
        start = k * self._block_rows
        stop = min(start + self._block_rows, self._n_rows)
        if self._index is None:
            labels = None if self._y is None else self._y[start:stop]
            return self._reader.read(start, stop), labels
        first, last = np.searchsorted(self._index, [start, stop])
        if first == last:
            return None
        index = self._index[first:last]
        labels = None if self._y is None else self._y[index]
        return self._reader.read(index[0], index[-1] + 1)[index - index[0]], labels

    def _window(self, blocks):
        """The served rows of ``blocks`` (read in file order), normalised on the device.

        Returns ``(x, y)``, ``y`` None without labels; None when no row is served.
        """
        parts = [part for part in map(self._block, sorted(blocks)) if part is not None]
        if not parts:
            return None
        block = np.concatenate([x for x, _ in parts]) if len(parts) > 1 else parts[0][0]
        x = torch.from_numpy(block.astype(np.float32, copy=False)).to(self.device)
        labels = None
        if self._y is not None:
            labels = np.concatenate([y for _, y in parts]) if len(parts) > 1 else parts[0][1]
            labels = torch.from_numpy(np.ascontiguousarray(labels)).to(self.device)
        return self._normalise(x), labels

    def search_rows(self):
        """The served rows, normalised, when they fit in one window; else None.

        See :meth:`BatchSource.search_rows`; the one window's rows are read
        from the file (as the batches read them).
        """
        n_blocks = -(-self._n_rows // self._block_rows)
        if n_blocks > WINDOW_BLOCKS:
            return None
        window = self._window(np.arange(n_blocks))
        return None if window is None else window[0]

    def with_labels(self, y):
        """A source of the same rows that serves the labels ``y`` (one per served row)."""
        source = copy.copy(self)
        source._y = np.full(self._n_rows, -1, dtype=np.int64)
        source._y[slice(None) if self._index is None else self._index] = y
        return source

    def read(self):
        """The served rows, in file order, as one array in memory (dtype of X)."""
        n_blocks = -(-self._n_rows // self._block_rows)
        parts = [part[0] for part in map(self._block, range(n_blocks)) if part is not None]
        return np.concatenate(parts) if parts else self._reader.read(0, 0)

    def batches(self, batch_size, generator=None, n_neighbors=0, search_components=None):
        """Yield mini-batches of ``batch_size`` rows (the last one may be smaller).

        Parameters as for :meth:`BatchSource.batches`; here the neighbours
        of a row are searched among the rows of its window: once, when the
        data fit in one window (as in memory), else at each visit of a window.
        """
        n_blocks = -(-self._n_rows // self._block_rows)
        if generator is None or n_blocks <= WINDOW_BLOCKS:
            order = np.arange(n_blocks)
        else:
            order = torch.randperm(n_blocks, generator=generator).numpy()
        pending = None  # the rows of an incomplete mini-batch: (rows, labels, neighbours)
        for first in range(0, n_blocks, WINDOW_BLOCKS):
            columns = self._window_columns(
                order[first : first + WINDOW_BLOCKS],
                n_blocks,
                generator,
                n_neighbors,
                search_components,
            )
            if columns is None:
                continue
            n_rows, start = len(columns[0]), 0
            if pending is not None:
                # The carried rows and the head of this window make the next batch;
                # the rest of the window is cut without joining it to them (a copy).
                start = min(batch_size - len(pending[0]), n_rows)
                head = [
                    _join(old, _take(new, slice(0, start)))
                    for old, new in zip(pending, columns, strict=True)
                ]
                pending = None
                if len(head[0]) < batch_size:  # (the window ran out of rows first)
                    pending = head
                    continue
                yield from _cut(head, 0, batch_size, batch_size)
            n_full = start + (n_rows - start) // batch_size * batch_size
            if n_full > start:
                yield from _cut(columns, start, n_full, batch_size)
            if n_full < n_rows:
                # A copy: a view would keep the whole window alive into the next one.
                pending = [_take(column, slice(n_full, None), copy=True) for column in columns]
            del columns
        if pending is not None:
            yield from _cut(pending, 0, len(pending[0]), len(pending[0]))

    def _window_columns(self, blocks, n_blocks, generator, n_neighbors, search_components):
        """``[rows, labels, neighbours]`` of one window, shuffled; None when it serves no row.

        Labels and neighbours are None when there are none. Drawn in the
        order of :class:`BatchSource` (shuffle, then neighbours), so that data
        in one window trains exactly as in memory. The rows are gathered in
        shuffled order straight from the window as read (their neighbours
        too), so that at most three window-sized tensors live at once.
        """
        window = self._window(blocks)
        if window is None:
            return None
        x, labels = window
        del window
        shuffle = None
        if generator is not None:
            shuffle = torch.randperm(len(x), generator=generator).to(self.device)
        neighbors = None
        if n_neighbors > 0:
            if n_blocks <= WINDOW_BLOCKS:  # the same rows every epoch, as in memory
                found = self._neighbor_table(
                    lambda rows=x: rows, n_neighbors, generator, search_components
                )
            else:
                found = nearest_neighbors(x, n_neighbors, generator, search_components)
            partners = _draw_partners(found, generator)
            del found
            neighbors = x[partners if shuffle is None else partners[shuffle]]
        if shuffle is not None:
            x, labels = x[shuffle], _take(labels, shuffle)
        return [x, labels, neighbors]


def _take(column, index, copy=False):
    if column is None:
        return None
    return column[index].clone() if copy else column[index]


def _join(old, new):
    return None if new is None else torch.cat([old, new])


def _cut(columns, start, stop, batch_size):
    """Batches of rows ``start:stop`` of the aligned ``columns`` (rows, labels, neighbours)."""
    pieces = [
        itertools.repeat(None) if column is None else column[start:stop].split(batch_size)
        for column in columns
    ]
    for x, y, neighbors in zip(*pieces, strict=False):  # (labels, neighbours may repeat None)
        yield Batch(x, y, neighbors=neighbors)


def _draw_partners(neighbors, generator):
    """One of each row's neighbours (columns of ``neighbors``), drawn with ``generator``.

    Without a generator, the nearest.
    """
    if generator is None:
        return neighbors[:, 0]
    pick = torch.randint(neighbors.shape[1], (len(neighbors),), generator=generator)
    rows = torch.arange(len(neighbors), device=neighbors.device)
    return neighbors[rows, pick.to(neighbors.device)]


def _labels(y, rows, device):
    """The labels of the served rows, as a long tensor on ``device``."""
    y = np.asarray(y, dtype=np.int64)
    return torch.as_tensor(y if rows is None else y[rows], device=device)


def _as_row(values, device):
    if values is None:
        return None
    return torch.as_tensor(np.asarray(values, dtype=np.float32), device=device)

"""Rows of a waveform array, chosen by an index, read only when asked for.

A dataset's waveforms are a memory map of the cache file (``core.data.cache``). A split of it must not copy every
clip into memory (NSynth's waveforms are about 74 GB): :class:`IndexedRows` keeps the map and an index, and reads
rows when they are indexed, in ascending file order (kind to the page cache and the disk).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class IndexedRows:
    """A read-only view of ``base[index]`` for a 2-D ``base`` (usually a ``numpy.memmap``), materialised lazily.

    ``len``, ``shape``, ``dtype`` and indexing with an int, a slice, an int array or a boolean mask behave like the
    array ``base[index]``; ``np.asarray(view)`` reads every row (only for small splits).
    """

    def __init__(self, base: Any, index: np.ndarray) -> None:
        if isinstance(base, IndexedRows):
            index, base = base.index[np.asarray(index)], base.base
        self.base = base
        self.index = np.asarray(index, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, samples), as the array ``base[index]`` would have."""
        return (int(self.index.shape[0]), int(self.base.shape[1]))

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the rows."""
        return self.base.dtype

    @property
    def ndim(self) -> int:
        """Always 2."""
        return 2

    @property
    def filename(self) -> str | None:
        """The file behind the memory map, if any."""
        return getattr(self.base, "filename", None)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The rows at ``positions`` (into this view) as a new float array, read in ascending file order."""
        rows = self.index[np.asarray(positions, dtype=np.int64)]
        order = np.argsort(rows, kind="stable")
        out = np.empty((rows.shape[0], self.base.shape[1]), dtype=self.base.dtype)
        out[order] = self.base[rows[order]]
        return out

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            return np.asarray(self.base[self.index[key]])
        if isinstance(key, slice):
            return self.rows(np.arange(len(self))[key])
        key = np.asarray(key)
        if key.dtype == bool:
            key = np.flatnonzero(key)
        return self.rows(key)

    def subset(self, index: np.ndarray) -> IndexedRows:
        """A view of the rows at ``index`` (into this view), still unread."""
        return IndexedRows(self.base, self.index[np.asarray(index, dtype=np.int64)])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.rows(np.arange(len(self)))
        return out if dtype is None else out.astype(dtype, copy=False)

"""The in-memory form of every dataset: fixed-length waveforms plus labels, splits and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from core import SAMPLE_RATE
from core.data.rows import IndexedRows

SPLITS = ("train", "valid", "test")


@dataclass
class AudioDataset:
    """A labelled audio dataset with every clip padded or cropped (on the right) to one length.

    Attributes:
        name: dataset name, e.g. ``"esc10"`` or ``"fsdd"``.
        waveforms: float32 array [N, T]: a read-only memory map of the cache, an in-memory array, or (for a
            subset of a memory map) :class:`core.data.rows.IndexedRows`, which reads rows only when indexed;
            T = ``num_samples``.
        labels: int64 [N] class indices; -1 marks an unlabelled clip (see ``labelled_fraction``).
        class_names: names of the classes, indexed by label.
        split: str [N], each one of ``SPLITS`` (for fold-based sets, the split for the chosen test fold).
        paths: source path of each clip (absolute, as a string).
        sample_rate: Hz, always 16000 here.
        folds: int [N] official fold ids (1-based), or None where the dataset has none.
        speakers: str [N] speaker ids (for NSynth, the instrument), or None where unknown. Group-disjoint
            validation splits keep each of these on one side.
        meta: free-form extras (task, version, test fold, ...), JSON-able.
    """

    name: str
    waveforms: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    split: np.ndarray
    paths: list[str]
    sample_rate: int = SAMPLE_RATE
    folds: np.ndarray | None = None
    speakers: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_samples(self) -> int:
        """Clip length, in samples."""
        return int(self.waveforms.shape[1])

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)

    def indices(self, split: str) -> np.ndarray:
        """Indices of the clips in ``split`` (one of ``SPLITS``)."""
        return np.flatnonzero(self.split == split)

    def subset(self, index: np.ndarray | str) -> AudioDataset:
        """A dataset of the clips at ``index`` (an index array, a boolean mask, or a split name)."""
        if isinstance(index, str):
            index = self.indices(index)
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        waves = self.waveforms
        if isinstance(waves, IndexedRows):
            waves = waves.subset(index)
        elif isinstance(waves, np.memmap):
            waves = IndexedRows(waves, index)  # a memory-mapped cache is never copied whole into memory
        else:
            waves = waves[index]
        return replace(
            self,
            waveforms=waves,
            labels=self.labels[index],
            split=self.split[index],
            paths=[self.paths[i] for i in index],
            folds=None if self.folds is None else self.folds[index],
            speakers=None if self.speakers is None else self.speakers[index],
            meta=dict(self.meta),
        )

    def with_labelled_fraction(self, fraction: float, seed: int = 0) -> AudioDataset:
        """A copy whose ``train`` labels keep only a class-stratified ``fraction`` (others become -1).

        ``valid`` and ``test`` labels are untouched and no clip is dropped; see
        :func:`core.data.labels.labelled_fraction`.
        """
        from core.data.labels import labelled_fraction

        labels = self.labels.copy()
        train = self.indices("train")
        labels[train] = labelled_fraction(self.labels[train], fraction, seed)
        meta = {**self.meta, "labelled_fraction": float(fraction), "labelled_seed": int(seed)}
        return replace(self, labels=labels, meta=meta)

"""What a dataset module finds on disk, before any audio is decoded: the clip list with labels and splits."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.base import SPLITS
from core.errors import DatasetError


@dataclass
class ClipList:
    """The clips of one dataset (or task of it), their labels and splits, with no audio loaded.

    Attributes mirror :class:`core.data.base.AudioDataset` (``paths`` are absolute ``Path`` objects here).
    """

    name: str
    root: Path
    paths: list[Path]
    labels: np.ndarray
    class_names: list[str]
    split: np.ndarray
    folds: np.ndarray | None = None
    speakers: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.paths)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.split = np.asarray(self.split, dtype="<U5")
        if self.labels.shape != (n,) or self.split.shape != (n,):
            raise DatasetError(f"{self.name}: {n} paths, {self.labels.shape[0]} labels, {self.split.shape[0]} splits")
        if n == 0:
            raise DatasetError(f"{self.name}: no clips found under {self.root}")
        bad = sorted(set(self.split.tolist()) - set(SPLITS))
        if bad:
            raise DatasetError(f"{self.name}: unknown split names {bad} (expected {', '.join(SPLITS)})")
        if self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise DatasetError(f"{self.name}: labels outside 0..{len(self.class_names) - 1}")

    def __len__(self) -> int:
        return len(self.paths)

    def select(self, mask: np.ndarray) -> ClipList:
        """The clips where ``mask`` (boolean [N]) is true, with the same class names."""
        idx = np.flatnonzero(mask)
        return ClipList(
            name=self.name,
            root=self.root,
            paths=[self.paths[i] for i in idx],
            labels=self.labels[idx],
            class_names=list(self.class_names),
            split=self.split[idx],
            folds=None if self.folds is None else self.folds[idx],
            speakers=None if self.speakers is None else self.speakers[idx],
            meta=dict(self.meta),
        )


def read_csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, checking that the ``required`` columns are present."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            missing = [c for c in required if c not in columns]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(columns)})")
            rows = list(reader)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not a valid CSV file ({e})") from None
    if not rows:
        raise DatasetError(f"{path}: no rows")
    return rows


def resolve_clip(root: Path, rel: str, listed_in: Path) -> Path:
    """The absolute path of a listed clip, which must exist.

    The absolute, normalised (not symlink-resolved) path of a clip listed in ``listed_in`` relative to ``root``; it must
    exist.
    """
    p = Path(rel)
    p = p if p.is_absolute() else root / p
    if not p.is_file():
        raise DatasetError(f"{listed_in}: lists {rel!r}, but {p} does not exist")
    return Path(os.path.abspath(p))


def is_true(value: str) -> bool:
    """A CSV/JSON boolean cell (``True``/``true``/``1``/``yes``)."""
    return str(value).strip().lower() in ("true", "1", "yes")

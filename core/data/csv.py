"""A CSV list of clips: columns ``path`` and ``label``, and optionally ``split`` (train/valid/test).

``root`` is the CSV file itself, or a folder holding ``metadata.csv`` or exactly one ``*.csv``. Relative paths
are relative to the CSV's folder. Classes are the distinct labels in sorted order. Split values may be
``train``/``training``, ``valid``/``val``/``validation``/``dev`` or ``test``/``testing``. Without a split column
the clips are split seeded and class-stratified 80/10/10; with one that has no ``valid`` clips, 10 % of each
class of ``train`` becomes ``valid``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.data.listing import ClipList, read_csv_rows, resolve_clip
from core.data.splits import seeded_splits, stratified_holdout
from core.errors import DatasetError

SPLIT_NAMES = {
    **dict.fromkeys(("train", "training"), "train"),
    **dict.fromkeys(("valid", "val", "validation", "dev"), "valid"),
    **dict.fromkeys(("test", "testing"), "test"),
}


def locate(root: Path) -> Path | None:
    """The CSV file that ``root`` names or holds, else None."""
    if root.is_file():
        return root
    if not root.is_dir():
        return None
    if (root / "metadata.csv").is_file():
        return root / "metadata.csv"
    found = sorted(root.glob("*.csv"))
    return found[0] if len(found) == 1 else None


def scan(root: Path, *, seed: int = 0, **_: object) -> ClipList:
    """List the clips of a ``path,label[,split]`` CSV file."""
    listed = locate(root)
    if listed is None:
        raise DatasetError(f"csv: {root} is not a CSV file, nor a folder with metadata.csv or exactly one *.csv")
    rows = read_csv_rows(listed, ("path", "label"))
    base = listed.parent
    names = sorted({r["label"].strip() for r in rows})
    if len(names) < 2:
        raise DatasetError(f"{listed}: one label ({names[0]!r}); a classifier needs at least 2")
    index = {n: i for i, n in enumerate(names)}
    labels = np.array([index[r["label"].strip()] for r in rows])
    if "split" in rows[0]:
        raw = [(r.get("split") or "").strip().lower() for r in rows]
        unknown = sorted({s for s in raw if s not in SPLIT_NAMES})
        if unknown:
            raise DatasetError(f"{listed}: unknown split value(s) {unknown} (use train, valid or test)")
        split = np.array([SPLIT_NAMES[s] for s in raw], dtype="<U5")
        source = "split column"
        if not (split == "valid").any():
            train = np.flatnonzero(split == "train")
            split[train[stratified_holdout(labels[train], 0.1, seed)]] = "valid"
            source = "split column; valid carved from train (seeded, stratified 10 %)"
    else:
        split = seeded_splits(labels, seed)
        source = "seeded stratified 80/10/10"
    return ClipList(
        name="csv",
        root=Path(os.path.abspath(base)),
        paths=[resolve_clip(base, r["path"].strip(), listed) for r in rows],
        labels=labels,
        class_names=names,
        split=split,
        meta={"layout": "csv", "csv": os.path.abspath(listed), "split_source": source},
    )

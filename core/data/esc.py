"""ESC-50 and its ESC-10 subset (Piczak 2015): 5-second environmental sounds in 5 official folds.

Layouts read:
- official: ``<root>/meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) and
  ``<root>/audio/<filename>.wav`` (the archive's ``ESC-50-master/`` folder may be given or be inside ``root``);
- shared: ``<root>/metadata.csv`` (path, label, category, target, fold, ...) as in ``../shared/data/esc10``.

Splits: clips of the test fold (``fold=``, 1-5, default 1) are ``test``; the four other folds are ``train``, as in
the literature's protocol (train on 4 folds, test on the fifth). Where a run's validation clips come from (a
holdout of the training folds, one whole fold, or none) is the run's choice: ``data.validation`` in
:mod:`core.data.config`. Labels are the ESC-50 targets in ascending order: 0-49 for ESC-50, 0-9 for ESC-10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.listing import ClipList, is_true, read_csv_rows, resolve_clip
from core.errors import DatasetError

NUM_FOLDS = 5


def locate(root: Path) -> Path | None:
    """The folder under ``root`` (itself or one level down) holding an ESC layout, else None."""
    for d in [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []:
        if (d / "meta" / "esc50.csv").is_file() or (d / "metadata.csv").is_file():
            return d
    return None


def fold_splits(folds: np.ndarray, test_fold: int) -> np.ndarray:
    """Split names for each clip given its fold: ``test`` for the test fold, ``train`` for the four others."""
    if test_fold not in range(1, NUM_FOLDS + 1):
        raise DatasetError(f"ESC: fold must be 1..{NUM_FOLDS}, got {test_fold}")
    return np.where(folds == test_fold, "test", "train")


def scan(root: Path, *, esc10: bool, fold: int | None = None, **_: object) -> ClipList:
    """List ESC-50 (``esc10=False``) or ESC-10 clips with labels, folds and the splits for test ``fold``."""
    name = "esc10" if esc10 else "esc50"
    base = locate(root)
    if base is None:
        raise DatasetError(f"{name}: {root} has neither meta/esc50.csv (official layout) nor metadata.csv")
    if (base / "meta" / "esc50.csv").is_file():
        listed = base / "meta" / "esc50.csv"
        rows = read_csv_rows(listed, ("filename", "fold", "target", "category", "esc10"))
        rows = [r for r in rows if is_true(r["esc10"])] if esc10 else rows
        rels = [f"audio/{r['filename']}" for r in rows]
        layout = "official"
    else:
        listed = base / "metadata.csv"
        rows = read_csv_rows(listed, ("path", "fold", "target", "category"))
        if esc10 and "esc10" in rows[0]:
            rows = [r for r in rows if is_true(r["esc10"])]
        rels = [r["path"] for r in rows]
        layout = "shared"
    if not rows:
        raise DatasetError(f"{listed}: no {name} clips listed")
    targets = np.array([int(r["target"]) for r in rows])
    categories = {int(r["target"]): r["category"] for r in rows}
    uniq = sorted(categories)
    expected = 10 if esc10 else 50
    if len(uniq) != expected:
        hint = " (this is an ESC-10 folder; load it as esc10)" if len(uniq) == 10 and not esc10 else ""
        raise DatasetError(f"{listed}: {name} needs {expected} classes, found {len(uniq)}{hint}")
    remap = {t: i for i, t in enumerate(uniq)}
    folds = np.array([int(r["fold"]) for r in rows], dtype=np.int64)
    test_fold = 1 if fold is None else int(fold)
    split = fold_splits(folds, test_fold)
    return ClipList(
        name=name,
        root=base,
        paths=[resolve_clip(base, rel, listed) for rel in rels],
        labels=np.array([remap[t] for t in targets]),
        class_names=[categories[t] for t in uniq],
        split=split,
        folds=folds,
        meta={"layout": layout, "test_fold": test_fold, "split_source": "official folds"},
    )

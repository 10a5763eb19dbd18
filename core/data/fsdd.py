"""FSDD, the Free Spoken Digit Dataset: 3000 recordings of the digits 0-9 by 6 speakers, 50 takes each.

Layouts read:
- official: ``<root>/recordings/<digit>_<speaker>_<take>.wav`` (the GitHub archive's
  ``free-spoken-digit-dataset-master/`` folder may be given or be inside ``root``);
- shared: ``<root>/metadata.csv`` (path, label, split, speaker, take, ...) as in ``../shared/data/fsdd``.

Splits: the official one (takes 0-4 of every speaker and digit are ``test``: 300 clips; takes 5-49 are training:
2700 clips). The test split holds the same six speakers as training: it measures new takes of known voices. A
run's validation split (by default a class-stratified 10 % holdout of the training clips, so 2430 train and 270
valid), and the leave-one-speaker-out test of unseen voices (``data.test_group``), are chosen in
:mod:`core.data.config`.

The recordings are 8 kHz, so their content stops at 4 kHz even after resampling to 16 kHz. They last 0.14-2.28 s
(median 0.42 s) and are zero-padded or cropped on the right to 1 s, like Speech Commands.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from core.data.listing import ClipList, read_csv_rows, resolve_clip
from core.errors import DatasetError

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEST_TAKES = range(0, 5)
_NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)\.(wav|flac)$", re.IGNORECASE)


def locate(root: Path) -> Path | None:
    """The folder under ``root`` (itself or one level down) holding an FSDD layout, else None."""
    for d in [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []:
        if (d / "recordings").is_dir() or (d / "metadata.csv").is_file():
            return d
    return None


def scan(root: Path, **_: object) -> ClipList:
    """List FSDD clips with the official train/test split and their speakers."""
    base = locate(root)
    if base is None:
        raise DatasetError(f"fsdd: {root} has neither recordings/ (official layout) nor metadata.csv")
    if (base / "recordings").is_dir():
        listed = base / "recordings"
        entries = []
        for f in sorted(listed.iterdir()):
            m = _NAME.match(f.name)
            if m:
                entries.append((f"recordings/{f.name}", int(m[1]), m[2], int(m[3])))
        layout = "official"
    else:
        listed = base / "metadata.csv"
        rows = read_csv_rows(listed, ("path", "label", "speaker", "take"))
        entries = [(r["path"], int(r["label"]), r["speaker"], int(r["take"])) for r in rows]
        layout = "shared"
    if not entries:
        raise DatasetError(f"fsdd: no <digit>_<speaker>_<take> recordings found in {listed}")
    labels = np.array([e[1] for e in entries])
    speakers = np.array([e[2] for e in entries])
    split = np.array(["test" if e[3] in TEST_TAKES else "train" for e in entries], dtype="<U5")
    return ClipList(
        name="fsdd",
        root=base,
        paths=[resolve_clip(base, e[0], listed) for e in entries],
        labels=labels,
        class_names=list(DIGITS),
        split=split,
        speakers=speakers,
        meta={"layout": layout, "split_source": "official (takes 0-4 test, takes 5-49 train)"},
    )

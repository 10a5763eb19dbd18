"""A folder of the user's own sounds, one subfolder per class: ``<root>/<class>/**/<clip>.<ext>``.

Every audio file (by extension, see :data:`AUDIO_EXTENSIONS`) under a class subfolder, at any depth, is a clip
of that class. Classes are the subfolder names in sorted order; hidden folders (``.name``) are ignored. There is
no official split, so clips are split seeded and class-stratified: 10 % test, 10 % valid, 80 % train.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.data.listing import ClipList
from core.data.splits import seeded_splits
from core.errors import DatasetError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64", ".opus")


def is_audio_file(p: Path) -> bool:
    """True for a regular, non-hidden file with an audio extension."""
    return p.is_file() and not p.name.startswith(".") and p.suffix.lower() in AUDIO_EXTENSIONS


def scan(root: Path, *, seed: int = 0, **_: object) -> ClipList:
    """List the clips of a class-per-subfolder tree."""
    if not root.is_dir():
        raise DatasetError(f"folder: {root} is not a directory")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths, labels, class_names = [], [], []
    for d in class_dirs:
        files = sorted(f for f in d.rglob("*") if is_audio_file(f))
        if not files:
            continue
        class_names.append(d.name)
        paths += [Path(os.path.abspath(f)) for f in files]
        labels += [len(class_names) - 1] * len(files)
    if not paths:
        raise DatasetError(
            f"folder: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in class subfolders of {root}; "
            "expected <root>/<class name>/<clip>"
        )
    if len(class_names) < 2:
        raise DatasetError(f"folder: {root} has one class ({class_names[0]}); a classifier needs at least 2")
    labels_arr = np.array(labels)
    return ClipList(
        name="folder",
        root=Path(os.path.abspath(root)),
        paths=paths,
        labels=labels_arr,
        class_names=class_names,
        split=seeded_splits(labels_arr, seed),
        meta={"layout": "folder", "split_source": "seeded stratified 80/10/10"},
    )

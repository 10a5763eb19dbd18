"""Google Speech Commands v0.01 (30 words) and v0.02 (35 words), and the SC09 digit subset.

Layouts read:
- official: ``<root>/<word>/<speaker>_nohash_<n>.wav`` with ``validation_list.txt`` and ``testing_list.txt``
  (paths relative to ``root``); ``_background_noise_/`` is ignored;
- shared: ``<root>/metadata.csv`` (path, label, speaker, ...) as in ``../shared/data/speech_commands``.

Splits: the official lists where present; otherwise the dataset's own ``which_set`` hashing rule (10 % valid,
10 % test, by speaker; see :func:`core.data.splits.which_set`), which is also how the official lists were made.

Tasks: ``"words"`` (default: every word, 35 classes in v0.02, 30 in v0.01) and ``"sc09"`` (zero..nine; label =
the digit).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from core.data.listing import ClipList, read_csv_rows, resolve_clip
from core.data.splits import which_set
from core.errors import DatasetError

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
V1_WORDS = (
    *("bed", "bird", "cat", "dog", "down", "eight", "five", "four", "go", "happy", "house", "left", "marvin", "nine"),
    *("no", "off", "on", "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "wow"),
    *("yes", "zero"),
)
V2_WORDS = tuple(sorted((*V1_WORDS, "backward", "follow", "forward", "learn", "visual")))
TASKS = ("words", "sc09")
VERSIONS = ("v0.01", "v0.02")
_AUDIO_EXT = {".wav", ".flac", ".ogg", ".mp3"}


def _word_dirs(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and p.name in V2_WORDS)


def locate(root: Path) -> Path | None:
    """The folder under ``root`` (itself or one level down) holding a Speech Commands layout, else None."""
    for d in [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []:
        if (d / "metadata.csv").is_file() or (d / "testing_list.txt").is_file() or _word_dirs(d):
            return d
    return None


def speaker_of(path: str) -> str:
    """The speaker id of a clip: its file name before ``_nohash_``."""
    return re.sub(r"_nohash_.*$", "", path.replace("\\", "/").rsplit("/", 1)[-1])


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {line.strip().replace("\\", "/") for line in path.read_text().splitlines() if line.strip()}


def scan(root: Path, *, task: str | None = None, version: str | None = None, seed: int = 0, **_: object) -> ClipList:
    """List Speech Commands clips for ``task`` (``"words"`` or ``"sc09"``)."""
    task = task or "words"
    if task not in TASKS:
        raise DatasetError(f"speech_commands: unknown task {task!r} (choose from {', '.join(TASKS)})")
    if version is not None and version not in VERSIONS:
        raise DatasetError(f"speech_commands: unknown version {version!r} (choose from {', '.join(VERSIONS)})")
    base = locate(root)
    if base is None:
        raise DatasetError(f"speech_commands: {root} has no word folders, testing_list.txt or metadata.csv")
    if (base / "metadata.csv").is_file():
        listed = base / "metadata.csv"
        rows = read_csv_rows(listed, ("path", "label"))
        rels = [r["path"] for r in rows]
        words = [r["label"] for r in rows]
        layout = "shared"
    else:
        listed = base
        rels, words = [], []
        for wd in _word_dirs(base):
            for f in sorted(wd.iterdir()):
                if f.suffix.lower() in _AUDIO_EXT and "_nohash_" in f.name:
                    rels.append(f"{wd.name}/{f.name}")
                    words.append(wd.name)
        layout = "official"
    if not rels:
        raise DatasetError(f"speech_commands: no clips found in {base}")
    found = sorted(set(words))
    detected = "v0.02" if "backward" in found or len(found) > len(V1_WORDS) else "v0.01"
    if version is not None and version != detected:
        raise DatasetError(f"speech_commands: {base} holds {detected} ({len(found)} words), not {version}")
    valid_list = _read_list(base / "validation_list.txt")
    test_list = _read_list(base / "testing_list.txt")
    if valid_list or test_list:
        split = ["valid" if r in valid_list else "test" if r in test_list else "train" for r in rels]
        split_source = "official validation_list.txt / testing_list.txt"
    else:
        split = [which_set(r) for r in rels]
        split_source = "which_set hashing (10 % valid, 10 % test, by speaker)"
    if task == "sc09":
        keep = [i for i, w in enumerate(words) if w in DIGITS]
        if not keep:
            raise DatasetError(f"sc09: {base} holds no digit words (zero..nine)")
        class_names = list(DIGITS)
    else:
        keep = list(range(len(rels)))
        class_names = found
    index = {w: i for i, w in enumerate(class_names)}
    name = "sc09" if task == "sc09" else "speech_commands"
    return ClipList(
        name=name,
        root=base,
        paths=[resolve_clip(base, rels[i], listed) for i in keep],
        labels=np.array([index[words[i]] for i in keep]),
        class_names=class_names,
        split=np.array([split[i] for i in keep]),
        speakers=np.array([speaker_of(rels[i]) for i in keep]),
        meta={"layout": layout, "task": task, "version": detected, "split_source": split_source},
    )

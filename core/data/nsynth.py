"""NSynth (Engel et al. 2017): 4-second musical notes; tasks ``instrument_family`` (11 classes) and ``pitch``.

Layouts read:
- official: ``<root>/nsynth-{train,valid,test}/examples.json`` (note_str -> note attributes) with
  ``audio/<note_str>.wav`` beside it; any subset of the three split folders may be present;
- shared: ``<root>/metadata.csv`` (path, instrument_family, instrument_str, pitch, nsynth_split, ...) as in
  ``../shared/data/nsynth``.

Splits: the official ones (whose instruments are disjoint). If the official train split is absent (the shared
sample holds only nsynth-test notes), the notes present are split seeded and instrument-disjoint: 20 % of the
instruments to ``test``, then 20 % of the rest to ``valid``; if train is present but valid is not, valid is carved
from train the same way. ``meta["split_source"]`` says which happened.

Classes: ``instrument_family`` uses the 11 official family names (ids 0-10); ``pitch`` uses all 128 MIDI notes
(class k is MIDI note k, so labels are comparable across subsets; NSynth itself spans 9-120).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.data.listing import ClipList, read_csv_rows, resolve_clip
from core.data.splits import group_stratified_holdout
from core.errors import DatasetError

FAMILIES = (
    *("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"),
)
TASKS = ("instrument_family", "pitch")
OFFICIAL_SPLITS = {"nsynth-train": "train", "nsynth-valid": "valid", "nsynth-test": "test"}
HOLDOUT_FRACTION = 0.2


def locate(root: Path) -> Path | None:
    """The folder under ``root`` (itself or one level down) holding an NSynth layout, else None."""
    for d in [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []:
        if (d / "metadata.csv").is_file() or any((d / s / "examples.json").is_file() for s in OFFICIAL_SPLITS):
            return d
    return None


def _official(base: Path) -> tuple[list[Path], list[dict], list[str]]:
    paths, notes, split = [], [], []
    for folder, name in OFFICIAL_SPLITS.items():
        listed = base / folder / "examples.json"
        if not listed.is_file():
            continue
        try:
            examples = json.loads(listed.read_text())
        except (OSError, ValueError) as e:
            raise DatasetError(f"{listed}: not valid JSON ({e})") from None
        if not isinstance(examples, dict):
            raise DatasetError(f"{listed}: expected an object mapping note_str to its attributes")
        for note_str in sorted(examples):
            note = examples[note_str]
            for key in ("instrument_family", "pitch", "instrument_str"):
                if key not in note:
                    raise DatasetError(f"{listed}: note {note_str!r} lacks {key!r}")
            paths.append(resolve_clip(base / folder, f"audio/{note_str}.wav", listed))
            notes.append(note)
            split.append(name)
    return paths, notes, split


def _shared(base: Path) -> tuple[list[Path], list[dict], list[str]]:
    listed = base / "metadata.csv"
    rows = read_csv_rows(listed, ("path", "instrument_family", "pitch", "instrument_str"))
    paths = [resolve_clip(base, r["path"], listed) for r in rows]
    notes = [{**r, "instrument_family": int(r["instrument_family"]), "pitch": int(r["pitch"])} for r in rows]
    names = {"train": "train", "valid": "valid", "test": "test"}
    split = [names.get(r.get("nsynth_split") or "test", "test") for r in rows]
    return paths, notes, split


def scan(root: Path, *, task: str | None = None, seed: int = 0, **_: object) -> ClipList:
    """List NSynth notes for ``task`` (``"instrument_family"``, the default, or ``"pitch"``)."""
    task = task or "instrument_family"
    if task not in TASKS:
        raise DatasetError(f"nsynth: unknown task {task!r} (choose from {', '.join(TASKS)})")
    base = locate(root)
    if base is None:
        raise DatasetError(f"nsynth: {root} has no nsynth-*/examples.json (official layout) nor metadata.csv")
    official = any((base / s / "examples.json").is_file() for s in OFFICIAL_SPLITS)
    paths, notes, split_list = _official(base) if official else _shared(base)
    if not paths:
        raise DatasetError(f"nsynth: no notes listed under {base}")
    if task == "instrument_family":
        labels = np.array([int(n["instrument_family"]) for n in notes])
        class_names = list(FAMILIES)
    else:
        labels = np.array([int(n["pitch"]) for n in notes])
        class_names = [str(k) for k in range(128)]
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise DatasetError(f"nsynth: {task} value out of range under {base}")
    split = np.array(split_list, dtype="<U5")
    instruments = np.array([str(n["instrument_str"]) for n in notes])
    family = np.array([int(n["instrument_family"]) for n in notes])
    source = "official nsynth-train/valid/test"
    if not (split == "train").any():
        held = _holdout(family, instruments, np.ones(len(split), bool), seed)
        split[:] = "train"
        split[held] = "test"
        held = _holdout(family, instruments, split == "train", seed + 1)
        split[held] = "valid"
        source = "no official train split: seeded, instrument-disjoint (20 % test, 20 % of the rest valid)"
    elif not (split == "valid").any():
        split[_holdout(family, instruments, split == "train", seed)] = "valid"
        source = "official train/test; valid carved instrument-disjoint from train (seeded)"
    return ClipList(
        name="nsynth",
        root=base,
        paths=paths,
        labels=labels,
        class_names=class_names,
        split=split,
        speakers=instruments,
        meta={"layout": "official" if official else "shared", "task": task, "split_source": source},
    )


def _holdout(family: np.ndarray, instruments: np.ndarray, pool: np.ndarray, seed: int) -> np.ndarray:
    """Boolean mask [N]: an instrument-disjoint hold-out of about 20 % of the ``pool`` clips."""
    out = np.zeros(pool.shape[0], dtype=bool)
    idx = np.flatnonzero(pool)
    if np.unique(instruments[idx]).size < 2:
        return out
    out[idx[group_stratified_holdout(family[idx], instruments[idx], HOLDOUT_FRACTION, seed)]] = True
    return out

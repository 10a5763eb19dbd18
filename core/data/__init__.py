"""Datasets: one module per family, a registry, the waveform cache, splits and label fractions.

>>> from core.data import load_dataset, labelled_fraction
>>> ds = load_dataset("esc10", fold=1)              # $CLAR_DATA_DIR/esc10, then ./data/esc10
>>> train = ds.subset("train")
>>> semi = labelled_fraction(train.labels, 0.1, seed=0)   # 10 % of the labels kept, the rest -1

Names: esc10, esc50 (folds 1-5), sc09, speech_commands (tasks words, sc09; versions v0.01, v0.02), nsynth (tasks
instrument_family, pitch), fsdd, demo (synthetic sounds, generated on first use), folder (one subfolder per class)
and csv (path,label[,split]).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core import SAMPLE_RATE
from core.data import csv as csv_list
from core.data import demo, esc, folder, fsdd, nsynth, speech_commands
from core.data.base import SPLITS, AudioDataset
from core.data.catalog import (
    DATASET_NAMES,
    DEFAULT_SECONDS,
    DOWNLOADABLE,
    FOLDERS,
    FOLDS,
    MAX_DEFAULT_SECONDS,
    TASKS,
    VERSIONS,
    DatasetFamily,
    check_name,
    family,
)
from core.data.labels import UNLABELLED, labelled_fraction
from core.data.listing import ClipList
from core.errors import ConfigError, DatasetError
from core.paths import data_dirs

__all__ = [
    "DATASET_NAMES",
    "DEFAULT_SECONDS",
    "SPLITS",
    "UNLABELLED",
    "AudioDataset",
    "ClipList",
    "DatasetFamily",
    "default_num_samples",
    "family",
    "find_root",
    "labelled_fraction",
    "list_clips",
    "load_dataset",
]

_SCANNERS: dict[str, Callable[..., ClipList]] = {
    "esc10": lambda root, **kw: esc.scan(root, esc10=True, **kw),
    "esc50": lambda root, **kw: esc.scan(root, esc10=False, **kw),
    "sc09": lambda root, **kw: speech_commands.scan(root, **{**kw, "task": "sc09"}),
    "speech_commands": speech_commands.scan,
    "nsynth": nsynth.scan,
    "fsdd": fsdd.scan,
    "demo": demo.scan,
    "folder": folder.scan,
    "csv": csv_list.scan,
}


def find_root(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of dataset ``name``: ``root`` if given, else ``$CLAR_DATA_DIR/<name>``, else ``./data/<name>``.

    Raises:
        DatasetError: the dataset is not found; the message names every place looked at and the command that
            downloads it.
    """
    name = check_name(name)
    if root is not None:
        path = Path(root).expanduser()
        if not path.exists():
            raise DatasetError(f"{name}: {path} does not exist{_download_hint(name, path)}")
        return path
    if name in ("folder", "csv"):
        raise DatasetError(f"{name}: give the dataset's location with root= (--root on the command line)")
    if name == "demo":
        return demo.demo_root()  # synthetic: generated on first use, never downloaded
    looked = []
    for base in data_dirs():
        for sub in FOLDERS[name]:
            candidate = base / sub
            looked.append(str(candidate.resolve() if candidate.exists() else candidate))
            if candidate.is_dir():
                return candidate
    where = "; ".join(looked)
    hint = _download_hint(name, data_dirs()[0] / DOWNLOADABLE.get(name, name))
    raise DatasetError(f"{name}: dataset not found (looked in {where}; set $CLAR_DATA_DIR or pass root){hint}")


def _download_hint(name: str, folder: Path) -> str:
    """The download command that creates ``folder`` (the downloader writes ``<root>/<name>/``)."""
    target = DOWNLOADABLE.get(name)
    if target is None:
        return ""
    root = folder.parent if folder.name == target else folder
    return f"; download it with: python -m core data download {target} --root {root}"


def list_clips(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    task: str | None = None,
    version: str | None = None,
    fold: int | None = None,
    seed: int = 0,
) -> ClipList:
    """The clips of a dataset with labels and splits, without decoding any audio (see :func:`load_dataset`)."""
    name = check_name(name)
    if task is not None and task not in TASKS.get(name, ()):
        choices = ", ".join(TASKS.get(name, ())) or "none"
        raise ConfigError(f"{name}: unknown task {task!r} (tasks: {choices})")
    if version is not None and name not in VERSIONS:
        raise ConfigError(f"{name}: version= applies only to {', '.join(VERSIONS)}")
    if fold is not None and name not in FOLDS:
        raise ConfigError(f"{name}: fold= applies only to {', '.join(FOLDS)}")
    path = find_root(name, root)
    clips = _SCANNERS[name](path, task=task, version=version, fold=fold, seed=seed)
    clips.meta.setdefault("seed", seed)
    return clips


def default_num_samples(name: str, clips: ClipList, sample_rate: int = SAMPLE_RATE) -> int:
    """The default clip length of a dataset, in samples.

    The default clip length in samples: ``DEFAULT_SECONDS[name]``, or for folder/csv the median duration of the clips
    (read from their headers) rounded up to 0.1 s, at most ``MAX_DEFAULT_SECONDS``.
    """
    seconds = DEFAULT_SECONDS[check_name(name)]
    if seconds is None:
        from core.audio import audio_info

        durations = [audio_info(p).duration for p in clips.paths]
        seconds = min(MAX_DEFAULT_SECONDS, np.ceil(float(np.median(durations)) * 10 - 1e-6) / 10)
    return round(seconds * sample_rate)


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    task: str | None = None,
    version: str | None = None,
    fold: int | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    progress: bool = True,
    use_cache: bool = True,
) -> AudioDataset:
    """Load a dataset as fixed-length 16 kHz mono waveforms with labels, splits and provenance.

    Args:
        name: one of :data:`DATASET_NAMES`.
        root: the dataset folder (for csv: the CSV file or its folder); default: see :func:`find_root`.
        task: ``speech_commands``: ``"words"`` (default) or ``"sc09"``; ``nsynth``: ``"instrument_family"``
            (default) or ``"pitch"``.
        version: ``speech_commands``/``sc09``: ``"v0.01"`` or ``"v0.02"`` (default: detected from the words).
        fold: ``esc10``/``esc50``: the test fold, 1-5 (default 1).
        num_samples: clip length in samples at 16 kHz (default ``DEFAULT_SECONDS[name] * 16000``).
        seed: seeds every split that is not official.
        progress: show a tqdm bar while decoding.
        use_cache: read and write the waveform cache (``$CLAR_CACHE_DIR/waveforms``); the first load decodes
            and resamples every file once, later loads memory-map the cache.

    Raises:
        DatasetError: unknown name, dataset not found or laid out wrongly.
        ConfigError: a task, version or fold the dataset does not have.
        AudioLoadError: a clip cannot be decoded (the message names it).
    """
    from core.data.cache import load_waveforms

    clips = list_clips(name, root, task=task, version=version, fold=fold, seed=seed)
    if num_samples is None:
        num_samples = default_num_samples(name, clips)
    if int(num_samples) <= 0:
        raise ConfigError(f"{name}: num_samples must be positive, got {num_samples}")
    num_samples = int(num_samples)
    waveforms = load_waveforms(
        clips.name, clips.root, clips.paths, num_samples, SAMPLE_RATE, use_cache=use_cache, progress=progress
    )
    meta = {
        **clips.meta,
        "root": str(clips.root),
        "seconds": num_samples / SAMPLE_RATE,
    }
    if use_cache and getattr(waveforms, "filename", None):
        meta["cache"] = str(waveforms.filename)
    return AudioDataset(
        name=clips.name,
        waveforms=waveforms,
        labels=clips.labels.copy(),
        class_names=list(clips.class_names),
        split=clips.split.copy(),
        paths=[str(p) for p in clips.paths],
        sample_rate=SAMPLE_RATE,
        folds=clips.folds,
        speakers=clips.speakers,
        meta=meta,
    )

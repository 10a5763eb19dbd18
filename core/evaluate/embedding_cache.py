"""A dataset's embeddings under a checkpoint, cached on disk: what the embedding explorer and data-issue views read.

One ``.npz`` file per (checkpoint, dataset) under ``cache_dir()/embeddings/``, named by a key that hashes

* the checkpoint file's bytes (SHA-256: a retrained or replaced checkpoint misses, whatever its name), and
* the dataset: its name, clip length, and every source file's path, size and mtime (the waveform cache's own key,
  :func:`core.data.cache.cache_key`), so an added, removed or touched file misses.

It holds the clean-audio representations ``h`` [N, D] (float32), the model's class probabilities [N, C] where the
model has a classifier (None otherwise), and the clips' labels, splits and paths. It is written under a temporary
name and renamed, loaded without pickles, and checked (names, shapes, finite values, the key); a missing file is
computed, and a corrupt or mismatched one is computed again, with a note saying so.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.cache import cache_key
from core.errors import ConfigError
from core.paths import cache_dir

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.inference import Trained
    from core.inference.trained import OnBatch

CACHE_FORMAT = 1
"""Bumped when what a cache file holds changes; older files then miss."""
MAX_CACHE_BYTES = 2 * 1024**3
"""A cache file larger than this is refused as corrupt (it is recomputed instead)."""


@dataclass
class DatasetEmbeddings:
    """A dataset's embeddings under one checkpoint.

    Attributes:
        embeddings: float32 [N, D], the clean clips' representations ``h``.
        probs: float32 [N, C] class probabilities over ``model_classes``, or None for a model without a classifier.
        labels: int64 [N], indices into ``class_names`` (the dataset's classes).
        split: str [N], each clip's split.
        paths: str [N], each clip's source file.
        class_names: the dataset's classes.
        model_classes: the model's classes (they may differ from the dataset's).
        key: the cache key.
        from_cache: whether these came from the cache file.
        note: why the cache was not used, where it existed but could not be (empty otherwise).
    """

    embeddings: np.ndarray
    probs: np.ndarray | None
    labels: np.ndarray
    split: np.ndarray
    paths: np.ndarray
    class_names: list[str]
    model_classes: list[str]
    key: str
    from_cache: bool = False
    note: str = ""

    @property
    def same_classes(self) -> bool:
        """Whether the model's classes are the dataset's, so that its predictions can be read as labels."""
        return self.probs is not None and self.model_classes == self.class_names

    @property
    def predicted(self) -> np.ndarray | None:
        """int64 [N]: the model's class for each clip (an index into ``model_classes``), or None."""
        return None if self.probs is None else self.probs.argmax(axis=1).astype(np.int64)

    @property
    def confidence(self) -> np.ndarray | None:
        """float32 [N]: the probability of each clip's predicted class, or None."""
        return None if self.probs is None else self.probs.max(axis=1)

    def clips_of(self, true: int, predicted: int, rows: np.ndarray | None = None) -> np.ndarray:
        """The rows (among ``rows``, default all) of class ``true`` that the model put in class ``predicted``.

        Raises:
            ConfigError: the model has no classifier, or its classes are not the dataset's.
        """
        if not self.same_classes:
            raise ConfigError("the model's classes are not the dataset's: its predictions cannot be read as labels")
        rows = np.arange(len(self.labels)) if rows is None else np.asarray(rows, dtype=np.int64)
        pred = self.predicted
        return rows[(self.labels[rows] == true) & (pred[rows] == predicted)]


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def embeddings_key(trained: Trained, dataset: AudioDataset) -> str:
    """The cache key of ``dataset``'s embeddings under ``trained`` (see the module docstring)."""
    data = cache_key(dataset.name, Path(dataset.meta.get("root", ".")), [Path(p) for p in dataset.paths],
                     dataset.num_samples, dataset.sample_rate)  # fmt: skip
    h = hashlib.sha256(f"v{CACHE_FORMAT}|{file_digest(trained.checkpoint_path)}|{data.prefix}|{data.digest}".encode())
    return h.hexdigest()[:32]


def embeddings_path(key: str) -> Path:
    """Where the cache file of ``key`` lives (``cache_dir()/embeddings/<key>.npz``)."""
    d = cache_dir() / "embeddings"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{key}.npz"


_ARRAYS = ("embeddings", "probs", "labels", "split", "paths", "class_names", "model_classes", "key")


def _load(path: Path, key: str, n: int) -> DatasetEmbeddings:
    """The cache file at ``path``; ValueError (or an OSError/zip error) when it is not a valid file for ``key``."""
    if path.stat().st_size > MAX_CACHE_BYTES:
        raise ValueError(f"larger than {MAX_CACHE_BYTES} bytes")
    with np.load(path, allow_pickle=False) as z:
        missing = [a for a in _ARRAYS if a not in z.files]
        if missing:
            raise ValueError(f"no {', '.join(missing)}")
        arrays = {a: z[a] for a in _ARRAYS}
    if str(arrays["key"]) != key:
        raise ValueError("it belongs to another checkpoint or dataset")
    emb, probs = arrays["embeddings"].astype(np.float32), arrays["probs"].astype(np.float32)
    if emb.ndim != 2 or len(emb) != n or not np.isfinite(emb).all():
        raise ValueError(f"embeddings of shape {emb.shape} (expected {n} finite rows)")
    has_probs = probs.size > 0
    if has_probs and (probs.shape != (n, len(arrays["model_classes"])) or not np.isfinite(probs).all()):
        raise ValueError(f"probabilities of shape {probs.shape}")
    if any(len(arrays[a]) != n for a in ("labels", "split", "paths")):
        raise ValueError("labels, splits or paths of the wrong length")
    return DatasetEmbeddings(
        embeddings=emb,
        probs=probs if has_probs else None,
        labels=arrays["labels"].astype(np.int64),
        split=arrays["split"].astype(str),
        paths=arrays["paths"].astype(str),
        class_names=[str(c) for c in arrays["class_names"]],
        model_classes=[str(c) for c in arrays["model_classes"]],
        key=key,
        from_cache=True,
    )


def _save(result: DatasetEmbeddings, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}-{uuid.uuid4().hex[:8]}.tmp.npz")
    try:
        np.savez(
            tmp,
            embeddings=result.embeddings,
            probs=result.probs if result.probs is not None else np.zeros((0, 0), np.float32),
            labels=result.labels,
            split=np.asarray(result.split, dtype=str),
            paths=np.asarray(result.paths, dtype=str),
            class_names=np.asarray(result.class_names, dtype=str),
            model_classes=np.asarray(result.model_classes, dtype=str),
            key=np.asarray(result.key),
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def dataset_embeddings(
    trained: Trained,
    dataset: AudioDataset,
    *,
    batch_size: int = 64,
    progress: bool = False,
    use_cache: bool = True,
    on_batch: OnBatch | None = None,
) -> DatasetEmbeddings:
    """The embeddings (and class probabilities) of every clip of ``dataset`` under ``trained``, cached on disk.

    A hit loads the file; a miss computes them (a tqdm bar with ``progress``, ``on_batch(done, total)`` calls with
    it, see :meth:`core.inference.Trained.outputs`) and writes it. A cache file that cannot be read or does not
    match is recomputed, and the result's ``note`` says why.
    """
    key = embeddings_key(trained, dataset)
    path = embeddings_path(key)
    note = ""
    if use_cache and path.is_file():
        try:
            return _load(path, key, len(dataset))
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
            note = f"the cached embeddings ({path.name}) could not be used ({' '.join(str(e).split())}); recomputed"
    if trained.can_classify:  # one pass: probabilities and representations
        p, h = trained.predict_and_embed(dataset.waveforms, batch_size, progress=progress, on_batch=on_batch)
        probs = p.numpy().astype(np.float32)
    else:
        h, probs = trained.embed(dataset.waveforms, batch_size, progress, on_batch), None
    emb = h.numpy().astype(np.float32)
    result = DatasetEmbeddings(
        embeddings=emb,
        probs=probs,
        labels=np.asarray(dataset.labels, dtype=np.int64),
        split=np.asarray(dataset.split).astype(str),
        paths=np.asarray(dataset.paths, dtype=str),
        class_names=list(dataset.class_names),
        model_classes=list(trained.class_names),
        key=key,
        note=note,
    )
    if use_cache:
        _save(result, path)
    return result

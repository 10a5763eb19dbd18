"""The training clips nearest to a clip in a model's embedding space, so a user can hear why it decided.

An index (``neighbours.npz`` beside a checkpoint) holds the L2-normalised embeddings ``h`` of the model's
training clips (float16), their labels, their paths relative to the dataset's folder, and the dataset's name. The
neighbours of a clip are the training clips with the highest cosine similarity to its embedding. Where the
dataset is on this machine (:func:`core.data.find_root`), each neighbour's audio file is found again; where it is
not, the index still gives labels and file names, and says why there is no audio.

The file is read as untrusted input: bounded in size, no pickles, shapes and values checked.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import CheckpointError, ClarError
from core.limits import MAX_CLASSES

NEIGHBOURS_NAME = "neighbours.npz"
MAX_INDEX_BYTES = 64_000_000
MAX_EXPANDED_BYTES = 512_000_000
MAX_INDEX_CLIPS = 200_000


@dataclass
class Neighbour:
    """One training clip near the query.

    Attributes:
        index: its row in the index.
        similarity: cosine similarity of the two embeddings, in [-1, 1].
        label: its class name.
        path: its path relative to the dataset's folder.
        audio: the file on this machine, or None.
        missing: why there is no audio (None when there is).
    """

    index: int
    similarity: float
    label: str
    path: str
    audio: Path | None
    missing: str | None


@dataclass
class NeighbourIndex:
    """Embeddings of a model's training clips (see the module docstring)."""

    embeddings: np.ndarray
    labels: np.ndarray
    paths: list[str]
    class_names: list[str]
    dataset: str
    task: str = ""

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index (float16 embeddings, compressed) atomically; returns its path."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            embeddings=self.embeddings.astype(np.float16),
            labels=self.labels.astype(np.int32),
            paths=np.asarray(self.paths, dtype=str),
            class_names=np.asarray(self.class_names, dtype=str),
            dataset=np.asarray(self.dataset),
            task=np.asarray(self.task),
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> NeighbourIndex:
        """Read and check an index. Raises CheckpointError naming the file and the problem."""
        p = Path(path)
        try:
            size = p.stat().st_size
        except OSError as e:
            raise CheckpointError(f"{p}: no neighbour index ({e.strerror or e})") from None
        if size > MAX_INDEX_BYTES:
            raise CheckpointError(f"{p}: {size} bytes is over the {MAX_INDEX_BYTES}-byte limit of a neighbour index")
        try:  # a zip bomb is refused from the sizes its entries declare (reads never go past them)
            with zipfile.ZipFile(p) as zf:
                expanded = sum(info.file_size for info in zf.infolist())
        except (OSError, zipfile.BadZipFile) as e:
            raise CheckpointError(f"{p}: not a neighbour index ({type(e).__name__}: {e})") from None
        if expanded > MAX_EXPANDED_BYTES:
            raise CheckpointError(f"{p}: expands to {expanded} bytes, over the {MAX_EXPANDED_BYTES}-byte limit")
        try:
            with np.load(p, allow_pickle=False) as z:
                emb = np.asarray(z["embeddings"], dtype=np.float32)
                labels = np.asarray(z["labels"])
                paths = [str(s) for s in z["paths"]]
                names = [str(s) for s in z["class_names"]]
                dataset, task = str(z["dataset"]), str(z["task"])
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise CheckpointError(f"{p}: not a neighbour index ({type(e).__name__}: {e})") from None
        n = len(paths)
        if emb.ndim != 2 or emb.shape[0] != n or labels.shape != (n,) or not 0 < n <= MAX_INDEX_CLIPS:
            raise CheckpointError(f"{p}: embeddings {emb.shape}, labels {labels.shape} and {n} paths do not agree")
        if not 0 < len(names) <= MAX_CLASSES or labels.min() < 0 or labels.max() >= len(names):
            raise CheckpointError(f"{p}: labels outside the {len(names)} class names")
        if not np.isfinite(emb).all():
            raise CheckpointError(f"{p}: embeddings that are not finite")
        return cls(emb, labels.astype(np.int64), paths, names, dataset, task)

    def nearest(self, h: torch.Tensor | np.ndarray, k: int = 5, data_root: Path | None = None) -> list[Neighbour]:
        """The ``k`` training clips most similar to the embedding ``h`` [D], most similar first.

        ``data_root`` is the dataset's folder on this machine (default: found with :func:`core.data.find_root`).
        """
        q = np.asarray(h, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.embeddings.shape[1]:
            raise CheckpointError(f"neighbour index of {self.embeddings.shape[1]}-d embeddings, query {q.shape[0]}-d")
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        unit = self.embeddings / np.maximum(np.linalg.norm(self.embeddings, axis=1, keepdims=True), 1e-12)
        sims = unit @ q
        order = np.argsort(-sims, kind="stable")[: max(0, k)]
        root, why = self._root(data_root)
        out = []
        for i in order:
            audio, missing = None, why
            if root is not None:
                candidate = (root / self.paths[i]).resolve()
                if candidate.is_relative_to(root.resolve()) and candidate.is_file():
                    audio, missing = candidate, None
                else:
                    missing = f"{self.paths[i]} is not in {root}"
            out.append(
                Neighbour(int(i), float(sims[i]), self.class_names[self.labels[i]], self.paths[i], audio, missing)
            )
        return out

    def _root(self, data_root: Path | None) -> tuple[Path | None, str | None]:
        if data_root is not None:
            return Path(data_root), None
        from core.data import find_root

        try:
            return find_root(self.dataset), None
        except ClarError:
            return None, f"the {self.dataset} audio is not on this machine (python -m core data download ...)"


def build_index(
    embeddings: np.ndarray,
    labels: np.ndarray,
    paths: list[str],
    root: str | os.PathLike,
    class_names: list[str],
    dataset: str,
    task: str = "",
) -> NeighbourIndex:
    """An index of labelled clips: each path is stored relative to the dataset folder ``root``."""
    keep = np.asarray(labels) >= 0
    rel = [os.path.relpath(p, root) for p, k in zip(paths, keep, strict=True) if k]
    return NeighbourIndex(np.asarray(embeddings)[keep], np.asarray(labels)[keep], rel, list(class_names), dataset, task)


def embedding_similarity(trained, a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of the embeddings ``h`` of two clean clips [T] of equal length, in [-1, 1]."""
    h = trained.embed(torch.stack([torch.as_tensor(a), torch.as_tensor(b)]))
    return float(torch.nn.functional.cosine_similarity(h[0:1], h[1:2]).item())

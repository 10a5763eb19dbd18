"""Embeddings of a dataset to disk: ``embeddings.npy`` plus ``metadata.csv`` and ``metadata.json``.

Layout of ``out_dir``:

* ``embeddings.npy``: float32 [N, D], the representations ``h`` of the clean clips (row i = CSV row i).
* ``metadata.csv``: one row per clip: ``index, path, label, class_name, split`` and, where the dataset has
  them, ``fold`` and ``speaker``.
* ``metadata.json``: the checkpoint (file, run, epoch, step), the dataset (name, task, clip length in
  samples, sample rate in Hz), the class names, the split filter, the shape and the file names.

Each file is written to a temporary name and renamed, so a reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.base import SPLITS
from core.errors import ConfigError

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.inference import Trained

EMBEDDINGS_FILE = "embeddings.npy"
METADATA_CSV = "metadata.csv"
METADATA_JSON = "metadata.json"


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb" if path.suffix == ".npy" else "w", **({} if path.suffix == ".npy" else {"newline": ""})) as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def select_split(dataset: AudioDataset, split: str = "all") -> np.ndarray:
    """Indices of the clips of ``split`` (one of train/valid/test, or ``all``)."""
    if split == "all":
        return np.arange(len(dataset))
    if split not in SPLITS:
        raise ConfigError(f"--split {split!r}: choose all, {', '.join(SPLITS)}")
    return dataset.indices(split)


def embed_dataset(
    trained: Trained,
    dataset: AudioDataset,
    out_dir: str | Path,
    *,
    split: str = "all",
    batch_size: int = 64,
    progress: bool = True,
    register: bool = True,
    runs_db: str | Path | None = None,
) -> dict:
    """Embed the clips of ``split`` and write them with their metadata to ``out_dir``.

    With ``register``, the embeddings are recorded as an ``embeddings`` artifact of the checkpoint's run in the
    run store (``runs_db``, else the default) when that run is known there. Returns the JSON metadata (including
    the file paths).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    idx = select_split(dataset, split)
    if idx.size == 0:
        raise ConfigError(f"{dataset.name}: split {split!r} has no clips")
    sub = dataset if split == "all" else dataset.subset(idx)
    emb = trained.embed(sub.waveforms, batch_size=batch_size, progress=progress).numpy().astype(np.float32)

    columns = ["index", "path", "label", "class_name", "split"]
    if sub.folds is not None:
        columns.append("fold")
    if sub.speakers is not None:
        columns.append("speaker")

    def write_csv(f) -> None:
        w = csv.writer(f)
        w.writerow(columns)
        for i in range(len(sub)):
            label = int(sub.labels[i])
            row = [i, sub.paths[i], label, sub.class_names[label] if label >= 0 else "", str(sub.split[i])]
            if sub.folds is not None:
                row.append(int(sub.folds[i]))
            if sub.speakers is not None:
                row.append(str(sub.speakers[i]))
            w.writerow(row)

    meta = {
        "checkpoint": trained.identity(),
        "dataset": {
            "name": dataset.name,
            "task": dataset.meta.get("task"),
            "num_samples": sub.num_samples,
            "sample_rate": sub.sample_rate,
        },
        "split": split,
        "count": len(sub),
        "dim": int(emb.shape[1]),
        "class_names": list(sub.class_names),
        "files": {
            "embeddings": str(out / EMBEDDINGS_FILE),
            "metadata_csv": str(out / METADATA_CSV),
            "metadata_json": str(out / METADATA_JSON),
        },
    }
    _atomic(out / EMBEDDINGS_FILE, lambda f: np.save(f, emb))
    _atomic(out / METADATA_CSV, write_csv)
    _atomic(out / METADATA_JSON, lambda f: json.dump(meta, f, indent=2))
    if register:
        from core.evaluate.artifacts import record_artifact

        record_artifact(trained.run_id, "embeddings", out / EMBEDDINGS_FILE, meta, db=runs_db)
    return meta


def load_embeddings(out_dir: str | Path) -> tuple[np.ndarray, list[dict], dict]:
    """Read back ``(embeddings [N, D], metadata rows, metadata JSON)`` written by ``embed_dataset``."""
    out = Path(out_dir)
    emb = np.load(out / EMBEDDINGS_FILE)
    with open(out / METADATA_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    meta = json.loads((out / METADATA_JSON).read_text())
    return emb, rows, meta

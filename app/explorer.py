"""What the Embeddings page reads: the datasets to pick for a model, their embeddings, and the clips as a table.

Everything is ``core``'s: the dataset a model is read against (:func:`core.inference.dataset.model_dataset`), its
embeddings cached on disk (:func:`core.evaluate.embedding_cache.dataset_embeddings`), the maps
(:mod:`core.evaluate.projection`) and the data-issue rankings (:mod:`core.probes.data_issues`). This module only
names the choices and lays the numbers out as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.datasets import cached_builtin_states, user_datasets

if TYPE_CHECKING:
    import pandas as pd

    from core.data.base import AudioDataset
    from core.evaluate.embedding_cache import DatasetEmbeddings
    from core.inference import Trained
    from core.inference.trained import OnBatch
    from core.runs import RunStore

COLOUR_BY = {
    "label": "label",
    "predicted class": "predicted",
    "split": "split",
    "correct / incorrect": "correct",
    "confidence": "confidence",
}
"""Colour options of the map: what the user reads -> the table's column."""
NEEDS_PREDICTIONS = ("predicted", "correct", "confidence")


@dataclass(frozen=True)
class DatasetPick:
    """A dataset to read a model against.

    Attributes:
        label: what the user reads.
        name: the dataset's name; None for the model's own (its run's folder, task, fold and clip length).
        root: its folder (a user's ``folder`` or ``csv`` dataset), else None.
    """

    label: str
    name: str | None = None
    root: str | None = None


def dataset_picks(trained: Trained, store: RunStore | None) -> list[DatasetPick]:
    """The model's own dataset first, then every other dataset found on this server, then the user's folders."""
    own = trained.data.get("name")
    picks = [DatasetPick(f"{own} (the model's own, with its run's splits)")] if own else []
    picks += [DatasetPick(s.name, s.name) for s in cached_builtin_states() if s.problem is None and s.name != own]
    if store is not None:
        picks += [DatasetPick(f"{e['kind']}: {e['root']}", e["kind"], e["root"]) for e in user_datasets(store)]
    return picks


def load_for(trained: Trained, pick: DatasetPick) -> AudioDataset:
    """The dataset of ``pick`` as ``trained`` reads it (decoded once, then memory-mapped from the waveform cache)."""
    from core.inference.dataset import model_dataset

    return model_dataset(trained, pick.name, root=pick.root, progress=False)


def embeddings_for(trained: Trained, dataset: AudioDataset, on_batch: OnBatch | None = None) -> DatasetEmbeddings:
    """The embeddings of every clip of ``dataset`` under ``trained``, from the disk cache when it has them."""
    from core.evaluate.embedding_cache import dataset_embeddings

    return dataset_embeddings(trained, dataset, on_batch=on_batch)


def class_mismatch(emb: DatasetEmbeddings) -> str | None:
    """Why predictions cannot be read as labels here (one sentence), or None when they can."""
    if emb.probs is None:
        return (
            "This model has no classifier (a SimCLR run without a linear probe: fit one with Evaluate on the Runs "
            "page), so there is no prediction to colour by, no confusion matrix and no accuracy."
        )
    if emb.model_classes != emb.class_names:
        ours = ", ".join(emb.model_classes[:6]) + (", …" if len(emb.model_classes) > 6 else "")
        theirs = ", ".join(emb.class_names[:6]) + (", …" if len(emb.class_names) > 6 else "")
        return (
            f"The model's {len(emb.model_classes)} classes ({ours}) are not this dataset's {len(emb.class_names)} "
            f"({theirs}): its predictions cannot be read as labels, so colouring by prediction, correctness or "
            "confidence is off and there is no confusion matrix. The embeddings, the map and the data issues work."
        )
    return None


def rows_of(emb: DatasetEmbeddings, splits: list[str]) -> np.ndarray:
    """The rows of the clips in ``splits`` (all rows when ``splits`` is empty)."""
    if not splits:
        return np.arange(len(emb.labels))
    return np.flatnonzero(np.isin(emb.split, splits))


def clip_frame(emb: DatasetEmbeddings, rows: np.ndarray, coords: np.ndarray | None = None) -> pd.DataFrame:
    """The clips of ``rows`` as a table, one row each.

    Columns: row, file, label, split; where the model's classes are the dataset's, predicted, confidence and
    correct; the map's x, y (and z) when ``coords`` [len(rows), 2 or 3] is given; and path.
    """
    import pandas as pd

    rows = np.asarray(rows, dtype=np.int64)
    names = np.asarray(emb.class_names, dtype=object)
    frame = pd.DataFrame(
        {
            "row": rows,
            "file": [Path(p).name for p in emb.paths[rows]],
            "label": names[emb.labels[rows]],
            "split": emb.split[rows],
        }
    )
    if emb.same_classes:
        pred = emb.predicted[rows]
        frame["predicted"] = names[pred]
        frame["confidence"] = np.round(emb.confidence[rows].astype(np.float64), 4)
        frame["correct"] = np.where(pred == emb.labels[rows], "correct", "incorrect")
    if coords is not None:
        for axis, values in zip("xyz", np.asarray(coords).T, strict=False):
            frame[axis] = np.round(values.astype(np.float64), 4)
    frame["path"] = emb.paths[rows]
    return frame

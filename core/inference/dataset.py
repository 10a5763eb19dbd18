"""The dataset a trained model is read against: its own run's, or another one asked for.

The run's own dataset comes back as it was trained: the same folder, task, ESC test fold and clip length, so its
``split`` column is the run's. Another dataset is loaded at its own default clip length, with its own splits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.inference.trained import Trained


def model_dataset(
    trained: Trained,
    name: str | None = None,
    *,
    root: str | None = None,
    task: str | None = None,
    fold: int | None = None,
    progress: bool = True,
) -> AudioDataset:
    """The dataset ``name`` (default: the run's own, at its root, task, fold and clip length).

    Args:
        trained: the model.
        name: a dataset name; None for the run's own.
        root: its folder (default: the run's for its own dataset, else the usual search).
        task: its task (default: the run's for its own dataset).
        fold: ESC: the test fold that decides the split column (default: the run's for its own dataset).
        progress: a tqdm bar while decoding.

    Raises:
        ConfigError: neither ``name`` nor the run's config names a dataset.
        DatasetError: the dataset is not found or is laid out wrongly.
    """
    from core.data import load_dataset

    run = trained.data
    name = name or run.get("name")
    if not name:
        raise ConfigError(f"{trained.checkpoint_path}: the run config names no dataset; pass one")
    own = name == run.get("name")
    kw = {
        "root": root or (run.get("root") if own else None),
        "task": task or (run.get("task") if own else None),
        "fold": fold if fold is not None else (run.get("fold") if own else None),
        "num_samples": trained.num_samples if own else None,
        "progress": progress,
    }
    return load_dataset(name, **{k: v for k, v in kw.items() if v is not None})

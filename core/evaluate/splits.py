"""The clips of an offline evaluation, and the guard that keeps a checkpoint off the clips it learned from.

:func:`load_splits` makes the train / valid / test splits of an evaluation with the trainer's own
:func:`core.data.prepare.prepare_splits`, all labels kept. :func:`check_unseen` refuses, in one line naming the
folds or the count, to score a checkpoint on test clips that its run trained on or selected its checkpoint on: it
compares the clips themselves (resolved paths), so it also catches ESC-10 clips inside ESC-50 folds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.config.typed import build_dataclass
from core.data.config import DataConfig
from core.errors import ConfigError

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.inference import Trained

FOLD_DATASETS = ("esc10", "esc50")
"""Datasets with official folds, evaluated on one test fold or by cross-validation."""
NUM_FOLDS = 5


@dataclass
class EvalSplits:
    """The clips of one evaluation, with their true labels: ``train``, ``valid`` and ``test`` datasets.

    ``fold`` is the test fold (fold datasets) or None.
    """

    train: AudioDataset
    valid: AudioDataset
    test: AudioDataset
    class_names: list[str]
    name: str
    fold: int | None = None
    task: str | None = None

    @classmethod
    def from_dataset(cls, ds: AudioDataset) -> EvalSplits:
        """Use ``ds.split`` as it is (no carve-out, no subsetting)."""
        return cls(
            train=ds.subset("train"),
            valid=ds.subset("valid"),
            test=ds.subset("test"),
            class_names=list(ds.class_names),
            name=ds.name,
            fold=ds.meta.get("test_fold"),
            task=ds.meta.get("task"),
        )


def data_config(settings: dict, source: str = "evaluation data") -> DataConfig:
    """A validated :class:`DataConfig` from a dict of its keys (old keys such as ``fold`` accepted)."""
    from core.config.schema import rename_old_keys

    data = rename_old_keys({"data": dict(settings)})["data"]
    cfg = build_dataclass(DataConfig, data, source, prefix="data.")

    def bad(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {problem}")

    cfg.validate(bad)
    return cfg


def load_splits(settings: dict, progress: bool = True) -> EvalSplits:
    """The evaluation splits of some data settings, all labels kept.

    The splits for data settings ``settings`` (keys of :class:`DataConfig`), made by the trainer's own
    ``prepare_splits``, all labels kept.
    """
    from core.data.prepare import prepare_splits

    cfg = data_config({**settings, "label_fraction": 1.0})
    s = prepare_splits(cfg, progress=progress)
    return EvalSplits(
        train=s.train,
        valid=s.valid,
        test=s.test,
        class_names=list(s.class_names),
        name=cfg.dataset,
        fold=s.test.meta.get("test_fold", cfg.test_fold),
        task=s.test.meta.get("task", cfg.task),
    )


def seen_clips(trained: Trained) -> set[str]:
    """The clips a checkpoint's run trained or selected on.

    Resolved paths of the clips the checkpoint's run trained or selected on (its train and valid splits), from the file
    listing alone; an empty set when the run's dataset cannot be listed here.
    """
    from core.data import list_clips
    from core.data.prepare import plan_splits
    from core.errors import ClarError

    run = dict(trained.config.get("data") or {})
    if not run.get("dataset"):
        return set()
    try:
        cfg = data_config(run, source=f"{trained.checkpoint_path} data")
        clips = list_clips(
            cfg.dataset, cfg.root, task=cfg.task, version=cfg.version, fold=cfg.test_fold, seed=cfg.split_seed
        )
        plan = plan_splits(clips, cfg)
    except ClarError:
        return set()
    used = np.concatenate([plan["train"], plan["valid"]])
    return {os.path.realpath(clips.paths[i]) for i in used}


def check_unseen(trained: Trained, splits: EvalSplits, seen: set[str]) -> None:
    """Refuse to score ``trained`` on a test split holding clips its run trained or selected on."""
    if not seen or not len(splits.test):
        return
    overlap = sum(os.path.realpath(p) in seen for p in splits.test.paths)
    if not overlap:
        return
    where = f"{splits.name} fold {splits.fold}" if splits.fold is not None else f"the {splits.name} test split"
    run_fold = trained.data.get("fold")
    if splits.name in FOLD_DATASETS and trained.data.get("name") in FOLD_DATASETS and run_fold:
        others = ", ".join(str(f) for f in range(1, NUM_FOLDS + 1) if f != int(run_fold))
        detail = (
            f"its run trained and selected on folds {others} and can be scored on fold {run_fold} only; for "
            "cross-validation train one run per fold: python -m core cv --config ... --folds all"
        )
    else:
        detail = "score it on its own test split, or on another dataset"
    raise ConfigError(
        f"{trained.checkpoint_path}: {overlap} of the {len(splits.test)} test clips of {where} were used to train "
        f"or select this checkpoint; {detail}"
    )

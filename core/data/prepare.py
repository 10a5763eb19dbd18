"""The splits a run trains, selects and is tested on: train / valid / test with the labels it may use.

:func:`prepare_splits` applies a :class:`~core.data.config.DataConfig` to a dataset: the test split (official, or
one group left out), the validation split (the dataset's own, a seeded class-stratified holdout, an ESC fold, or
none), quick-run subsets, and the labelled fraction. It reads the file listing first and decodes audio only after
every size is known, so that a batch size the splits cannot fill fails in a second. The real sizes are kept in
:attr:`SplitData.sizes` and printed at the start of every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.data.base import AudioDataset
from core.data.config import DataConfig
from core.data.labels import labelled_fraction
from core.data.listing import ClipList
from core.data.splits import stratified_holdout
from core.errors import ConfigError, DatasetError

NUM_FOLDS = 5


@dataclass
class SplitData:
    """The clips a run uses. ``train.labels`` holds -1 for clips whose label the run may not use.

    Attributes:
        train, valid, test: the datasets of each split (``valid`` may be empty: ``data.validation: none``).
        class_names: the classes, indexed like the labels.
        sizes: the real counts: ``train``, ``train_labelled``, ``valid``, ``test`` clips, and the real labelled
            share ``labelled_fraction`` (which per-class rounding makes differ from the configured one).
        protocol: what each split is, in words (``test``, ``valid`` keys).
    """

    train: AudioDataset
    valid: AudioDataset
    test: AudioDataset
    class_names: list[str]
    sizes: dict[str, Any] = field(default_factory=dict)
    protocol: dict[str, str] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)

    @property
    def labelled(self) -> np.ndarray:
        """Indices (into ``train``) of the labelled training clips."""
        return np.flatnonzero(self.train.labels >= 0)

    def describe(self) -> str:
        """One line: the real split sizes and what they are."""
        s = self.sizes
        share = f"{s['labelled_fraction']:.1%}" if s.get("labelled_fraction") is not None else "?"
        return (
            f"splits: train {s['train']} clips ({s['train_labelled']} labelled, {share}), valid {s['valid']} "
            f"({self.protocol.get('valid', '?')}), test {s['test']} ({self.protocol.get('test', '?')})"
        )


def stratified_pick(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn without replacement, as evenly as possible across the classes in ``labels``."""
    if n >= len(labels):
        return np.arange(len(labels))
    order = rng.permutation(len(labels))
    # round-robin over classes in a random order: class-balanced prefix of the permutation
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = order[labels[order] == c]
        rank[members] = np.arange(len(members))
    key = rank * (len(labels) + 1) + np.argsort(order)  # within a rank, random order
    return np.sort(np.argsort(key, kind="stable")[:n])


def _test_split(clips: ClipList, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """(test indices, the rest, what the test split is)."""
    if cfg.test_group is None:
        test = np.flatnonzero(clips.split == "test")
        rest = np.flatnonzero(clips.split != "test")
        if clips.folds is not None and "test_fold" in clips.meta:
            return test, rest, f"official fold {clips.meta['test_fold']}"
        return test, rest, f"official test split ({clips.meta.get('split_source', 'as listed')})"
    if clips.speakers is None:
        raise ConfigError(f"data.test_group: {clips.name} has no speakers or instruments to leave out")
    groups = np.asarray(clips.speakers).astype(str)
    if cfg.test_group not in set(groups.tolist()):
        known = ", ".join(sorted(set(groups.tolist()))[:20])
        raise ConfigError(f"data.test_group: {cfg.test_group!r} is not a group of {clips.name} (groups: {known})")
    return (
        np.flatnonzero(groups == cfg.test_group),
        np.flatnonzero(groups != cfg.test_group),
        f"every clip of {cfg.test_group!r}, left out of training (unseen speaker or instrument)",
    )


def _valid_split(clips: ClipList, pool: np.ndarray, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """(train indices, valid indices, what the validation split is) from the non-test clips ``pool``."""
    listed = pool[clips.split[pool] == "valid"]
    mode = cfg.validation
    if mode == "auto":
        mode = "official" if len(listed) and cfg.test_group is None else "holdout"
    if mode == "official":
        if not len(listed) or cfg.test_group is not None:
            raise ConfigError(
                f"data.validation: official: {clips.name} has no official validation split here; use holdout"
            )
        return pool[clips.split[pool] != "valid"], listed, "official validation split"
    if mode == "none":
        return pool, pool[:0], "none: every non-test clip trains; the last checkpoint is the result"
    if mode == "fold":
        if clips.folds is None:
            raise ConfigError(f"data.validation: fold: {clips.name} has no folds (only ESC does)")
        test_fold = int(clips.meta.get("test_fold", 1))
        fold = cfg.valid_fold or (test_fold % NUM_FOLDS) + 1
        if fold == test_fold:
            raise ConfigError(f"data.valid_fold: {fold} is the test fold")
        in_fold = clips.folds[pool] == fold
        return pool[~in_fold], pool[in_fold], f"official fold {fold}"
    held = stratified_holdout(clips.labels[pool], cfg.valid_fraction, cfg.split_seed)
    what = f"a {cfg.valid_fraction:.0%} class-stratified holdout of the training clips (split_seed {cfg.split_seed})"
    return pool[~held], pool[held], what


def plan_splits(clips: ClipList, cfg: DataConfig) -> dict[str, Any]:
    """The split indices, training labels, sizes and protocol of a config, from the listing.

    Train/valid/test indices into ``clips``, the training labels with the hidden ones set to -1, the sizes and the
    protocol, from the listing alone (no audio is read).
    """
    test_idx, pool, test_what = _test_split(clips, cfg)
    train_idx, valid_idx, valid_what = _valid_split(clips, pool, cfg)
    if len(train_idx) == 0:
        raise DatasetError(f"{cfg.dataset}: no clips left in the train split")
    rng = np.random.default_rng(cfg.split_seed)
    labels = clips.labels
    if cfg.max_train_clips is not None:
        train_idx = train_idx[stratified_pick(labels[train_idx], cfg.max_train_clips, rng)]
    if cfg.max_eval_clips is not None:
        valid_idx = valid_idx[stratified_pick(labels[valid_idx], cfg.max_eval_clips, rng)]
        test_idx = test_idx[stratified_pick(labels[test_idx], cfg.max_eval_clips, rng)]
    train_labels = np.asarray(labels[train_idx], dtype=np.int64)
    if cfg.label_fraction < 1.0:
        train_labels = np.asarray(labelled_fraction(train_labels, cfg.label_fraction, cfg.label_seed), dtype=np.int64)
    n_labelled = int((train_labels >= 0).sum())
    if not n_labelled:
        raise DatasetError(f"{cfg.dataset}: no labelled training clips (data.label_fraction={cfg.label_fraction})")
    sizes = {
        "train": len(train_idx),
        "train_labelled": n_labelled,
        "labelled_fraction": n_labelled / len(train_idx),
        "valid": len(valid_idx),
        "test": len(test_idx),
    }
    return {
        "train": train_idx,
        "valid": valid_idx,
        "test": test_idx,
        "train_labels": train_labels,
        "sizes": sizes,
        "protocol": {"test": test_what, "valid": valid_what},
    }


def prepare_splits(
    cfg: DataConfig, progress: bool = True, check: Callable[[dict[str, Any]], None] | None = None
) -> SplitData:
    """Load ``cfg.dataset`` and return its train/valid/test clips as the config asks (see the module docstring).

    ``check(sizes)`` is called with :attr:`SplitData.sizes` once they are known from the file listing, before
    any audio is decoded.
    """
    from core.data import list_clips, load_dataset

    clips = list_clips(
        cfg.dataset, cfg.root, task=cfg.task, version=cfg.version, fold=cfg.test_fold, seed=cfg.split_seed
    )
    plan = plan_splits(clips, cfg)
    if check is not None:
        check(plan["sizes"])
    ds = load_dataset(
        cfg.dataset,
        cfg.root,
        task=cfg.task,
        version=cfg.version,
        fold=cfg.test_fold,
        num_samples=cfg.num_samples,
        seed=cfg.split_seed,
        progress=progress,
    )
    train = ds.subset(plan["train"])
    train.labels = plan["train_labels"]
    return SplitData(
        train,
        ds.subset(plan["valid"]),
        ds.subset(plan["test"]),
        list(ds.class_names),
        sizes=plan["sizes"],
        protocol=plan["protocol"],
    )

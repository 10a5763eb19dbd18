"""The data settings of a run (the ``data`` section of a config): which dataset, which splits, which labels.

The splits of each dataset, and what each one measures, are in ``docs/evaluation.md``. In short:

* ``test`` is the dataset's official test split (ESC: the test fold; FSDD: takes 0-4 of every speaker), or,
  with ``test_group``, every clip of one speaker or instrument (a leave-one-group-out test of unseen voices).
* ``valid`` follows ``validation``: ``auto`` uses the dataset's own validation split where it has one (Speech
  Commands' list, NSynth's ``nsynth-valid``), else ``holdout``; ``holdout`` is a class-stratified ``valid_fraction``
  of the training clips drawn with ``split_seed``; ``fold`` (ESC) is one whole other fold; ``none`` keeps every
  training clip for training (no model selection: the last checkpoint is the result).
* Every seeded choice about the data (the holdout, subsets) uses ``split_seed``, never ``runtime.seed``: changing
  the training seed never changes the training data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core import SAMPLE_RATE
from core.data.catalog import DATASET_NAMES, FOLDS, family
from core.errors import ConfigError

VALIDATION_MODES = ("auto", "official", "holdout", "fold", "none")
RESIDENT_MODES = ("auto", "device", "cpu")
MAX_NUM_SAMPLES = 600 * SAMPLE_RATE
"""Longest clip a config may ask for: 10 minutes at 16 kHz."""


@dataclass
class DataConfig:
    """Which clips to train on, how they are split, and how they are batched.

    Attributes:
        dataset: dataset name for ``core.data.load_dataset`` (``fsdd``, ``esc10``, ``speech_commands``, ...).
        root: dataset folder; None searches ``$CLAR_DATA_DIR`` then ``./data``.
        task, version: passed to ``load_dataset`` (NSynth task, Speech Commands version).
        test_fold: ESC: the test fold, 1-5 (default 1). The old key ``fold`` is still accepted.
        test_group: leave this speaker (FSDD, Speech Commands) or instrument (NSynth) out as the test split; the
            dataset's official test split then joins the training clips. None keeps the official test split.
        validation: ``auto``, ``official``, ``holdout``, ``fold`` (ESC) or ``none`` (see the module docstring).
        valid_fold: ESC with ``validation: fold``: the validation fold (default: the fold after the test fold).
        valid_fraction: ``holdout``: the share (0, 1) of each class of the training clips held out.
        split_seed: seeds the holdout and the subsets (independent of ``runtime.seed``).
        num_samples: clip length in samples (16 kHz); None keeps the dataset's default length.
        label_fraction: fraction (0, 1] of each class of the training clips whose labels the run may use
            (``max(1, round(fraction * n_class))`` per class, chosen with ``label_seed``); the rest are
            unlabelled (-1). The real count and share are reported with every result.
        label_seed: seed of the labelled subset.
        max_train_clips, max_eval_clips: keep at most this many train / each of valid and test clips (a seeded,
            class-balanced subset, for quick runs); None keeps all.
        batch_size: global batch size in clips (split evenly over DDP ranks).
        eval_batch_size: batch size for computing clean embeddings.
        resident: ``auto`` keeps the waveforms on the training device when they fit (on the CPU: when they take
            at most a quarter of the free memory), ``device`` forces that, ``cpu`` gathers every batch from the
            memory-mapped cache (datasets larger than memory).
    """

    dataset: str = "fsdd"
    root: str | None = None
    task: str | None = None
    version: str | None = None
    test_fold: int | None = None
    test_group: str | None = None
    validation: str = "auto"
    valid_fold: int | None = None
    valid_fraction: float = 0.1
    split_seed: int = 0
    num_samples: int | None = None
    label_fraction: float = 1.0
    label_seed: int = 0
    max_train_clips: int | None = None
    max_eval_clips: int | None = None
    batch_size: int = 64
    eval_batch_size: int = 256
    resident: str = "auto"

    def validate(self, bad: Callable[[str, str], ConfigError]) -> None:
        """Raise ``bad(key, problem)`` for the first setting out of range."""
        if self.dataset not in DATASET_NAMES:
            raise bad("data.dataset", f"{self.dataset!r} is not one of {', '.join(DATASET_NAMES)}")
        fam = family(self.dataset)
        if self.task is not None and self.task not in fam.tasks:
            raise bad(
                "data.task", f"{self.task!r} is not a task of {fam.name} ({', '.join(fam.tasks) or 'it has none'})"
            )
        if self.version is not None and self.version not in fam.versions:
            has = ", ".join(fam.versions) or "it has none"
            raise bad("data.version", f"{self.version!r} is not a version of {fam.name} ({has})")
        if self.test_fold is not None and not fam.folds:
            raise bad("data.test_fold", f"{fam.name} has no folds (only {', '.join(FOLDS)} do)")
        if self.test_group is not None and fam.group is None:
            raise bad("data.test_group", f"{fam.name} has no speakers or instruments to leave out")
        if fam.needs_root and not self.root:
            raise bad("data.root", f"a {fam.name} dataset needs its location (data.root)")
        if self.validation not in VALIDATION_MODES:
            raise bad("data.validation", f"{self.validation!r} is not one of {', '.join(VALIDATION_MODES)}")
        if self.resident not in RESIDENT_MODES:
            raise bad("data.resident", f"{self.resident!r} is not one of {', '.join(RESIDENT_MODES)}")
        if not 0.0 < self.label_fraction <= 1.0:
            raise bad("data.label_fraction", f"{self.label_fraction} is outside (0, 1]")
        if not 0.0 < self.valid_fraction < 1.0:
            raise bad("data.valid_fraction", f"{self.valid_fraction} is outside (0, 1)")
        for key, fold in (("data.test_fold", self.test_fold), ("data.valid_fold", self.valid_fold)):
            if fold is not None and not 1 <= fold <= 5:
                raise bad(key, f"{fold} is not a fold (1-5)")
        if self.valid_fold is not None and self.validation != "fold":
            raise bad("data.valid_fold", "applies only with data.validation: fold")
        if self.valid_fold is not None and self.valid_fold == (self.test_fold or 1):
            raise bad("data.valid_fold", f"{self.valid_fold} is the test fold")
        if self.test_group is not None and self.test_fold is not None:
            raise bad("data.test_group", "a test group and a test fold exclude each other")
        for key, v in (("data.max_train_clips", self.max_train_clips), ("data.max_eval_clips", self.max_eval_clips)):
            if v is not None and v < 1:
                raise bad(key, f"{v} must be at least 1 (or null for all clips)")
        if self.num_samples is not None and not 1600 <= self.num_samples <= MAX_NUM_SAMPLES:
            raise bad("data.num_samples", f"{self.num_samples} samples is outside 0.1 s to 10 minutes")
        for key, v in (("data.batch_size", self.batch_size), ("data.eval_batch_size", self.eval_batch_size)):
            if v < 2:
                raise bad(key, f"{v} must be at least 2")

"""The training configuration's schema: one dataclass tree, with type checks and range validation.

Every value is checked when a config is built from a dict (YAML, a checkpoint, the run store or the app's form):
unknown keys, wrong types, non-finite numbers and out-of-range settings raise :class:`~core.errors.ConfigError`
naming the key, and untrusted dicts are first bounded in size (:func:`core.limits.check_plain`).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import SAMPLE_RATE
from core.errors import ConfigError
from core.limits import check_plain
from core.models.factory import check_model_options
from core.train.config.overrides import apply_overrides
from core.train.config.typed import build_dataclass

REGIMES = ("supervised", "simclr", "clar")
ENCODERS = ("resnet18_2d", "resnet18_1d", "small_cnn_2d", "small_cnn_1d")
OPTIMIZERS = ("adam", "adamw", "sgd", "lars")
SCHEDULES = ("cosine", "constant")
AMP_MODES = ("none", "bf16", "fp16")
RESIDENT_MODES = ("auto", "device", "cpu")
NORMALIZE_MODES = ("none", "channel")
CONFIGS_DIR = Path(__file__).resolve().parents[3] / "configs"
MAX_NUM_SAMPLES = 600 * SAMPLE_RATE
"""Longest clip a config may ask for: 10 minutes at 16 kHz."""
MAX_THREADS = 1024


@dataclass
class DataConfig:
    """Which clips to train on, and how they are batched.

    Attributes:
        dataset: dataset name for ``core.data.load_dataset`` (``fsdd``, ``esc10``, ``speech_commands``, ``nsynth``).
        root: dataset folder; None searches ``$CLAR_DATA_DIR`` then ``./data``.
        task, version, fold: passed to ``load_dataset`` (fold = the test fold for fold-based sets such as ESC).
        num_samples: clip length in samples (16 kHz); None keeps the dataset's default length.
        label_fraction: fraction (0, 1] of the training clips whose labels the run may use (stratified, by
            ``label_seed``); the rest are unlabelled (-1). The probes use the same labelled subset.
        label_seed: seed of the labelled subset.
        valid_fraction: when the dataset has no ``valid`` clips, this fraction of ``train`` becomes validation.
        max_train_clips, max_eval_clips: keep at most this many train / each of valid and test clips (a seeded
            random subset, for quick runs); None keeps all.
        batch_size: global batch size in clips (split evenly over DDP ranks); each clip gives two views.
        eval_batch_size: batch size for computing clean embeddings.
        resident: ``auto`` keeps the waveforms on the training device when they fit, ``device`` forces that,
            ``cpu`` streams pinned CPU batches.
    """

    dataset: str = "fsdd"
    root: str | None = None
    task: str | None = None
    version: str | None = None
    fold: int | None = None
    num_samples: int | None = None
    label_fraction: float = 1.0
    label_seed: int = 0
    valid_fraction: float = 0.1
    max_train_clips: int | None = None
    max_eval_clips: int | None = None
    batch_size: int = 64
    eval_batch_size: int = 256
    resident: str = "auto"


@dataclass
class FeaturesConfig:
    """Spectrogram features for 2D encoders (ignored by 1D encoders).

    Attributes:
        preset: ``core.features.feature_config`` preset (``paper`` or ``official``).
        overrides: keyword overrides of that preset (e.g. ``{n_mels: 64}``).
        normalize: ``channel`` fits a per-channel mean/std on clean training features; ``none`` leaves them.
        fit_clips: number of clean training clips the normaliser is fitted on.
    """

    preset: str = "paper"
    overrides: dict = field(default_factory=dict)
    normalize: str = "channel"
    fit_clips: int = 512


@dataclass
class AugmentConfig:
    """Waveform augmentations for the two views (``core.augment.build_pipeline``).

    Attributes:
        names: an entry of ``core.augment.AUGMENTATION_SETS`` (e.g. ``all``, ``fade+noise``) or ``none``.
        preset: parameter ranges (``paper``).
        p: probability (0..1) that each augmentation is applied to each view.
        order: ``fixed`` or ``random``.
    """

    names: str = "all"
    preset: str = "paper"
    p: float = 0.5
    order: str = "fixed"


@dataclass
class ModelConfig:
    """Attributes:
    regime: ``supervised`` (CE), ``simclr`` (NT-Xent) or ``clar`` (NT-Xent + CE on the labelled clips).
    encoder: one of ``resnet18_2d``, ``resnet18_1d``, ``small_cnn_2d``, ``small_cnn_1d``.
    options: extra keyword arguments for ``core.models.build_model``.
    """

    regime: str = "clar"
    encoder: str = "resnet18_2d"
    options: dict = field(default_factory=dict)


@dataclass
class LossConfig:
    """Attributes:
    temperature: NT-Xent temperature.
    w_c, w_s: CLAR weights of the contrastive and the supervised (CE) terms.
    """

    temperature: float = 0.5
    w_c: float = 1.0
    w_s: float = 1.0


@dataclass
class OptimConfig:
    """Attributes:
    name: ``adam``, ``adamw``, ``sgd`` or ``lars``.
    lr: peak learning rate (reached after warm-up).
    weight_decay: L2 / decoupled decay, applied to weights only (never biases or normalisation parameters).
    momentum, nesterov: SGD / LARS momentum.
    betas, eps: Adam parameters.
    lars_eta: LARS trust coefficient.
    grad_clip: maximum global gradient norm; 0 disables clipping.
    """

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 1e-6
    momentum: float = 0.9
    nesterov: bool = False
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    lars_eta: float = 0.001
    grad_clip: float = 0.0


@dataclass
class ScheduleConfig:
    """Attributes:
    name: ``cosine`` (linear warm-up, then cosine decay to ``min_lr``) or ``constant`` (warm-up, then flat).
    epochs: number of training epochs.
    warmup_epochs: length of the linear warm-up, in epochs (may be fractional; capped at ``epochs``).
    min_lr: learning rate at the end of the cosine.
    """

    name: str = "cosine"
    epochs: int = 100
    warmup_epochs: float = 10.0
    min_lr: float = 0.0


@dataclass
class EvalConfig:
    """Attributes:
    every: score the validation split every this many epochs (and always after the last).
    linear_probe, knn: run the online probes on clean embeddings of the labelled training clips.
    knn_k: neighbours of the kNN probe.
    monitor: metric for best checkpoint and early stopping; ``auto`` = ``valid/head_acc`` for supervised and
        CLAR, ``valid/linear_acc`` for SimCLR. Always a validation metric.
    patience: stop after this many evaluations without improvement; 0 never stops early.
    """

    every: int = 1
    linear_probe: bool = True
    knn: bool = True
    knn_k: int = 20
    monitor: str = "auto"
    patience: int = 0


@dataclass
class RuntimeConfig:
    """Attributes:
    seed: seeds model init, shuffling, augmentation and the probes.
    device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    amp: ``none``, ``bf16`` or ``fp16`` (CUDA only; fp16 uses a GradScaler).
    channels_last: use channels-last memory for 2D encoders.
    compile: wrap the model in ``torch.compile``.
    sync_bn: convert BatchNorm to SyncBatchNorm under multi-GPU DDP (CUDA only).
    checkpoint_every: keep a numbered checkpoint every this many epochs (0: only ``last`` and ``best``).
    log_every: log training metrics every this many steps.
    heartbeat_s: seconds between run-store heartbeats (at most a quarter of ``stale_after_s``).
    stale_after_s: seconds without a heartbeat after which readers of the run store mark the run
        ``interrupted`` (stored with the run, so each run is judged by its own setting).
    num_threads: torch CPU threads; 0 keeps torch's default.
    name: run name in the run store (None: derived from the config).
    profile: synchronise the device around each stage so that the timing shares are exact (slower on GPU).
    """

    seed: int = 0
    device: str = "auto"
    amp: str = "none"
    channels_last: bool = True
    compile: bool = False
    sync_bn: bool = False
    checkpoint_every: int = 10
    log_every: int = 1
    heartbeat_s: float = 10.0
    stale_after_s: float = 60.0
    num_threads: int = 0
    name: str | None = None
    profile: bool = False


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    # -- conversion ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able nested dict (what checkpoints and the run store keep)."""
        return copy.deepcopy(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build and validate from a nested dict; unknown keys or wrong types raise ConfigError."""
        check_plain(d, source)
        cfg = build_dataclass(cls, d or {}, source, prefix="")
        cfg.validate(source)
        return cfg

    def with_overrides(self, overrides: list[str] | dict[str, Any], source: str = "--set") -> TrainConfig:
        """A copy with ``key=value`` overrides applied (dotted keys, YAML values), validated."""
        d = self.to_dict()
        apply_overrides(d, overrides, TrainConfig, source)
        return TrainConfig.from_dict(d, source)

    # -- derived ---------------------------------------------------------------------------------
    @property
    def input_kind(self) -> str:
        """``waveform`` for 1D encoders, ``features`` for 2D encoders."""
        return "waveform" if self.model.encoder.endswith("_1d") else "features"

    @property
    def monitor(self) -> str:
        """The validation metric that selects the best checkpoint."""
        if self.eval.monitor != "auto":
            return self.eval.monitor
        return "valid/linear_acc" if self.model.regime == "simclr" else "valid/head_acc"

    def run_name(self) -> str:
        if self.runtime.name:
            return self.runtime.name
        frac = "" if self.data.label_fraction >= 1 else f"-{self.data.label_fraction * 100:g}pct"
        return f"{self.data.dataset}-{self.model.regime}-{self.model.encoder}{frac}"

    def validate(self, source: str = "config") -> None:
        """Raise ConfigError naming the first setting that is out of range."""

        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{source}: {key}: {problem}")

        def choice(key: str, value: str, options: tuple[str, ...]) -> None:
            if value not in options:
                raise bad(key, f"{value!r} is not one of {', '.join(options)}")

        choice("model.regime", self.model.regime, REGIMES)
        choice("model.encoder", self.model.encoder, ENCODERS)
        choice("optim.name", self.optim.name, OPTIMIZERS)
        choice("schedule.name", self.schedule.name, SCHEDULES)
        choice("runtime.amp", self.runtime.amp, AMP_MODES)
        choice("data.resident", self.data.resident, RESIDENT_MODES)
        choice("features.normalize", self.features.normalize, NORMALIZE_MODES)
        choice("augment.order", self.augment.order, ("fixed", "random"))
        d, o, s, r = self.data, self.optim, self.schedule, self.runtime
        if not 0.0 < d.label_fraction <= 1.0:
            raise bad("data.label_fraction", f"{d.label_fraction} is outside (0, 1]")
        if not 0.0 <= d.valid_fraction < 1.0:
            raise bad("data.valid_fraction", f"{d.valid_fraction} is outside [0, 1)")
        for key, v in (("data.max_train_clips", d.max_train_clips), ("data.max_eval_clips", d.max_eval_clips)):
            if v is not None and v < 1:
                raise bad(key, f"{v} must be at least 1 (or null for all clips)")
        if d.num_samples is not None and not 1600 <= d.num_samples <= MAX_NUM_SAMPLES:
            raise bad("data.num_samples", f"{d.num_samples} samples is outside 0.1 s to 10 minutes")
        for key, v in (("data.batch_size", d.batch_size), ("data.eval_batch_size", d.eval_batch_size)):
            if v < 2:
                raise bad(key, f"{v} must be at least 2")
        if self.model.regime != "supervised" and d.batch_size < 2:
            raise bad("data.batch_size", "contrastive training needs at least 2 clips per batch")
        if not 0.0 <= self.augment.p <= 1.0:
            raise bad("augment.p", f"{self.augment.p} is outside [0, 1]")
        if self.loss.temperature <= 0:
            raise bad("loss.temperature", f"{self.loss.temperature} must be positive")
        if self.loss.w_c < 0 or self.loss.w_s < 0:
            raise bad("loss.w_c/w_s", "weights must be non-negative")
        if o.lr <= 0:
            raise bad("optim.lr", f"{o.lr} must be positive")
        if o.weight_decay < 0:
            raise bad("optim.weight_decay", f"{o.weight_decay} must be non-negative")
        if o.grad_clip < 0:
            raise bad("optim.grad_clip", f"{o.grad_clip} must be non-negative (0 disables clipping)")
        if len(o.betas) != 2 or not all(isinstance(b, int | float) and 0.0 <= float(b) < 1.0 for b in o.betas):
            raise bad("optim.betas", f"{o.betas} must be two numbers in [0, 1)")
        if o.eps <= 0:
            raise bad("optim.eps", f"{o.eps} must be positive")
        if s.epochs < 1:
            raise bad("schedule.epochs", f"{s.epochs} must be at least 1")
        if s.warmup_epochs < 0:
            raise bad("schedule.warmup_epochs", f"{s.warmup_epochs} must be non-negative")
        if not 0.0 <= s.min_lr <= o.lr:
            raise bad("schedule.min_lr", f"{s.min_lr} must be in [0, optim.lr={o.lr}]")
        if self.eval.every < 1:
            raise bad("eval.every", f"{self.eval.every} must be at least 1")
        if self.eval.knn_k < 1:
            raise bad("eval.knn_k", f"{self.eval.knn_k} must be at least 1")
        if self.eval.patience < 0:
            raise bad("eval.patience", f"{self.eval.patience} must be non-negative")
        if self.model.regime == "simclr" and self.eval.monitor == "auto" and not self.eval.linear_probe:
            raise bad("eval.monitor", "SimCLR selects on valid/linear_acc, so eval.linear_probe must be true")
        if not self.monitor.startswith("valid/"):
            raise bad("eval.monitor", f"{self.monitor!r}: checkpoints are selected on validation metrics only")
        if r.checkpoint_every < 0:
            raise bad("runtime.checkpoint_every", f"{r.checkpoint_every} must be non-negative")
        if r.log_every < 1:
            raise bad("runtime.log_every", f"{r.log_every} must be at least 1")
        if r.heartbeat_s <= 0:
            raise bad("runtime.heartbeat_s", f"{r.heartbeat_s} must be positive")
        if r.heartbeat_s > r.stale_after_s / 4:
            raise bad(
                "runtime.heartbeat_s",
                f"{r.heartbeat_s} s must be at most a quarter of runtime.stale_after_s ({r.stale_after_s:g} s), "
                "so that a live run is never taken for a dead one",
            )
        if not 0 <= r.num_threads <= MAX_THREADS:
            raise bad("runtime.num_threads", f"{r.num_threads} must be in [0, {MAX_THREADS}]")
        try:
            check_model_options(self.model.options)
        except ConfigError as e:
            raise bad("model.options", str(e)) from None

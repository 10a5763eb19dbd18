"""The training configuration's schema: one dataclass tree, with type checks and range validation.

Every value is checked when a config is built from a dict (YAML, a checkpoint, the run store or the app's form):
unknown keys, wrong types, non-finite numbers and out-of-range settings raise :class:`~core.errors.ConfigError`
naming the key, and untrusted dicts are first bounded in size (:func:`core.limits.check_plain`).

Keys renamed since configs were first written are still accepted (:data:`RENAMED_KEYS`).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.augment import AUGMENT_PRESETS, resolve_set
from core.config.overrides import apply_overrides
from core.config.typed import build_dataclass
from core.data.config import DataConfig
from core.errors import ConfigError
from core.limits import check_plain
from core.models.factory import ENCODER_INPUT, ENCODERS, check_model_options
from core.regimes.registry import get_regime, regime_names

OPTIMIZERS = ("adam", "adamw", "sgd", "lars")
SCHEDULES = ("cosine", "constant")
AMP_MODES = ("none", "bf16", "fp16")
NORMALIZE_MODES = ("none", "channel")
CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"
MAX_THREADS = 1024
RENAMED_KEYS = {"data.fold": "data.test_fold"}
"""Old key -> new key. A config (or ``--set``) with the old key still loads."""

Bad = Callable[[str, str], ConfigError]


@dataclass
class FeaturesConfig:
    """Spectrogram features for 2D encoders (ignored by 1D encoders).

    Attributes:
        preset: ``core.features.feature_config`` preset (``paper`` or ``official``).
        overrides: keyword overrides of that preset (e.g. ``{n_mels: 64}``).
        normalize: ``channel`` fits a per-channel mean/std on clean training features; ``none`` leaves them.
        fit_clips: number of clean training clips (a seeded random sample of the training split) the
            normaliser is fitted on.
    """

    preset: str = "paper"
    overrides: dict = field(default_factory=dict)
    normalize: str = "channel"
    fit_clips: int = 512

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.normalize not in NORMALIZE_MODES:
            raise bad("features.normalize", f"{self.normalize!r} is not one of {', '.join(NORMALIZE_MODES)}")
        if self.fit_clips < 1:
            raise bad("features.fit_clips", f"{self.fit_clips} must be at least 1")


@dataclass
class AugmentConfig:
    """Waveform augmentations for the views (``core.augment.build_pipeline``).

    Attributes:
        names: an entry of ``core.augment.AUGMENTATION_SETS`` (e.g. ``all``, ``fade+noise``), any ``+``-joined
            pick of the six (``fade+noise+time_mask``; applied in the canonical order), or ``none``.
        preset: parameter ranges (``paper`` or ``authors``).
        p: probability (0..1) that each augmentation is applied to each view.
        order: ``fixed`` or ``random``.
    """

    names: str = "all"
    preset: str = "paper"
    p: float = 0.5
    order: str = "fixed"

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.order not in ("fixed", "random"):
            raise bad("augment.order", f"{self.order!r} is not one of fixed, random")
        if self.preset not in AUGMENT_PRESETS:
            raise bad("augment.preset", f"{self.preset!r} is not one of {', '.join(AUGMENT_PRESETS)}")
        if self.names != "none":
            try:
                resolve_set(self.names)
            except ConfigError as e:
                raise bad("augment.names", str(e)) from None
        if not 0.0 <= self.p <= 1.0:
            raise bad("augment.p", f"{self.p} is outside [0, 1]")


@dataclass
class ModelConfig:
    """The model: an encoder and the head of a regime.

    Attributes:
        regime: a name from ``core.regimes`` (``supervised``, ``simclr``, ``clar``).
        encoder: one of ``core.models.ENCODERS``.
        proj_layers: linear layers of the SimCLR and CLAR projection heads. 3 is the paper (and SimCLR); the
            authors' CLAR code used 2. The same value for every regime keeps a comparison of regimes a comparison
            of losses, not of heads.
        options: extra keyword arguments for ``core.regimes.build_model`` (``embed_dim``, ``in_channels``,
            ``proj_dim``, ``hidden_dim``), each range-checked.
    """

    regime: str = "clar"
    encoder: str = "resnet18_2d"
    proj_layers: int = 3
    options: dict = field(default_factory=dict)

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.regime not in regime_names():
            raise bad("model.regime", f"{self.regime!r} is not one of {', '.join(regime_names())}")
        if self.encoder not in ENCODERS:
            raise bad("model.encoder", f"{self.encoder!r} is not one of {', '.join(ENCODERS)}")
        if not 1 <= self.proj_layers <= 8:
            raise bad("model.proj_layers", f"{self.proj_layers} must be in [1, 8]")
        if "proj_layers" in self.options:
            raise bad("model.options", "proj_layers is a key of model itself (model.proj_layers)")
        try:
            check_model_options(self.options)
        except ConfigError as e:
            raise bad("model.options", str(e)) from None


@dataclass
class LossConfig:
    """Loss settings.

    Attributes:
        temperature: NT-Xent temperature.
        w_c, w_s: CLAR weights of the contrastive and the supervised (CE) terms.
    """

    temperature: float = 0.5
    w_c: float = 1.0
    w_s: float = 1.0

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.temperature <= 0:
            raise bad("loss.temperature", f"{self.temperature} must be positive")
        if self.w_c < 0 or self.w_s < 0:
            raise bad("loss.w_c/w_s", "weights must be non-negative")


@dataclass
class OptimConfig:
    """Optimiser settings.

    Attributes:
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

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.name not in OPTIMIZERS:
            raise bad("optim.name", f"{self.name!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.lr <= 0:
            raise bad("optim.lr", f"{self.lr} must be positive")
        if self.weight_decay < 0:
            raise bad("optim.weight_decay", f"{self.weight_decay} must be non-negative")
        if self.grad_clip < 0:
            raise bad("optim.grad_clip", f"{self.grad_clip} must be non-negative (0 disables clipping)")
        betas = self.betas
        if len(betas) != 2 or not all(isinstance(b, int | float) and 0.0 <= float(b) < 1.0 for b in betas):
            raise bad("optim.betas", f"{betas} must be two numbers in [0, 1)")
        if self.eps <= 0:
            raise bad("optim.eps", f"{self.eps} must be positive")


@dataclass
class ScheduleConfig:
    """How long to train, and the learning-rate schedule.

    Attributes:
        name: ``cosine`` (linear warm-up, then cosine decay to ``min_lr``) or ``constant`` (warm-up, then flat).
        epochs: training epochs; what an epoch is depends on the regime (supervised: one pass over the labelled
            clips; SimCLR and CLAR: one pass over every training clip). 0 trains nothing: the randomly
            initialised encoder is scored by the same probes.
        steps: optimiser steps in all, instead of epochs (the same compute for every regime); the last epoch
            stops part-way. None uses ``epochs``.
        warmup_epochs: length of the linear warm-up, in epochs (may be fractional; capped at the run's length).
        warmup_steps: length of the linear warm-up in optimiser steps, instead of ``warmup_epochs`` (the same
            warm-up for every regime when comparing at equal ``steps``). None uses ``warmup_epochs``.
        min_lr: learning rate at the end of the cosine.
    """

    name: str = "cosine"
    epochs: int = 100
    steps: int | None = None
    warmup_epochs: float = 10.0
    warmup_steps: int | None = None
    min_lr: float = 0.0

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.name not in SCHEDULES:
            raise bad("schedule.name", f"{self.name!r} is not one of {', '.join(SCHEDULES)}")
        if self.epochs < 0:
            raise bad("schedule.epochs", f"{self.epochs} must be at least 0")
        if self.steps is not None and self.steps < 0:
            raise bad("schedule.steps", f"{self.steps} must be at least 0 (or null to use epochs)")
        if self.warmup_epochs < 0:
            raise bad("schedule.warmup_epochs", f"{self.warmup_epochs} must be non-negative")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise bad("schedule.warmup_steps", f"{self.warmup_steps} must be at least 0 (or null to use epochs)")


@dataclass
class EvalConfig:
    """Validation during training.

    Attributes:
        every: score the validation split every this many epochs (and always after the last).
        linear_probe, knn: run the online probes on clean embeddings of labelled training clips.
        knn_k: neighbours of the kNN probe.
        probe_clips: the online probes train on a seeded sample of at most this many labelled training clips
            (the offline ``eval`` uses them all).
        monitor: metric for best checkpoint and early stopping; ``auto`` = the regime's default
            (``valid/head_acc`` for supervised and CLAR, ``valid/linear_acc`` for SimCLR). Always a validation
            metric; ignored with ``data.validation: none`` (the last checkpoint is then the result).
        patience: stop after this many evaluations without improvement; 0 never stops early.
        timeout_s: under DDP, how long the other ranks wait for rank 0's evaluation, in seconds.
    """

    every: int = 1
    linear_probe: bool = True
    knn: bool = True
    knn_k: int = 20
    probe_clips: int = 2000
    monitor: str = "auto"
    patience: int = 0
    timeout_s: float = 1800.0

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.every < 1:
            raise bad("eval.every", f"{self.every} must be at least 1")
        if self.knn_k < 1:
            raise bad("eval.knn_k", f"{self.knn_k} must be at least 1")
        if self.probe_clips < 1:
            raise bad("eval.probe_clips", f"{self.probe_clips} must be at least 1")
        if self.patience < 0:
            raise bad("eval.patience", f"{self.patience} must be non-negative")
        if self.timeout_s <= 0:
            raise bad("eval.timeout_s", f"{self.timeout_s} must be positive")


@dataclass
class RuntimeConfig:
    """Where and how the run executes (none of this changes the results, except ``seed``).

    Attributes:
        seed: seeds model init, shuffling, augmentation and the probes (not the data splits: ``data.split_seed``).
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

    def validate(self, bad: Bad) -> None:
        """Raise ``bad(key, problem)`` for the first setting of this section out of range."""
        if self.amp not in AMP_MODES:
            raise bad("runtime.amp", f"{self.amp!r} is not one of {', '.join(AMP_MODES)}")
        if self.checkpoint_every < 0:
            raise bad("runtime.checkpoint_every", f"{self.checkpoint_every} must be non-negative")
        if self.log_every < 1:
            raise bad("runtime.log_every", f"{self.log_every} must be at least 1")
        if self.heartbeat_s <= 0:
            raise bad("runtime.heartbeat_s", f"{self.heartbeat_s} must be positive")
        if self.heartbeat_s > self.stale_after_s / 4:
            raise bad(
                "runtime.heartbeat_s",
                f"{self.heartbeat_s} s must be at most a quarter of runtime.stale_after_s "
                f"({self.stale_after_s:g} s), so that a live run is never taken for a dead one",
            )
        if not 0 <= self.num_threads <= MAX_THREADS:
            raise bad("runtime.num_threads", f"{self.num_threads} must be in [0, {MAX_THREADS}]")


def rename_old_keys(d: dict[str, Any]) -> dict[str, Any]:
    """Move values under an old key (:data:`RENAMED_KEYS`) to the new key, in place; returns ``d``."""
    for old, new in RENAMED_KEYS.items():
        section, old_name = old.split(".")
        new_section, new_name = new.split(".")
        part = d.get(section)
        if isinstance(part, dict) and old_name in part:
            value = part.pop(old_name)
            target = d.setdefault(new_section, {})
            if isinstance(target, dict) and target.get(new_name) is None:
                target[new_name] = value
    return d


@dataclass
class TrainConfig:
    """The whole configuration of a run: one section per concern."""

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
        cfg = build_dataclass(cls, rename_old_keys(copy.deepcopy(d or {})), source, prefix="")
        cfg.validate(source)
        return cfg

    def with_overrides(self, overrides: list[str] | dict[str, Any], source: str = "--set") -> TrainConfig:
        """A copy with ``key=value`` overrides applied (dotted keys, YAML values), validated."""
        d = self.to_dict()
        apply_overrides(d, overrides, TrainConfig, source, renamed=RENAMED_KEYS)
        return TrainConfig.from_dict(d, source)

    # -- derived ---------------------------------------------------------------------------------
    @property
    def input_kind(self) -> str:
        """``waveform`` for 1D encoders, ``features`` for 2D encoders."""
        return ENCODER_INPUT[self.model.encoder]

    @property
    def has_validation(self) -> bool:
        """False with ``data.validation: none``: no model selection, the last checkpoint is the result."""
        return self.data.validation != "none"

    @property
    def monitor(self) -> str | None:
        """The validation metric that selects the best checkpoint (None without validation)."""
        if not self.has_validation:
            return None
        if self.eval.monitor != "auto":
            return self.eval.monitor
        return get_regime(self.model.regime).default_monitor

    def run_name(self) -> str:
        """The run's name in the run store: ``runtime.name``, else dataset-regime-encoder[-NNpct]."""
        if self.runtime.name:
            return self.runtime.name
        frac = "" if self.data.label_fraction >= 1 else f"-{self.data.label_fraction * 100:g}pct"
        return f"{self.data.dataset}-{self.model.regime}-{self.model.encoder}{frac}"

    def validate(self, source: str = "config") -> None:
        """Raise ConfigError naming the first setting that is out of range."""

        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{source}: {key}: {problem}")

        for section in (
            self.data, self.features, self.augment, self.model, self.loss, self.optim, self.schedule, self.eval,
            self.runtime,
        ):  # fmt: skip
            section.validate(bad)
        if not 0.0 <= self.schedule.min_lr <= self.optim.lr:
            raise bad("schedule.min_lr", f"{self.schedule.min_lr} must be in [0, optim.lr={self.optim.lr}]")
        regime = get_regime(self.model.regime)
        if regime.views > 1 and self.data.batch_size < 2:
            raise bad("data.batch_size", "contrastive training needs at least 2 clips per batch")
        monitor = self.monitor
        if monitor is not None:
            if not monitor.startswith("valid/"):
                raise bad("eval.monitor", f"{monitor!r}: checkpoints are selected on validation metrics only")
            if monitor.endswith("linear_acc") and not self.eval.linear_probe:
                raise bad("eval.monitor", f"{monitor} needs eval.linear_probe: true")
            if monitor.endswith("knn_acc") and not self.eval.knn:
                raise bad("eval.monitor", f"{monitor} needs eval.knn: true")
            if "head_" in monitor and not regime.has_classifier:
                raise bad("eval.monitor", f"{monitor}: the {regime.name} regime has no classifier head")
        elif self.eval.patience:
            raise bad("eval.patience", "early stopping needs validation (data.validation is none)")

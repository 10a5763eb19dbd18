"""The training configuration: one dataclass tree, loaded from YAML and overridable with ``key=value``.

A config file is a YAML mapping with the sections ``data``, ``features``, ``augment``, ``model``, ``loss``,
``optim``, ``schedule``, ``eval`` and ``runtime`` (all optional; missing values take the defaults below). A file
may start with ``defaults: [other.yaml, ...]`` (paths relative to the file): those are loaded first, in order, and
the file's own values are merged over them (mappings merge key by key; everything else replaces).

Overrides use dotted keys, e.g. ``optim.lr=3e-4`` or ``data.max_train_clips=null``; the value is parsed as YAML
and checked against the field's type. Unknown keys and wrong types raise :class:`~core.errors.ConfigError`
naming the key.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import os
import platform
import socket
import subprocess
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError

REGIMES = ("supervised", "simclr", "clar")
ENCODERS = ("resnet18_2d", "resnet18_1d", "small_cnn_2d", "small_cnn_1d")
OPTIMIZERS = ("adam", "adamw", "sgd", "lars")
SCHEDULES = ("cosine", "constant")
AMP_MODES = ("none", "bf16", "fp16")
RESIDENT_MODES = ("auto", "device", "cpu")
NORMALIZE_MODES = ("none", "channel")
CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"


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
    heartbeat_s: seconds between run-store heartbeats.
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
        cfg = _build(cls, d or {}, source, prefix="")
        cfg.validate(source)
        return cfg

    def with_overrides(self, overrides: list[str] | dict[str, Any], source: str = "--set") -> TrainConfig:
        """A copy with ``key=value`` overrides applied (dotted keys, YAML values), validated."""
        d = self.to_dict()
        apply_overrides(d, overrides, source)
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
        if d.num_samples is not None and d.num_samples < 1600:
            raise bad("data.num_samples", f"{d.num_samples} samples is shorter than 0.1 s")
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
        if len(o.betas) != 2 or not all(0.0 <= float(b) < 1.0 for b in o.betas):
            raise bad("optim.betas", f"{o.betas} must be two numbers in [0, 1)")
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
        if r.num_threads < 0:
            raise bad("runtime.num_threads", f"{r.num_threads} must be non-negative")
        if self.input_kind == "waveform" and self.features.overrides:
            pass  # features are unused by 1D encoders; allowed so that configs can share a base


# -- building from dicts, with type checks --------------------------------------------------------------


def _check_type(value: Any, tp: Any, key: str, source: str) -> Any:
    """Return ``value`` converted to type ``tp`` (int -> float allowed) or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(value, a, key, source)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is dict or origin is dict:
        if isinstance(value, dict):
            return copy.deepcopy(value)
    elif tp is list or origin is list:
        if isinstance(value, list | tuple):
            return list(value)
    else:  # pragma: no cover - every field uses one of the types above
        return value
    raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")


def _type_name(tp: Any) -> str:
    args = typing.get_args(tp)
    if args:
        return " or ".join("null" if a is type(None) else a.__name__ for a in args)
    return getattr(tp, "__name__", str(tp))


def _build(cls: type, d: Any, source: str, prefix: str) -> Any:
    if not isinstance(d, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'}: expected a mapping, got {d!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {prefix}{unknown[0]!s}; valid keys here: {', '.join(prefix + n for n in names)}"
        )
    kwargs = {}
    for name in names:
        if name not in d:
            continue
        tp = hints[name]
        key = prefix + name
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, d[name], source, key + ".")
        else:
            kwargs[name] = _check_type(d[name], tp, key, source)
    return cls(**kwargs)


# -- YAML with inheritance, and overrides ---------------------------------------------------------------


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base``: mappings merge recursively; other values replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def resolve_config_path(path: str | os.PathLike) -> Path:
    """``path`` as given, else relative to the repository's ``configs/`` folder (``.yaml`` may be left off)."""
    p = Path(path).expanduser()
    candidates = [p, CONFIGS_DIR / p]
    if p.suffix not in (".yaml", ".yml"):
        candidates += [p.with_suffix(".yaml"), CONFIGS_DIR / p.with_suffix(".yaml")]
    for c in candidates:
        if c.is_file():
            return c
    raise ConfigError(f"{path}: config file not found (also looked in {CONFIGS_DIR})")


def load_yaml_dict(path: str | os.PathLike, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged dict of a YAML config and its ``defaults:`` chain (not yet validated)."""
    p = resolve_config_path(path).resolve()
    if p in _seen:
        raise ConfigError(f"{p}: 'defaults' forms a cycle through {', '.join(str(s) for s in _seen)}")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {type(raw).__name__}")
    parents = raw.pop("defaults", None) or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list):
        raise ConfigError(f"{p}: 'defaults' must be a path or a list of paths")
    merged: dict[str, Any] = {}
    for parent in parents:
        parent_path = (p.parent / parent) if not Path(parent).is_absolute() else Path(parent)
        merged = deep_merge(merged, load_yaml_dict(parent_path, (*_seen, p)))
    return deep_merge(merged, raw)


def load_config(path: str | os.PathLike, overrides: list[str] | dict[str, Any] | None = None) -> TrainConfig:
    """Load a YAML config (with its ``defaults:``), apply ``key=value`` overrides, and validate."""
    d = load_yaml_dict(path)
    source = str(resolve_config_path(path))
    cfg = _build(TrainConfig, d, source, prefix="")
    if overrides:
        return cfg.with_overrides(overrides)
    cfg.validate(source)
    return cfg


def parse_override(item: str) -> tuple[str, Any]:
    """``"optim.lr=3e-4"`` -> ``("optim.lr", 0.0003)``; the value is parsed as YAML."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. optim.lr=0.001")
    key, _, text = item.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {item!r}: empty key")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    if isinstance(value, str) and value.lower() in ("none", "null"):
        value = None
    return key, value


def apply_overrides(d: dict[str, Any], overrides: list[str] | dict[str, Any], source: str = "--set") -> dict:
    """Apply dotted-key overrides to the nested dict ``d`` in place (types are checked later)."""
    items = overrides.items() if isinstance(overrides, dict) else (parse_override(o) for o in overrides)
    for key, value in items:
        parts = key.split(".")
        node: Any = d
        cls: Any = TrainConfig
        for i, part in enumerate(parts[:-1]):
            if cls is not None:
                names = {f.name: f for f in dataclasses.fields(cls)}
                if part not in names:
                    where = ".".join(parts[:i]) or "top level"
                    raise ConfigError(f"{source}: unknown key {key!r} ({part!r} is not a section of {where})")
                tp = typing.get_type_hints(cls)[part]
                cls = tp if dataclasses.is_dataclass(tp) else None
            if not isinstance(node.get(part), dict):
                if cls is None and node.get(part) is None:
                    node[part] = {}
                else:
                    raise ConfigError(f"{source}: unknown key {key!r} ({part!r} is not a section)")
            node = node[part]
        last = parts[-1]
        if cls is not None:
            names = [f.name for f in dataclasses.fields(cls)]
            if last not in names:
                raise ConfigError(f"{source}: unknown key {key!r}; valid keys here: {', '.join(names)}")
            if dataclasses.is_dataclass(typing.get_type_hints(cls)[last]):
                raise ConfigError(f"{source}: {key!r} is a section; set one of its keys instead")
        node[last] = value
    return d


# -- provenance saved with every run ----------------------------------------------------------------------

_PACKAGES = ("torch", "torchaudio", "numpy", "scipy", "librosa", "soundfile", "scikit-learn", "PyYAML")


def git_commit(repo: Path | None = None) -> str | None:
    """The checked-out git commit (with ``-dirty`` when there are uncommitted changes), or None."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "")


def provenance(device: str) -> dict[str, Any]:
    """Git commit, package versions, device and host: saved with every run beside the config."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    import torch

    dev = str(device)
    if dev.startswith("cuda") and torch.cuda.is_available():
        dev += f" ({torch.cuda.get_device_name(torch.device(dev))})"
    return {
        "git_commit": git_commit(),
        "packages": versions,
        "python": platform.python_version(),
        "device": dev,
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }

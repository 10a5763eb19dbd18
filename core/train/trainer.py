"""The state of one training run: its data on the device, model, frontend, optimiser, schedule and progress.

:class:`Trainer` builds everything a run needs from its config and holds it; :mod:`core.train.step` takes a
step, :mod:`core.evaluate.evaluator` scores, :mod:`core.train.loop` drives the epochs, and
:func:`core.train.run.run_training` runs the whole thing.

Determinism: everything random in an epoch is seeded from ``(runtime.seed, epoch)`` or
``(runtime.seed, global_step, rank)``, so a run resumed from the checkpoint of epoch ``e`` repeats epoch ``e + 1``
exactly as an uninterrupted run would (on CPU; bit-exactness on GPU also needs deterministic kernels).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from core.config import TrainConfig, provenance
from core.config.build import build_augmentations, build_from_config
from core.data.batches import WaveformStore
from core.data.prepare import SplitData, prepare_splits
from core.device import resolve_device
from core.errors import CheckpointError, ConfigError
from core.evaluate.evaluator import Evaluator, probe_sample
from core.regimes import get_regime
from core.seeding import seed_everything
from core.train import ddp
from core.train.checkpoints import capture_rng, restore_rng
from core.train.optim import build_optimizer
from core.train.schedule import build_scheduler, run_length, warmup_length
from core.train.step import TrainStep


def preflight(config: TrainConfig) -> None:
    """Check what the config builds before any audio is decoded.

    Check what the config builds (augmentations, frontend, model) before any audio is decoded, so that a mistake costs a
    second, not a dataset load. The model is built on the ``meta`` device (no memory).
    """
    build_augmentations(config)
    with torch.device("meta"):
        build_from_config(config, 2)


def check_batch_size(config: TrainConfig, sizes: dict[str, Any]) -> None:
    """Refuse a batch size larger than the clips one epoch iterates over.

    Refuse a ``data.batch_size`` larger than the clips one epoch iterates over: the labelled training clips for
    supervised training, all training clips for the contrastive regimes.
    """
    regime = get_regime(config.model.regime)
    batch = config.data.batch_size
    if regime.trains_on == "labelled":
        if batch > sizes["train_labelled"]:
            raise ConfigError(
                f"data.batch_size={batch} is larger than the {sizes['train_labelled']} labelled training clips "
                f"({regime.name} training sees only labelled clips; data.label_fraction="
                f"{config.data.label_fraction:g} of {sizes['train']}); lower data.batch_size or raise "
                "data.label_fraction"
            )
    elif batch > sizes["train"]:
        raise ConfigError(f"data.batch_size={batch} is larger than the {sizes['train']} training clips")


class Trainer:
    """One training run's state. Use :func:`core.train.run.run_training` unless you need the pieces.

    Args:
        config: the run's configuration.
        run_id: the run's id (for the checkpoint).
        progress: show progress bars.
        data: the splits, if already loaded (the benchmark); default: :func:`core.data.prepare.prepare_splits`.
    """

    def __init__(
        self, config: TrainConfig, *, run_id: str | None = None, progress: bool = True, data: SplitData | None = None
    ) -> None:
        self.cfg = config
        self.progress = progress
        self.run_id = run_id
        rt = config.runtime
        if rt.num_threads:
            torch.set_num_threads(rt.num_threads)
        base_device = resolve_device(rt.device)
        self.dist = ddp.init_from_env(base_device, config.eval.timeout_s)
        self.device = ddp.ddp_device(base_device, self.dist)
        ddp.check_batch_split(config.data.batch_size, self.dist)
        self.amp_dtype = None
        if rt.amp != "none":
            if self.device.type == "cuda":
                self.amp_dtype = torch.bfloat16 if rt.amp == "bf16" else torch.float16
            else:
                warnings.warn(f"runtime.amp={rt.amp} needs CUDA; training in float32 on {self.device}", stacklevel=2)
        seed_everything(rt.seed)
        preflight(config)
        if data is None:
            data = prepare_splits(
                config.data, progress and self.dist.is_main, check=lambda sizes: check_batch_size(config, sizes)
            )
        self.data = data
        self.regime = get_regime(config.model.regime)
        self._build()

    # -- setup -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        cfg, dev = self.cfg, self.device
        data = self.data
        check_batch_size(cfg, {"train": len(data.train), "train_labelled": len(data.labelled)})
        self.net, self.frontend = build_from_config(cfg, data.num_classes)
        self.net.to(dev)
        self.frontend.to(dev)
        self.channels_last = cfg.runtime.channels_last and cfg.input_kind == "features"
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.train_labels = torch.as_tensor(data.train.labels, dtype=torch.int64, device=dev)
        self.train_store = WaveformStore(data.train.waveforms, dev, cfg.data.resident)
        self.valid_store = WaveformStore(data.valid.waveforms, dev, cfg.data.resident)
        self.test_store = WaveformStore(data.test.waveforms, dev, cfg.data.resident)
        self.train_index = self.regime.train_indices(data.train.labels)
        sched = cfg.schedule
        self.steps_per_epoch, self.total_steps, self.total_epochs = run_length(
            len(self.train_index), cfg.data.batch_size, sched.epochs, sched.steps
        )
        pipeline = build_augmentations(cfg)
        o = cfg.optim
        self.optimizer = build_optimizer(
            self.net, o.name, o.lr, o.weight_decay, o.momentum, o.nesterov, tuple(o.betas), o.eps, o.lars_eta
        )
        warmup = warmup_length(sched.warmup_epochs, sched.warmup_steps, self.steps_per_epoch, self.total_steps)
        self.scheduler = build_scheduler(self.optimizer, self.total_steps, warmup, sched.min_lr, sched.name)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype is torch.float16)
        forward: nn.Module = ddp.wrap_model(self.net, self.dist, dev, cfg.runtime.sync_bn)
        if self.dist.enabled and cfg.runtime.sync_bn:
            self.net = forward.module  # SyncBatchNorm replaced the BatchNorm layers
        if cfg.runtime.compile:
            forward = torch.compile(forward)
        self.step = TrainStep(
            forward=forward,
            net=self.net,
            frontend=self.frontend,
            regime=self.regime,
            pipeline=pipeline,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            scaler=self.scaler,
            loss_settings=cfg.loss,
            seed=cfg.runtime.seed,
            rank=self.dist.rank,
            amp_dtype=self.amp_dtype,
            grad_clip=o.grad_clip,
            channels_last=self.channels_last,
            distributed=self.dist.enabled,
        )
        self.evaluator = Evaluator(
            self.frontend,
            dev,
            cfg.data.eval_batch_size,
            autocast_dtype=self.amp_dtype,
            channels_last=self.channels_last,
        )
        self.probe_index = probe_sample(data.train.labels, cfg.eval.probe_clips, cfg.runtime.seed)
        self.epoch = 0
        self.global_step = 0
        self.best: dict[str, Any] = {"metric": cfg.monitor, "value": None, "epoch": None}
        self.bad_evals = 0
        self.last_metrics: dict[str, float] = {}
        self.cancel_flag = False
        self.provenance = provenance(str(dev))

    def fit_frontend(self) -> None:
        """Fit the feature normaliser on a seeded random sample of ``features.fit_clips`` clean training clips."""
        n = len(self.train_store)
        k = min(self.cfg.features.fit_clips, n)
        rng = np.random.default_rng(self.cfg.data.split_seed)
        pick = torch.as_tensor(np.sort(rng.choice(n, size=k, replace=False)), dtype=torch.int64)
        bs = self.cfg.data.eval_batch_size
        self.frontend.fit(self.train_store.batch(chunk) for chunk in pick.split(bs))

    # -- scoring ----------------------------------------------------------------------------------------
    def score(
        self,
        net: nn.Module | None = None,
        splits: tuple[str, ...] = ("valid",),
        reports: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, float]:
        """The model's head accuracy and the online probes' accuracies on some splits.

        The model's head accuracy and the online probes' on ``splits`` (``valid``, ``test``); the probes train on a
        seeded sample of at most ``eval.probe_clips`` labelled training clips, never on augmented audio.
        """
        cfg = self.cfg
        sets = {"valid": (self.valid_store, self.data.valid.labels), "test": (self.test_store, self.data.test.labels)}
        probes = (self.train_store, self.data.train.labels, self.probe_index)
        return self.evaluator.score(
            net or self.net,
            {name: sets[name] for name in splits},
            probes if cfg.eval.linear_probe or cfg.eval.knn else None,
            num_classes=self.data.num_classes,
            linear=cfg.eval.linear_probe,
            knn=cfg.eval.knn,
            knn_k=cfg.eval.knn_k,
            seed=cfg.runtime.seed,
            reports=reports,
        )

    # -- checkpoint state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see :mod:`core.checkpoint`)."""
        return {
            "model": self.net.state_dict(),
            "frontend": self.frontend.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "rng": capture_rng(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "config": self.cfg.to_dict(),
            "provenance": self.provenance,
            "class_names": list(self.data.class_names),
            "num_classes": self.data.num_classes,
            "feature_config": self.frontend.feature_config_dict(),
            "input_kind": self.cfg.input_kind,
            "best": dict(self.best),
            "bad_evals": self.bad_evals,
            "run_id": self.run_id,
            "metrics": dict(self.last_metrics),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint of this run."""
        try:
            self.net.load_state_dict(state["model"])
            self.frontend.load_state_dict(state["frontend"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler") and self.scaler.is_enabled():
                self.scaler.load_state_dict(state["scaler"])
        except (RuntimeError, KeyError, ValueError) as e:
            raise CheckpointError(f"checkpoint does not match this run's model or optimiser: {e}") from None
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)
        restore_rng(state["rng"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.best = dict(state.get("best") or self.best)
        self.bad_evals = int(state.get("bad_evals", 0))
        self.last_metrics = dict(state.get("metrics") or {})

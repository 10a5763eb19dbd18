"""The state of one training run (model, frontend, optimiser, data on the device) and its steps and epochs.

:func:`core.train.run.run_training` drives it: it trains for ``schedule.epochs``, scores the validation split
after each epoch (classifier head, and online linear and kNN probes on clean embeddings trained on the labelled
clips only), keeps ``last``/``best``/numbered checkpoints, and finally reports the test accuracy once for the best
(by validation) and for the last checkpoint.

Determinism: everything random in an epoch is seeded from ``(runtime.seed, epoch)`` or
``(runtime.seed, global_step, rank)``, so a run resumed from the checkpoint of epoch ``e`` repeats epoch ``e + 1``
exactly as an uninterrupted run would (on CPU; bit-exactness on GPU also needs deterministic kernels).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.device import resolve_device
from core.errors import CheckpointError, TrainingError
from core.paths import checkpoints_dir
from core.train import ddp
from core.config.build import build_from_config
from core.train.checkpoints import capture_rng, restore_rng
from core.config import TrainConfig, provenance
from core.train.objective import compute_loss
from core.train.optim import build_optimizer
from core.train.pipeline import (
    SplitData,
    StageTimer,
    WaveformStore,
    check_batch_size,
    epoch_batches,
    mix_seed,
    prepare_splits,
)
from core.train.schedule import build_scheduler

log = logging.getLogger(__name__)

CANCEL_CHECK_STEPS = 10


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _probe_acc(metrics: Any) -> float:
    """The top-1 accuracy in a probe's metrics dict (or a bare number)."""
    if isinstance(metrics, dict):
        for key in ("top1", "acc", "accuracy", "top1_acc"):
            if key in metrics:
                return float(metrics[key])
        raise KeyError(f"no accuracy in probe metrics {sorted(metrics)}")
    return float(metrics)


def preflight(config: TrainConfig) -> None:
    """Check what the config builds (augmentations, frontend, model) before any audio is decoded, so that a
    mistake costs a second, not a dataset load. The model is built on the ``meta`` device (no memory)."""
    if config.augment.names != "none":
        from core.augment import build_pipeline

        build_pipeline(
            config.augment.names, preset=config.augment.preset, p=config.augment.p, order=config.augment.order
        )
    with torch.device("meta"):
        build_from_config(config, 2)


class Trainer:
    """One training run. Use :func:`core.train.run.run_training` unless you need the pieces (the benchmark does)."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        run_id: str | None = None,
        store: Any = None,
        progress: bool = True,
        checkpoint_root: str | Path | None = None,
        data: SplitData | None = None,
    ) -> None:
        self.cfg = config
        self.progress = progress
        self.store = store
        self.run_id = run_id
        self.checkpoint_root = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
        rt = config.runtime
        if rt.num_threads:
            torch.set_num_threads(rt.num_threads)
        base_device = resolve_device(rt.device)
        self.dist = ddp.init_from_env(base_device)
        self.device = ddp.ddp_device(base_device, self.dist)
        self.local_batch = ddp.check_batch_split(config.data.batch_size, self.dist)
        self.amp_dtype = None
        if rt.amp != "none":
            if self.device.type == "cuda":
                self.amp_dtype = torch.bfloat16 if rt.amp == "bf16" else torch.float16
            else:
                warnings.warn(f"runtime.amp={rt.amp} needs CUDA; training in float32 on {self.device}", stacklevel=2)
        seed_everything(rt.seed)
        preflight(config)

        def check(train_clips: int, labelled_clips: int) -> None:
            check_batch_size(config.data, config.model.regime, train_clips, labelled_clips)

        if data is None:
            data = prepare_splits(config.data, rt.seed, progress and self.dist.is_main, check=check)
        self.data = data
        self._build()

    # -- setup -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        cfg, dev = self.cfg, self.device
        regime = cfg.model.regime
        self.net, self.frontend = build_from_config(cfg, self.data.num_classes)
        self.net.to(dev)
        self.frontend.to(dev)
        self.channels_last = cfg.runtime.channels_last and cfg.input_kind == "features"
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)
        train = self.data.train
        self.train_labels = torch.as_tensor(train.labels, dtype=torch.int64, device=dev)
        self.train_store = WaveformStore(train.waveforms, dev, cfg.data.resident)
        self.valid_store = WaveformStore(self.data.valid.waveforms, dev, cfg.data.resident)
        self.test_store = WaveformStore(self.data.test.waveforms, dev, cfg.data.resident)
        labelled = self.data.labelled
        # supervised training sees only the labelled clips; the contrastive regimes see all of them
        self.train_index = labelled if regime == "supervised" else np.arange(len(train))
        check_batch_size(cfg.data, regime, len(train), len(labelled))
        self.steps_per_epoch = len(self.train_index) // cfg.data.batch_size
        self.pipeline = None
        if cfg.augment.names != "none":
            from core.augment import build_pipeline

            self.pipeline = build_pipeline(
                cfg.augment.names, preset=cfg.augment.preset, p=cfg.augment.p, order=cfg.augment.order
            )
        self.optimizer = build_optimizer(
            self.net,
            cfg.optim.name,
            cfg.optim.lr,
            cfg.optim.weight_decay,
            cfg.optim.momentum,
            cfg.optim.nesterov,
            tuple(cfg.optim.betas),
            cfg.optim.eps,
            cfg.optim.lars_eta,
        )
        self.scheduler = build_scheduler(
            self.optimizer,
            cfg.schedule.epochs,
            self.steps_per_epoch,
            cfg.schedule.warmup_epochs,
            cfg.schedule.min_lr,
            cfg.schedule.name,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype is torch.float16)
        forward: nn.Module = ddp.wrap_model(self.net, self.dist, dev, cfg.runtime.sync_bn)
        self.ddp_module = forward if self.dist.enabled else None
        if self.dist.enabled and cfg.runtime.sync_bn:
            self.net = forward.module  # SyncBatchNorm replaced the BatchNorm layers
        if cfg.runtime.compile:
            forward = torch.compile(forward)
        self.forward = forward
        self.epoch = 0
        self.global_step = 0
        self.best: dict[str, Any] = {"metric": cfg.monitor, "value": None, "epoch": None}
        self.bad_evals = 0
        self.last_metrics: dict[str, float] = {}
        self.provenance = provenance(str(dev))

    def fit_frontend(self) -> None:
        """Fit the feature normaliser on the first ``features.fit_clips`` clean training clips."""
        n = min(self.cfg.features.fit_clips, len(self.train_store))
        bs = self.cfg.data.eval_batch_size
        batches = (self.train_store.batch(torch.arange(i, min(i + bs, n))) for i in range(0, n, bs))
        self.frontend.fit(batches)

    # -- checkpoint state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
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

    # -- one step ---------------------------------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _to_input(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            inp = self.frontend(x)
        if self.channels_last and inp.ndim == 4:
            inp = inp.contiguous(memory_format=torch.channels_last)
        return inp

    def make_views(self, x: Tensor, step: int) -> list[Tensor]:
        """The augmented views of a clean batch: one for supervised, two otherwise (seeded by step and rank)."""
        g = torch.Generator().manual_seed(mix_seed(self.cfg.runtime.seed, step, self.dist.rank, 0xA06))
        if self.cfg.model.regime == "supervised":
            return [self.pipeline(x, generator=g) if self.pipeline is not None else x]
        if self.pipeline is None:
            return [x, x]
        from core.augment import two_views

        return list(two_views(x, self.pipeline, generator=g))

    def train_step(self, index: Tensor, timer: StageTimer) -> dict[str, float]:
        """One optimiser step on the clips at ``index`` (this rank's shard). Returns the logged parts."""
        timer.start()
        x = self.train_store.batch(index)
        labels = self.train_labels[index.to(self.train_labels.device)]
        timer.lap("input")
        views = self.make_views(x, self.global_step)
        timer.lap("augment")
        inp = self._to_input(torch.cat(views) if len(views) > 1 else views[0])
        timer.lap("features")
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            out = self.forward(inp)
        loss, parts = compute_loss(self.cfg.model.regime, out, labels, self.cfg.loss, self.dist.enabled)
        if not torch.isfinite(loss.detach()):
            raise TrainingError(self._nonfinite_reason(float(loss), x, inp))
        self.scaler.scale(loss).backward()
        if self.cfg.optim.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            parts["grad_norm"] = float(nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.optim.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        parts["lr"] = float(self.optimizer.param_groups[0]["lr"])
        self.scheduler.step()
        self.global_step += 1
        timer.lap("model")
        return parts

    def _nonfinite_reason(self, loss: float, waveforms: Tensor, inputs: Tensor) -> str:
        """One line saying why the loss is not finite: bad input, bad features, or a diverging model."""
        where = f"loss is {loss} at step {self.global_step + 1} (epoch {self.epoch + 1})"
        if not torch.isfinite(waveforms).all():
            return f"{where}: the batch's waveforms hold NaN or infinite samples"
        if not torch.isfinite(inputs).all():
            return f"{where}: the features of finite audio are not finite (check features.overrides)"
        lr = self.optimizer.param_groups[0]["lr"]
        return f"{where}: the model diverged at learning rate {lr:.3g}; lower optim.lr (now {self.cfg.optim.lr:g})"

    # -- evaluation -------------------------------------------------------------------------------------
    @torch.no_grad()
    def embed(self, store: WaveformStore, index: np.ndarray | None = None, net: nn.Module | None = None):
        """Clean (never augmented) embeddings h [N, D] and logits [N, C] (or None) on the CPU, in eval mode."""
        net = net or self.net
        was_training = net.training
        net.eval()
        idx = torch.as_tensor(np.arange(len(store)) if index is None else index, dtype=torch.int64)
        hs, logits = [], []
        for chunk in idx.split(self.cfg.data.eval_batch_size):
            inp = self._to_input(store.batch(chunk))
            with self._autocast():
                out = net(inp)
            hs.append(out["h"].float().cpu())
            if "logits" in out:
                logits.append(out["logits"].float().cpu())
        net.train(was_training)
        return torch.cat(hs), (torch.cat(logits) if logits else None)

    def score(self, net: nn.Module | None = None, splits: tuple[str, ...] = ("valid",)) -> dict[str, float]:
        """Head accuracy and online probes (trained on the labelled training clips) on ``splits``."""
        cfg = self.cfg
        seed_everything(mix_seed(cfg.runtime.seed, self.epoch, 0x9B0E))
        stores = {"valid": (self.valid_store, self.data.valid.labels), "test": (self.test_store, self.data.test.labels)}
        metrics: dict[str, float] = {}
        embedded = {}
        for name in splits:
            store, y = stores[name]
            h, logits = self.embed(store, net=net)
            yt = torch.as_tensor(y, dtype=torch.int64)
            embedded[name] = (h.numpy(), np.asarray(y))
            if logits is not None:
                metrics[f"{name}/head_acc"] = float((logits.argmax(1) == yt).float().mean())
                metrics[f"{name}/head_loss"] = float(F.cross_entropy(logits, yt))
        if cfg.eval.linear_probe or cfg.eval.knn:
            from core.evaluate import knn_probe, linear_probe

            labelled = self.data.labelled
            c = self.data.num_classes
            h_train, _ = self.embed(self.train_store, labelled, net=net)
            x_train, y_train = h_train.numpy(), np.asarray(self.data.train.labels[labelled])
            if cfg.eval.linear_probe:
                probe = linear_probe(x_train, y_train, embedded, seed=cfg.runtime.seed, num_classes=c)
                for name, m in probe.items():
                    metrics[f"{name}/linear_acc"] = _probe_acc(m)
            if cfg.eval.knn:
                k = min(cfg.eval.knn_k, len(y_train))
                for name, m in knn_probe(x_train, y_train, embedded, k=k, num_classes=c).items():
                    metrics[f"{name}/knn_acc"] = _probe_acc(m)
        return metrics

    # -- the loop ----------------------------------------------------------------------------------------
    def train_epoch(self, on_step: Callable[[dict[str, float]], None] | None = None, max_steps: int | None = None):
        """Train one epoch (the next one, ``self.epoch + 1``); returns averaged metrics and stage timings."""
        cfg = self.cfg
        epoch = self.epoch + 1
        seed_everything(mix_seed(cfg.runtime.seed, epoch, 0xE90C))
        self.net.train()
        self.frontend.eval()
        batches = epoch_batches(
            len(self.train_index), cfg.data.batch_size, cfg.runtime.seed, epoch, self.dist.rank, self.dist.world_size
        )
        if max_steps is not None:
            batches = batches[:max_steps]
        train_index = torch.as_tensor(self.train_index, dtype=torch.int64)
        timer = StageTimer(self.device, sync=cfg.runtime.profile)
        sums: dict[str, float] = defaultdict(float)
        bar = None
        if self.progress and self.dist.is_main:
            from tqdm import tqdm

            bar = tqdm(
                total=len(batches),
                desc=f"epoch {epoch}/{cfg.schedule.epochs}",
                unit="step",
                dynamic_ncols=True,
                leave=False,
            )
        t0 = time.perf_counter()
        clips = 0
        for i, b in enumerate(batches):
            parts = self.train_step(train_index[b], timer)
            clips += len(b) * self.dist.world_size
            for k, v in parts.items():
                sums[k] += v
            rate = clips / max(time.perf_counter() - t0, 1e-9)
            if bar is not None:
                bar.set_postfix(loss=f"{parts['loss']:.4f}", clips_s=f"{rate:.1f}")
                bar.update(1)
            if on_step is not None and not on_step(parts):
                break
            if self.dist.enabled and (i + 1) % CANCEL_CHECK_STEPS == 0 and self._cancel_all_ranks():
                break
        if bar is not None:
            bar.close()
        elapsed = time.perf_counter() - t0
        n = max(1, len(batches))
        metrics = {f"train/{k}": v / n for k, v in sums.items() if k not in ("lr",)}
        metrics["train/lr"] = float(self.optimizer.param_groups[0]["lr"])
        metrics["train/clips_per_s"] = clips / max(elapsed, 1e-9)
        metrics["train/epoch_s"] = elapsed
        for stage, share in timer.shares().items():
            metrics[f"time/{stage}_share"] = share
        self.epoch = epoch
        return metrics

    _cancel_flag = False

    def _cancel_all_ranks(self) -> bool:
        flag = torch.tensor([1.0 if self._cancel_flag else 0.0], device=self.device)
        if self.dist.enabled:
            torch.distributed.all_reduce(flag)
        return bool(flag.item() > 0)

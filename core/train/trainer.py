"""The training loop for the three regimes (supervised, SimCLR, CLAR), with validation, probes and checkpoints.

One call of :func:`run_training` creates (or resumes) a run in the run store, trains for ``schedule.epochs``,
scores the validation split after each epoch (classifier head, and online linear and kNN probes on clean
embeddings trained on the labelled clips only), keeps ``last``/``best``/numbered checkpoints, and finally reports
the test accuracy once for the best (by validation) and for the last checkpoint.

Determinism: everything random in an epoch is seeded from ``(runtime.seed, epoch)`` or
``(runtime.seed, global_step, rank)``, so a run resumed from the checkpoint of epoch ``e`` repeats epoch ``e + 1``
exactly as an uninterrupted run would (on CPU; bit-exactness on GPU also needs deterministic kernels).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import random
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.device import resolve_device
from core.errors import CheckpointError, ConfigError
from core.paths import checkpoints_dir
from core.train import ddp
from core.train.build import build_from_config
from core.train.checkpoint import CheckpointManager, capture_rng, load_checkpoint, restore_rng
from core.train.config import TrainConfig, provenance
from core.train.objective import compute_loss
from core.train.optim import build_optimizer
from core.train.pipeline import SplitData, StageTimer, WaveformStore, epoch_batches, mix_seed, prepare_splits
from core.train.schedule import build_scheduler

log = logging.getLogger(__name__)

# keys of the run-time section that may change when a run is resumed (they do not affect the results)
RESUME_OVERRIDABLE = (
    "runtime.device",
    "runtime.num_threads",
    "runtime.heartbeat_s",
    "runtime.log_every",
    "runtime.profile",
    "runtime.compile",
)
CANCEL_CHECK_STEPS = 10


@dataclass
class TrainResult:
    """What a finished (or cancelled) run reports."""

    run_id: str
    status: str
    final_metrics: dict[str, float] = field(default_factory=dict)
    epochs_done: int = 0
    global_step: int = 0
    checkpoint_dir: Path | None = None
    history: list[dict[str, float]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _Heartbeat(threading.Thread):
    """Background thread: run-store heartbeat every ``interval`` seconds, and polling for a cancel request."""

    def __init__(self, store: Any, run_id: str, interval: float) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.store, self.run_id, self.interval = store, run_id, interval
        self.stop_event = threading.Event()
        self.cancelled = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.store.heartbeat(self.run_id)
                if self.store.cancel_requested(self.run_id):
                    self.cancelled.set()
            except Exception as e:  # a busy store must not kill training; the next beat retries
                log.warning("heartbeat for run %s failed: %s", self.run_id, e)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


def _metric_better(name: str, value: float, best: float | None) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value < best if "loss" in name else value > best


def _probe_acc(metrics: Any) -> float:
    """The top-1 accuracy in a probe's metrics dict (or a bare number)."""
    if isinstance(metrics, dict):
        for key in ("top1", "acc", "accuracy", "top1_acc"):
            if key in metrics:
                return float(metrics[key])
        raise KeyError(f"no accuracy in probe metrics {sorted(metrics)}")
    return float(metrics)


class Trainer:
    """One training run. Use :func:`run_training` unless you need the pieces (the benchmark does)."""

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
        self.data = data if data is not None else prepare_splits(config.data, rt.seed, progress and self.dist.is_main)
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
        self.steps_per_epoch = len(self.train_index) // cfg.data.batch_size
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"data.batch_size={cfg.data.batch_size} is larger than the {len(self.train_index)} training clips"
            )
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
            raise FloatingPointError(f"loss is {float(loss)} at step {self.global_step} (lower optim.lr?)")
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


# ------------------------------------------------------------------------------------------------------------


def _open_store(store: Any):
    if store is not None:
        return store
    from core.runs import RunStore

    return RunStore()


def _stored_config(run: Any) -> dict[str, Any]:
    import json

    cfg = run.get("config") if isinstance(run, dict) else getattr(run, "config", None)
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    if not isinstance(cfg, dict):
        raise ConfigError("the run store holds no config for this run")
    return {k: v for k, v in cfg.items() if k != "provenance"}


def _resume_config(saved: dict[str, Any], overrides: list[str] | None) -> TrainConfig:
    cfg = TrainConfig.from_dict({k: v for k, v in saved.items() if k != "provenance"}, source="resumed config")
    if overrides:
        from core.train.config import parse_override

        for item in overrides:
            key, _ = parse_override(item)
            if key not in RESUME_OVERRIDABLE:
                raise ConfigError(
                    f"--set {key}: a resumed run keeps its config; only {', '.join(RESUME_OVERRIDABLE)} may change"
                )
        cfg = cfg.with_overrides(overrides)
    return cfg


def run_training(
    config: TrainConfig | None = None,
    *,
    resume: str | None = None,
    overrides: list[str] | None = None,
    store: Any = None,
    progress: bool = True,
    checkpoint_root: str | Path | None = None,
    on_run_id: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a new run from ``config`` (with ``overrides``), or continue run ``resume`` from its last checkpoint.

    ``on_run_id(run_id)`` is called as soon as the run id is known (the CLI prints it). Returns the result;
    the run store holds the per-step and per-epoch metrics and, at the end, the final metrics.
    """
    root = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
    store_obj = _open_store(store)  # every rank may read a config from it; only rank 0 writes
    checkpoint_state = None
    if resume:
        run_id = resume
        manager = CheckpointManager(root / run_id)
        found = manager.load_latest()
        if found is not None:
            checkpoint_state, path = found
            log.info("resuming run %s from %s (epoch %d)", run_id, path, checkpoint_state["epoch"])
            cfg = _resume_config(checkpoint_state["config"], overrides)
        else:
            cfg = _resume_config(_stored_config(store_obj.get_run(run_id)), overrides)
    else:
        if config is None:
            raise ConfigError("run_training needs a config or a run id to resume")
        cfg = config.with_overrides(overrides) if overrides else config
        run_id = None

    trainer = Trainer(cfg, progress=progress, checkpoint_root=root)
    dist_info = trainer.dist
    if dist_info.is_main:
        if run_id is None:
            store_config = {**cfg.to_dict(), "provenance": trainer.provenance}
            run_id = store_obj.create_run(cfg.run_name(), store_config)
        store_obj.mark_running(run_id)
    run_id = ddp.broadcast_object(run_id, dist_info)
    trainer.run_id = run_id
    if on_run_id is not None and dist_info.is_main:
        on_run_id(run_id)
    manager = CheckpointManager(root / run_id, cfg.runtime.checkpoint_every)
    if checkpoint_state is not None:
        trainer.load_state_dict(checkpoint_state)
    else:
        trainer.fit_frontend()
    if dist_info.is_main:
        store_obj.truncate_metrics(run_id, trainer.global_step)

    heartbeat = None
    if dist_info.is_main:
        heartbeat = _Heartbeat(store_obj, run_id, cfg.runtime.heartbeat_s)
        heartbeat.start()
    status = "failed"
    result = TrainResult(run_id, status, checkpoint_dir=manager.dir)
    try:
        status = _loop(trainer, cfg, store_obj, manager, heartbeat, result)
        final = {}
        if status == "completed" and dist_info.is_main:
            final = _final_scores(trainer, manager)
        result.status, result.final_metrics = status, final
        result.epochs_done, result.global_step = trainer.epoch, trainer.global_step
        if dist_info.is_main:
            store_obj.finish(run_id, status, final_metrics=final)
        return result
    except BaseException as e:
        if dist_info.is_main:
            with contextlib.suppress(Exception):
                store_obj.finish(
                    run_id,
                    "cancelled" if isinstance(e, KeyboardInterrupt) else "failed",
                    final_metrics={"error": str(e)[:500]},
                )
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        ddp.cleanup(dist_info)


def _loop(
    trainer: Trainer, cfg: TrainConfig, store: Any, manager: CheckpointManager, heartbeat: Any, result: TrainResult
) -> str:
    main = trainer.dist.is_main
    run_id = trainer.run_id
    log_every = cfg.runtime.log_every
    epochs = cfg.schedule.epochs

    def on_step(parts: dict[str, float]) -> bool:
        if main and trainer.global_step % log_every == 0:
            store.log_metrics(
                run_id, trainer.global_step, trainer.epoch + 1, {f"train/{k}": v for k, v in parts.items()}
            )
        if heartbeat is not None and heartbeat.cancelled.is_set():
            trainer._cancel_flag = True
            return trainer.dist.enabled  # single process: stop now; DDP: stop at the next collective check
        return True

    while trainer.epoch < epochs:
        metrics = trainer.train_epoch(on_step)
        cancelled = trainer._cancel_all_ranks() if trainer.dist.enabled else trainer._cancel_flag
        if cancelled:
            return "cancelled"
        stop = False
        if main:
            if trainer.epoch % cfg.eval.every == 0 or trainer.epoch == epochs:
                metrics.update(trainer.score(splits=("valid",)))
                value = metrics.get(cfg.monitor)
                if value is None:
                    raise ConfigError(f"eval.monitor {cfg.monitor!r} is not among the metrics {sorted(metrics)}")
                is_best = _metric_better(cfg.monitor, value, trainer.best["value"])
                if is_best:
                    trainer.best = {"metric": cfg.monitor, "value": float(value), "epoch": trainer.epoch}
                    trainer.bad_evals = 0
                else:
                    trainer.bad_evals += 1
                stop = cfg.eval.patience > 0 and trainer.bad_evals >= cfg.eval.patience
            else:
                is_best = False
            trainer.last_metrics = metrics
            store.log_metrics(run_id, trainer.global_step, trainer.epoch, metrics)
            result.history.append({"epoch": trainer.epoch, **metrics})
            written = manager.save(trainer.state_dict(), is_best=is_best)
            for p in written:
                with contextlib.suppress(Exception):
                    store.add_artifact(run_id, "checkpoint", str(p), {"epoch": trainer.epoch, "name": p.stem})
            if trainer.progress:
                shown = {k: round(v, 4) for k, v in metrics.items() if k.startswith(("train/loss", "valid/"))}
                print(f"epoch {trainer.epoch}/{epochs}: {shown}", flush=True)
        stop = bool(ddp.broadcast_object(stop, trainer.dist))
        if stop:
            break
    return "completed"


def _final_scores(trainer: Trainer, manager: CheckpointManager) -> dict[str, float]:
    """Test accuracy once for the last model and once for the best (by validation) checkpoint."""
    final: dict[str, float] = {"epochs": float(trainer.epoch), "global_step": float(trainer.global_step)}
    last = trainer.score(splits=("test",))
    final.update({k.replace("test/", "test/last/", 1): v for k, v in last.items()})
    best_epoch = trainer.best.get("epoch")
    if best_epoch is not None:
        final["best_epoch"] = float(best_epoch)
        final[f"best/{trainer.best['metric']}"] = float(trainer.best["value"])
        if best_epoch == trainer.epoch:
            best = last
        else:
            state = load_checkpoint(manager.best, trainer.device)
            net = copy.deepcopy(trainer.net)
            net.load_state_dict(state["model"])
            best = trainer.score(net=net, splits=("test",))
        final.update({k.replace("test/", "test/best/", 1): v for k, v in best.items()})
    return final

"""The run loop of one training run.

The run loop: epochs of steps until the run's step budget is spent, validation, checkpoints, cancel requests and a lost
run, and the final test scores (scored once, for the last and for the best checkpoint).
"""

from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from core.checkpoint import load_checkpoint
from core.data.batches import epoch_batches
from core.errors import ConfigError
from core.probes.metrics import recall_by_class
from core.seeding import mix_seed, seed_everything
from core.train import ddp
from core.train.checkpoints import CheckpointManager
from core.train.timing import StageTimer

if TYPE_CHECKING:
    from core.runs import HeartbeatThread
    from core.train.reporter import Reporter
    from core.train.trainer import Trainer

CANCEL_CHECK_STEPS = 10
"""Under DDP, the ranks agree on a cancel request every this many steps."""


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


def metric_better(name: str, value: float, best: float | None) -> bool:
    """Whether ``value`` of metric ``name`` beats ``best`` (lower for losses, higher otherwise; NaN never wins)."""
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value < best if "loss" in name else value > best


def cancel_all_ranks(trainer: Trainer) -> bool:
    """Whether any rank saw a cancel request (a collective under DDP)."""
    flag = torch.tensor([1.0 if trainer.cancel_flag else 0.0], device=trainer.device)
    if trainer.dist.enabled:
        torch.distributed.all_reduce(flag)
    return bool(flag.item() > 0)


def run_epoch(
    trainer: Trainer,
    on_step: Callable[[dict[str, float]], bool] | None = None,
    max_steps: int | None = None,
    reporter: Reporter | None = None,
) -> dict[str, float]:
    """Train the next epoch, at most ``max_steps`` steps of it.

    Train the next epoch (``trainer.epoch + 1``), at most ``max_steps`` steps of it; returns its averaged parts
    (``train/...``), learning rate, speed, duration and the time share of each stage (``time/...``).

    ``on_step(parts)`` is called after every step; returning False stops the epoch.
    """
    cfg = trainer.cfg
    epoch = trainer.epoch + 1
    seed_everything(mix_seed(cfg.runtime.seed, epoch, 0xE90C))
    trainer.net.train()
    trainer.frontend.eval()
    dist = trainer.dist
    batches = epoch_batches(
        len(trainer.train_index), cfg.data.batch_size, cfg.runtime.seed, epoch, dist.rank, dist.world_size
    )
    if max_steps is not None:
        batches = batches[:max_steps]
    train_index = torch.as_tensor(trainer.train_index, dtype=torch.int64)
    timer = StageTimer(trainer.device, sync=cfg.runtime.profile)
    sums: dict[str, float] = defaultdict(float)
    bar = reporter.bar(len(batches), f"epoch {epoch}") if reporter is not None and dist.is_main else None
    t0 = time.perf_counter()
    clips = 0
    for i, b in enumerate(batches):
        idx = train_index[b]
        timer.start()
        x = trainer.train_store.batch(idx)
        labels = trainer.train_labels[idx.to(trainer.train_labels.device)]
        parts = trainer.step(x, labels, trainer.global_step, timer)
        trainer.global_step += 1
        clips += len(b) * dist.world_size
        for k, v in parts.items():
            sums[k] += v
        if bar is not None:
            bar.set_postfix(loss=f"{parts['loss']:.4f}", clips_s=f"{clips / max(time.perf_counter() - t0, 1e-9):.1f}")
            bar.update(1)
        if on_step is not None and not on_step(parts):
            break
        if dist.enabled and (i + 1) % CANCEL_CHECK_STEPS == 0 and cancel_all_ranks(trainer):
            break
    if bar is not None:
        bar.close()
    elapsed = time.perf_counter() - t0
    n = max(1, len(batches))
    metrics = {f"train/{k}": v / n for k, v in sums.items() if k != "lr"}
    metrics["train/lr"] = float(trainer.optimizer.param_groups[0]["lr"])
    metrics["train/clips_per_s"] = clips / max(elapsed, 1e-9)
    metrics["train/epoch_s"] = elapsed
    for stage, share in timer.shares().items():
        metrics[f"time/{stage}_share"] = share
    trainer.epoch = epoch
    return metrics


def _validate(trainer: Trainer, metrics: dict[str, float], last: bool) -> tuple[bool, bool]:
    """Score the validation split when due; update best and patience. Returns (is_best, stop)."""
    cfg = trainer.cfg
    if not cfg.has_validation:
        return False, False
    if not (trainer.epoch % cfg.eval.every == 0 or last):
        return False, False
    metrics.update(trainer.score(splits=("valid",)))
    value = metrics.get(cfg.monitor)
    if value is None:
        raise ConfigError(f"eval.monitor {cfg.monitor!r} is not among the metrics {sorted(metrics)}")
    is_best = metric_better(cfg.monitor, value, trainer.best["value"])
    if is_best:
        trainer.best = {"metric": cfg.monitor, "value": float(value), "epoch": trainer.epoch}
        trainer.bad_evals = 0
    else:
        trainer.bad_evals += 1
    return is_best, cfg.eval.patience > 0 and trainer.bad_evals >= cfg.eval.patience


def _save(trainer: Trainer, manager: CheckpointManager, store: Any, registered: set[str], is_best: bool) -> None:
    written = manager.save(trainer.state_dict(), is_best=is_best)
    for p in written:  # each file once: last/best are overwritten in place
        if store is not None and str(p.absolute()) not in registered:
            meta: dict[str, Any] = {"name": p.stem}
            if p.stem.startswith("epoch_"):
                meta["epoch"] = trainer.epoch
            store.add_artifact(trainer.run_id, "checkpoint", str(p), meta)
            registered.add(str(p.absolute()))


def train_loop(
    trainer: Trainer,
    reporter: Reporter,
    manager: CheckpointManager,
    heartbeat: HeartbeatThread | None,
    result: TrainResult,
) -> str:
    """Train until the run's steps are spent (or early stopping, a cancel request); returns the final status.

    A run with no steps (``schedule.epochs: 0``) trains nothing and keeps its untrained model as the checkpoint of
    epoch 0, so that the probes score a random encoder exactly as they score a trained one. Raises OwnershipLost
    (from the run store) as soon as another process owns the run.
    """
    main = trainer.dist.is_main
    store = reporter.store
    registered = {a["path"] for a in store.artifacts(trainer.run_id, "checkpoint")} if store is not None else set()
    log_every = trainer.cfg.runtime.log_every

    def on_step(parts: dict[str, float]) -> bool:
        if heartbeat is not None and heartbeat.lost.is_set() and store is not None:
            store.assert_owner(trainer.run_id, reporter.owner)  # raises OwnershipLost with who took the run
        if main and trainer.global_step % log_every == 0:
            reporter.step(trainer.global_step, trainer.epoch + 1, parts)
        if heartbeat is not None and heartbeat.cancelled.is_set():
            trainer.cancel_flag = True
            return trainer.dist.enabled  # single process: stop now; DDP: stop at the next collective check
        return True

    if trainer.total_steps == 0 and trainer.global_step == 0 and main and not manager.last.exists():
        _save(trainer, manager, store, registered, is_best=False)
    while trainer.global_step < trainer.total_steps:
        metrics = run_epoch(trainer, on_step, trainer.total_steps - trainer.global_step, reporter)
        cancelled = cancel_all_ranks(trainer) if trainer.dist.enabled else trainer.cancel_flag
        if cancelled:
            return "cancelled"
        stop = False
        if main:
            is_best, stop = _validate(trainer, metrics, last=trainer.global_step >= trainer.total_steps)
            trainer.last_metrics = metrics
            reporter.epoch(trainer.epoch, trainer.global_step, metrics)
            result.history.append({"epoch": trainer.epoch, **metrics})
            _save(trainer, manager, store, registered, is_best)
        if bool(ddp.broadcast_object(stop, trainer.dist)):
            break
    return "completed"


def final_scores(
    trainer: Trainer, manager: CheckpointManager, report: dict[str, Any] | None = None
) -> dict[str, float]:
    """The final test scores of a run.

    Test accuracy once for the last model and, with validation, once for the best checkpoint; the split sizes and the
    real labelled share go with them. With ``report`` (a dict), it is filled with the class names and, for ``last``
    (and ``best``), the head's and the linear probe's full test classification reports (per-class accuracy,
    confusion matrix): the run's ``test_report.json``.
    """
    sizes = trainer.data.sizes or {}
    names = list(trainer.data.class_names)
    final: dict[str, float] = {"epochs": float(trainer.epoch), "global_step": float(trainer.global_step)}
    for key in ("train", "train_labelled", "labelled_fraction", "valid", "test"):
        if sizes.get(key) is not None:
            final[f"data/{key}"] = float(sizes[key])
    reports: dict[str, dict[str, Any]] = {}
    last = trainer.score(splits=("test",), reports=reports)
    detail = {"last": _named(reports.get("test", {}), names)}
    final.update({k.replace("test/", "test/last/", 1): v for k, v in last.items()})
    best_epoch = trainer.best.get("epoch")
    if best_epoch is not None:
        final["best_epoch"] = float(best_epoch)
        final[f"best/{trainer.best['metric']}"] = float(trainer.best["value"])
        if best_epoch == trainer.epoch:
            best = last
            detail["best"] = detail["last"]
        else:
            state = load_checkpoint(manager.best, trainer.device)
            net = copy.deepcopy(trainer.net)
            net.load_state_dict(state["model"])
            reports = {}
            best = trainer.score(net=net, splits=("test",), reports=reports)
            detail["best"] = _named(reports.get("test", {}), names)
        final.update({k.replace("test/", "test/best/", 1): v for k, v in best.items()})
    if report is not None:
        report.update(
            {"class_names": names, "epoch": trainer.epoch, "best_epoch": best_epoch, "split": "test", **detail}
        )
    return final


def _named(reports: dict[str, dict[str, Any]], names: list[str]) -> dict[str, dict[str, Any]]:
    """Reports with their per-class accuracies keyed by class name (the probes know only indices)."""
    out = {}
    for scorer, rep in reports.items():
        rep = dict(rep)
        if rep.get("confusion_matrix"):
            rep["per_class_accuracy"] = recall_by_class(rep["confusion_matrix"], names)
        out[scorer] = rep
    return out

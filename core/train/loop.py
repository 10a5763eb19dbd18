"""The epoch loop of one run: train, validate, keep checkpoints, stop on a cancel request or a lost run, and the
final test scores (scored once, for the last and for the best checkpoint)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from core.train import ddp
from core.checkpoint import load_checkpoint
from core.train.checkpoints import CheckpointManager

if TYPE_CHECKING:
    from core.runs import HeartbeatThread, RunStore
    from core.train.trainer import Trainer


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


def train_loop(
    trainer: Trainer,
    store: RunStore,
    manager: CheckpointManager,
    heartbeat: HeartbeatThread | None,
    owner: str | None,
    result: TrainResult,
) -> str:
    """Train until ``schedule.epochs`` (or early stopping, a cancel request); returns the final status.

    Raises OwnershipLost (from the run store) as soon as another process owns the run.
    """
    cfg = trainer.cfg
    main = trainer.dist.is_main
    run_id = trainer.run_id
    registered: set[str] | None = None
    log_every = cfg.runtime.log_every
    epochs = cfg.schedule.epochs

    def on_step(parts: dict[str, float]) -> bool:
        if heartbeat is not None and heartbeat.lost.is_set():
            store.assert_owner(run_id, owner)  # raises OwnershipLost with who took the run
        if main and trainer.global_step % log_every == 0:
            metrics = {f"train/{k}": v for k, v in parts.items()}
            store.log_metrics(run_id, trainer.global_step, trainer.epoch + 1, metrics, owner=owner)
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
            is_best = False
            if trainer.epoch % cfg.eval.every == 0 or trainer.epoch == epochs:
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
                stop = cfg.eval.patience > 0 and trainer.bad_evals >= cfg.eval.patience
            trainer.last_metrics = metrics
            store.log_metrics(run_id, trainer.global_step, trainer.epoch, metrics, owner=owner)
            result.history.append({"epoch": trainer.epoch, **metrics})
            written = manager.save(trainer.state_dict(), is_best=is_best)
            if registered is None:
                registered = {a["path"] for a in store.artifacts(run_id, "checkpoint")}
            for p in written:  # each file once: last/best are overwritten in place
                if str(p.absolute()) not in registered:
                    meta: dict[str, Any] = {"name": p.stem}
                    if p.stem.startswith("epoch_"):
                        meta["epoch"] = trainer.epoch
                    store.add_artifact(run_id, "checkpoint", str(p), meta)
                    registered.add(str(p.absolute()))
            if trainer.progress:
                shown = {k: round(v, 4) for k, v in metrics.items() if k.startswith(("train/loss", "valid/"))}
                print(f"epoch {trainer.epoch}/{epochs}: {shown}", flush=True)
        stop = bool(ddp.broadcast_object(stop, trainer.dist))
        if stop:
            break
    return "completed"


def final_scores(trainer: Trainer, manager: CheckpointManager) -> dict[str, float]:
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

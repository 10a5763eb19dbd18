"""Running a training run end to end.

Running a training run end to end: its record in the run store, exclusive ownership, setup, the epoch loop, checkpoints,
the final test scores, and the status it ends with.

``run_training`` creates a run (or resumes one), claims it in the run store (an owner token, see
:mod:`core.runs.runs`), builds the :class:`~core.train.trainer.Trainer`, and trains. What can go wrong is
recorded, never left ambiguous:

* a failure during setup (a bad dataset root, a config the model cannot take) ends the run ``failed`` with the
  reason;
* a non-finite loss ends it ``failed`` with a :class:`~core.errors.TrainingError`;
* a cancel request ends it ``cancelled``; Ctrl-C ends it ``cancelled``;
* a process that lost the run to another one (``train --resume`` after its heartbeat went stale) stops at once
  with :class:`~core.errors.OwnershipLost`, writing nothing more: the new owner decides the status.

Resuming refuses, with a one-line error, a completed run, and a run whose checkpoints cannot be found although it
made progress (it never silently restarts and deletes its history).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import TrainConfig, parse_override
from core.errors import ConfigError, OwnershipLost, RunStoreError
from core.paths import checkpoints_dir
from core.runs import HeartbeatThread, RunStore
from core.runs.reports import write_report
from core.train import ddp
from core.train.checkpoints import CheckpointManager
from core.train.loop import TrainResult, final_scores, train_loop
from core.train.reporter import Reporter

log = logging.getLogger(__name__)

RESUME_OVERRIDABLE = (
    "runtime.device",
    "runtime.num_threads",
    "runtime.heartbeat_s",
    "runtime.stale_after_s",
    "runtime.log_every",
    "runtime.profile",
    "runtime.compile",
)
"""Keys of the runtime section that may change when a run is resumed (they do not affect the results)."""


@dataclass
class _Plan:
    """What to run: the config, the run id (None: a new id), the checkpoint folder and the state to resume."""

    config: TrainConfig
    run_id: str | None
    folder: Path | None
    state: dict[str, Any] | None = None


def _stored_config(run: dict[str, Any]) -> dict[str, Any]:
    cfg = run.get("config")
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    if not isinstance(cfg, dict) or not cfg:
        raise ConfigError(f"run {run['id']}: the run store holds no config for it")
    return {k: v for k, v in cfg.items() if k != "provenance"}


def _resume_config(saved: dict[str, Any], overrides: list[str] | None) -> TrainConfig:
    cfg = TrainConfig.from_dict({k: v for k, v in saved.items() if k != "provenance"}, source="resumed config")
    if overrides:
        for item in overrides:
            key, _ = parse_override(item)
            if key not in RESUME_OVERRIDABLE:
                raise ConfigError(
                    f"--set {key}: a resumed run keeps its config; only {', '.join(RESUME_OVERRIDABLE)} may change"
                )
        cfg = cfg.with_overrides(overrides)
    return cfg


def _resume_folder(run: dict[str, Any], checkpoint_root: str | os.PathLike | None) -> Path:
    """The folder holding a resumed run's checkpoints.

    The folder holding the run's checkpoints: the one the run store recorded, unless ``checkpoint_root`` is given and
    holds the run's checkpoints (a moved folder). Refuses a root that holds none of them.
    """
    run_id = run["id"]
    stored = Path(run["checkpoint_dir"]) if run.get("checkpoint_dir") else None
    if checkpoint_root is None:
        return stored or checkpoints_dir() / run_id
    given = Path(checkpoint_root) / run_id
    if stored is None or given.absolute() == stored.absolute() or CheckpointManager(given).candidates():
        return given
    raise ConfigError(
        f"run {run_id} keeps its checkpoints in {stored}, but --checkpoint-dir points at {given}, which has none; "
        "drop --checkpoint-dir (or point it at the folder that holds the run)"
    )


def _plan_resume(store: RunStore, run_id: str, checkpoint_root, overrides) -> _Plan:
    run = store.get_run(run_id)
    if run["status"] == "completed":
        raise ConfigError(f"run {run_id} is completed; there is nothing to resume (train a new run instead)")
    folder = _resume_folder(run, checkpoint_root)
    found = CheckpointManager(folder).load_latest()
    if found is not None:
        state, path = found
        log.info("resuming run %s from %s (epoch %d)", run_id, path, state["epoch"])
        return _Plan(_resume_config(state["config"], overrides), run_id, folder, state)
    progress = store.epoch_history(run_id) or store.artifacts(run_id, "checkpoint")
    if progress:
        raise ConfigError(
            f"run {run_id}: no checkpoint in {folder} (expected last.pt or previous.pt), although the run finished "
            f"{len(store.epoch_history(run_id))} epoch(s); refusing to restart it and lose its history"
        )
    return _Plan(_resume_config(_stored_config(run), overrides), run_id, folder)


def _claim_new(store: RunStore, cfg: TrainConfig, run_id: str | None) -> str:
    """Create the run, or take over one a launcher created (``created`` status) under ``run_id``."""
    if run_id is not None:
        try:
            existing = store.get_run(run_id)
        except RunStoreError:
            existing = None
        if existing is not None:
            if existing["status"] != "created":
                raise ConfigError(f"--run-id {run_id}: a run with this id already exists ({existing['status']})")
            store.set_config(run_id, cfg.to_dict())
            return run_id
    return store.create_run(cfg.run_name(), cfg.to_dict(), run_id=run_id)


def run_training(
    config: TrainConfig | None = None,
    *,
    resume: str | None = None,
    run_id: str | None = None,
    overrides: list[str] | None = None,
    store: RunStore | None = None,
    progress: bool = True,
    checkpoint_root: str | os.PathLike | None = None,
    on_run_id: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a new run from ``config`` (with ``overrides``), or continue run ``resume`` from its last checkpoint.

    Args:
        config: the configuration of a new run.
        resume: the id of a run to continue (its config comes from its checkpoint or the run store).
        run_id: the id of a new run (a launcher names the run before the process starts); default: a fresh id.
        overrides: ``key=value`` overrides (for a resume, only :data:`RESUME_OVERRIDABLE` keys).
        store: the run store (default :class:`core.runs.RunStore` at its default path).
        progress: show progress bars.
        checkpoint_root: the folder that holds ``<run_id>/`` checkpoint folders (default ``core.paths``').
        on_run_id: called with the run id as soon as it is known (the CLI prints it).

    Returns the result; the run store holds the per-step and per-epoch metrics and, at the end, the final ones.
    """
    from core.train.trainer import Trainer

    store = store if store is not None else RunStore()  # every rank may read from it; only rank 0 writes
    is_main = ddp.env_rank() == 0
    if resume:
        plan = _plan_resume(store, resume, checkpoint_root, overrides)
    else:
        if config is None:
            raise ConfigError("run_training needs a config or a run id to resume")
        plan = _Plan(config.with_overrides(overrides) if overrides else config, run_id, None)
    cfg = plan.config
    rid, owner, heartbeat = plan.run_id, None, None
    if is_main:
        if not resume:
            rid = _claim_new(store, cfg, rid)
        folder = plan.folder or Path(checkpoint_root or checkpoints_dir()) / rid
        rt = cfg.runtime
        owner = store.claim(rid, heartbeat_s=rt.heartbeat_s, stale_after_s=rt.stale_after_s, checkpoint_dir=folder)
        heartbeat = HeartbeatThread(store, rid, rt.heartbeat_s, owner)  # beats through setup (a long data load) too
        heartbeat.start()
        if on_run_id is not None:
            on_run_id(rid)
    try:
        trainer = Trainer(cfg, run_id=rid, progress=progress)
    except BaseException as e:
        if heartbeat is not None:
            heartbeat.stop()
        if is_main:
            with contextlib.suppress(Exception):
                store.finish(rid, "failed", owner=owner, reason=f"setup failed: {type(e).__name__}: {e}")
        raise
    rid = ddp.broadcast_object(rid, trainer.dist)
    trainer.run_id = rid
    folder = plan.folder or Path(checkpoint_root or checkpoints_dir()) / rid
    guard = (lambda: store.assert_owner(rid, owner)) if is_main else None
    manager = CheckpointManager(folder, cfg.runtime.checkpoint_every, before_commit=guard)
    result = TrainResult(rid, "failed", checkpoint_dir=manager.dir)
    ended_normally = False
    try:
        if plan.state is not None:
            trainer.load_state_dict(plan.state)
        else:
            trainer.fit_frontend()
        reporter = Reporter(
            store if is_main else None,
            rid,
            owner,
            total_steps=trainer.total_steps,
            steps_per_epoch=trainer.steps_per_epoch,
            start_step=trainer.global_step,
            progress=progress and is_main,
        )
        if is_main:
            if not resume:
                store.set_config(rid, {**cfg.to_dict(), "provenance": trainer.provenance})
            store.truncate_metrics(rid, trainer.global_step)
            regime = trainer.regime
            reporter.start(
                f"{regime.name} ({regime.summary}) with {cfg.model.encoder}; an epoch is {regime.epoch_description()}",
                trainer.data.describe(),
                str(trainer.device) + (f" x {trainer.dist.world_size} processes" if trainer.dist.enabled else ""),
            )
        status = train_loop(trainer, reporter, manager, heartbeat, result)
        report: dict[str, Any] = {}
        final = final_scores(trainer, manager, report) if status == "completed" and is_main else {}
        if report:
            path = write_report(manager.dir, report)
            store.add_artifact(rid, "report", str(path), {"name": "test report", "split": "test"})
        result.status, result.final_metrics = status, final
        result.epochs_done, result.global_step = trainer.epoch, trainer.global_step
        if is_main:
            store.finish(rid, status, final_metrics=final, owner=owner)
        ended_normally = True
        return result
    except OwnershipLost:
        raise  # the new owner decides the run's status
    except BaseException as e:
        if is_main:
            cancelled = isinstance(e, KeyboardInterrupt)
            with contextlib.suppress(Exception):
                store.finish(
                    rid,
                    "cancelled" if cancelled else "failed",
                    owner=owner,
                    reason="stopped by Ctrl-C or SIGTERM" if cancelled else f"{type(e).__name__}: {e}",
                )
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        ddp.cleanup(trainer.dist, wait_for_all=ended_normally)

"""The three kinds of sweep cell: a training run, a fine-tuning of a run's checkpoint, the trivial baseline.

Each function does one cell's work and returns what the manifest records of it. A training cell resumes its run
from the last checkpoint when it has one (``run_training(resume=...)``), so a cell killed mid-run loses at most an
epoch; fine-tuning and the baseline are short and start again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.config import TrainConfig
from core.errors import ConfigError
from core.runs import RunStore
from core.train.run import run_training

# Settings that change how fast a run goes, never what it computes: left out of a cell's identity.
_NOT_IDENTITY = {"runtime": ("num_threads", "device", "heartbeat_s", "stale_after_s", "log_every", "profile")}


def config_digest(config: TrainConfig) -> str:
    """A short hash of everything in ``config`` that changes a run's result."""
    d = config.to_dict()
    for section, keys in _NOT_IDENTITY.items():
        for k in keys:
            d.get(section, {}).pop(k, None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


def train_cell(
    config: TrainConfig,
    entry: dict[str, Any],
    *,
    store: RunStore,
    checkpoint_root: Path,
    on_run_id: Callable[[str], None],
    threads: int | None,
    progress: bool,
) -> dict[str, Any]:
    """Train (or resume) the run of one cell; returns its record: run id, final metrics, steps and train time.

    Raises:
        ConfigError: the run ended without completing (cancelled or failed); running the sweep again resumes it.
    """
    run_id = entry.get("run_id")
    run = store.get_run(run_id) if run_id else None
    status = run["status"] if run else None
    if status != "completed":
        if run_id is not None and status is not None:
            overrides = [f"runtime.num_threads={threads}"] if threads else None
            result = run_training(
                resume=run_id, overrides=overrides, store=store, progress=progress, checkpoint_root=checkpoint_root
            )
        else:
            cfg = config.with_overrides({"runtime.num_threads": threads}) if threads else config
            result = run_training(
                cfg, store=store, progress=progress, checkpoint_root=checkpoint_root, on_run_id=on_run_id
            )
        run_id = result.run_id
        if result.status != "completed":
            raise ConfigError(f"run {run_id} ended {result.status}; run the sweep again to resume it")
    run = store.get_run(run_id)
    history = store.epoch_history(run_id)
    final = run["final_metrics"] or {}
    return {
        "run_id": run_id,
        "checkpoint_dir": run["checkpoint_dir"],
        "final": {k: v for k, v in final.items() if isinstance(v, (int, float))},
        "steps": int(max((h["step"] for h in history), default=0)),
        "train_s": float(sum(h.get("train/epoch_s", 0.0) for h in history)),
        "curve": [
            {k: h[k] for k in ("epoch", "step", "valid/linear_acc", "valid/head_acc", "valid/knn_acc") if k in h}
            for h in history
            if any(k.startswith("valid/") for k in h)
        ],
    }


def _same_clips(trained: Any) -> dict[str, Any]:
    """Data overrides that keep an offline evaluation on the run's own validation and test clips.

    An offline evaluation scores the full splits by default; a run capped by ``data.max_eval_clips`` (the tiny
    sweeps) is scored on its capped clips instead, like the arms it is compared with.
    """
    return {"max_eval_clips": (trained.config.get("data") or {}).get("max_eval_clips")}


def finetune_steps(labelled: int, epochs: int, batch_size: int) -> int:
    """Optimiser steps of a fine-tuning: every batch of each epoch, but a trailing batch of one clip is skipped."""
    per_epoch = -(-labelled // batch_size) - (1 if labelled % batch_size == 1 else 0)
    return epochs * per_epoch


def _evaluate_source(source: dict[str, Any], device: str, progress: bool, **options: Any) -> tuple[dict, float]:
    """``python -m core eval`` on the best checkpoint of ``source`` (a training cell's record), on its own clips.

    Returns the report's one fold and the seconds it took (:func:`core.evaluate.offline.evaluate_checkpoint`).
    """
    from core.evaluate.offline import evaluate_checkpoint
    from core.inference import load_trained

    trained = load_trained(Path(source["checkpoint_dir"]), device=device)
    t0 = time.perf_counter()
    report = evaluate_checkpoint(
        trained, data_overrides=_same_clips(trained), save_probe=False, progress=progress, **options
    )
    return report["folds"][0], time.perf_counter() - t0


def finetune_cell(source: dict[str, Any], options: dict[str, Any], device: str, progress: bool) -> dict[str, Any]:
    """Fine-tune the best checkpoint of ``source`` (a training cell's record) on its own labelled clips.

    The run's own splits and labels (its label fraction and seed) are used; the epoch with the best validation
    top-1 is scored once on test (:func:`core.evaluate.finetune.finetune_evaluation`).
    """
    batch_size = int(options.get("batch_size", 64))
    fold, seconds = _evaluate_source(
        source, device, progress, finetune=True, finetune_options=dict(options), batch_size=batch_size
    )
    return {
        "test_top1": float(fold["test"]["top1"]),
        "finetune_s": seconds,
        "finetune_steps": finetune_steps(fold["clips"]["train_labelled"], int(options.get("epochs", 5)), batch_size),
        "selected_epoch": fold.get("selection", {}).get("epoch"),
        "source_run": source["run_id"],
    }


def probe_cell(source: dict[str, Any], label_fraction: float, device: str, progress: bool) -> dict[str, Any]:
    """A linear probe of the best checkpoint of ``source`` (a training cell's record) at ``label_fraction``.

    The run's own splits and label seed, so the labelled clips are the ones a training run at that fraction and
    seed gets; the probe's weight decay is chosen on validation and the test split is scored once.
    """
    fold, seconds = _evaluate_source(source, device, progress, label_fraction=label_fraction)
    return {
        "test_top1": float(fold["test"]["top1"]),
        "valid_top1": float(fold["valid"]["top1"]) if "valid" in fold else None,
        "label_fraction": float(fold["label_fraction"]),
        "labelled": int(fold["clips"]["train_labelled"]),
        "test_clips": int(fold["clips"]["test"]),
        "probe_s": seconds,
        "source_run": source["run_id"],
    }


def baseline_cell(config: TrainConfig, progress: bool) -> dict[str, Any]:
    """The trivial baseline on exactly the splits and labelled clips of a run with ``config``.

    Logistic regression on the per-bin mean and std of the log-Mel (:func:`core.evaluate.baseline.mel_stats`),
    trained on the run's labelled training clips, ``C`` chosen on its validation clips, scored on its test clips.
    """
    from core.data.prepare import prepare_splits
    from core.evaluate.baseline import fit_baseline, mel_stats

    t0 = time.perf_counter()
    data = prepare_splits(config.data, progress=progress)
    parts = [data.train, data.valid, data.test]
    feats = np.concatenate([mel_stats(ds.waveforms, config.features.preset) for ds in parts])
    labels = np.concatenate([np.asarray(ds.labels, dtype=np.int64) for ds in parts])
    n_train, n_valid = len(data.train), len(data.valid)
    offsets = np.cumsum([0, n_train, n_valid, len(data.test)])
    train = np.flatnonzero(labels[: offsets[1]] >= 0)
    valid = np.arange(offsets[1], offsets[2]) if n_valid else None
    test = np.arange(offsets[2], offsets[3])
    result = fit_baseline(feats, labels, train, test, valid, label_fraction=1.0)
    return {**result.as_dict(), "test_top1": result.top1, "baseline_s": time.perf_counter() - t0}

"""How long will a run take, and what does each augmentation cost? Measured, not guessed.

:func:`estimate_run` decodes a small sample of the run's training clips, builds the run exactly as the trainer
would (model, frontend, augmentations, optimiser on the chosen device), times a few real optimiser steps after a
warm-up step, times the clean embedding of a batch and the probes the run will fit, and extrapolates to the whole
run from the split sizes of the file listing. It also times each augmentation of the run alone (applied to every
clip) and the feature extraction, in milliseconds per clip, so that a user sees what a choice costs before
spending an afternoon on it. ``bench/app.py`` compares the estimate with real epoch times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.config import TrainConfig
from core.data import default_num_samples, list_clips
from core.data.base import AudioDataset
from core.data.cache import load_waveforms
from core.data.prepare import SplitData, plan_splits
from core.probes import knn_probe, linear_probe
from core.regimes import get_regime
from core.train.loop import run_epoch
from core.train.schedule import run_length
from core.train.trainer import Trainer, check_batch_size


@dataclass
class Estimate:
    """A run's predicted duration and the measurements behind it (seconds unless named ``ms``).

    Attributes:
        seconds_per_step: one optimiser step (augment, features, forward, backward, update).
        steps_per_epoch: optimiser steps in one epoch.
        total_steps: optimiser steps in the whole run.
        epochs: epochs in the whole run.
        eval_seconds: one validation pass (clean embeddings and probes).
        eval_passes: validation passes in the whole run (every ``eval.every`` epochs, the last, and the test).
        total_seconds: the whole run: steps plus evaluation.
        augment_ms_per_clip: each augmentation alone (``p = 1``), per clip.
        features_ms_per_clip: the feature extraction (0 for waveform encoders), per clip.
        basis: what was measured, in words.
    """

    seconds_per_step: float
    steps_per_epoch: int
    total_steps: int
    epochs: int
    eval_seconds: float
    eval_passes: int
    total_seconds: float
    augment_ms_per_clip: dict[str, float] = field(default_factory=dict)
    features_ms_per_clip: float = 0.0
    basis: str = ""

    @property
    def epoch_seconds(self) -> float:
        """One full epoch of training steps, without evaluation."""
        return self.seconds_per_step * self.steps_per_epoch


def _median_time(fn: Any, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def estimate_run(config: TrainConfig, *, timed_steps: int = 3) -> Estimate:
    """Measure and extrapolate the duration of the run ``config`` describes (see the module docstring)."""
    d = config.data
    regime = get_regime(config.model.regime)
    clips = list_clips(d.dataset, d.root, task=d.task, version=d.version, fold=d.test_fold, seed=d.split_seed)
    plan = plan_splits(clips, d)
    sizes = plan["sizes"]
    check_batch_size(config, sizes)
    epoch_clips = sizes["train_labelled"] if regime.trains_on == "labelled" else sizes["train"]
    s = config.schedule
    steps_per_epoch, total_steps, epochs = run_length(epoch_clips, d.batch_size, s.epochs, s.steps)

    # A sample of the training clips, decoded now (not cached), big enough for a warm-up step and the timed ones.
    rng = np.random.default_rng(d.split_seed)
    labels = plan["train_labels"]
    pool = np.flatnonzero(labels >= 0) if regime.trains_on == "labelled" else np.arange(len(plan["train"]))
    n = min(len(pool), d.batch_size * (timed_steps + 1))
    pick = np.sort(rng.choice(pool, size=n, replace=False))
    index = plan["train"][pick]
    num_samples = d.num_samples or default_num_samples(d.dataset, clips)
    waves = load_waveforms(
        clips.name, clips.root, [clips.paths[i] for i in index], num_samples, use_cache=False, progress=False
    )
    sample = AudioDataset(
        clips.name, waves, labels[pick].copy(), list(clips.class_names), np.array(["train"] * n),
        [str(clips.paths[i]) for i in index],
    )  # fmt: skip
    batch = min(n, d.eval_batch_size)
    few = sample.subset(np.arange(batch))
    few.labels = np.maximum(few.labels, 0)
    data = SplitData(
        sample, few, few, list(clips.class_names), sizes={"train": n, "train_labelled": int((sample.labels >= 0).sum())}
    )
    trainer = Trainer(config, data=data, progress=False)
    trainer.fit_frontend()
    run_epoch(trainer, max_steps=1)  # warm-up: allocation, first-call costs
    timed = run_epoch(trainer, max_steps=timed_steps)
    seconds_per_step = timed["train/epoch_s"] / max(1, min(timed_steps, trainer.steps_per_epoch))

    # One validation pass: clean embeddings of the validation clips and of the probes' clips, then the probes.
    embed_s = _median_time(lambda: trainer.evaluator.outputs(trainer.net, trainer.valid_store), 2) / batch
    probe_n = min(config.eval.probe_clips, sizes["train_labelled"])
    eval_clips = sizes["valid"] + (probe_n if (config.eval.linear_probe or config.eval.knn) else 0)
    probe_s = 0.0
    if config.eval.linear_probe or config.eval.knn:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(probe_n, trainer.net.embed_dim, generator=g)
        y = torch.arange(probe_n) % len(clips.class_names)
        v = {"valid": (x[: max(1, sizes["valid"])], y[: max(1, sizes["valid"])])}
        t0 = time.perf_counter()
        if config.eval.linear_probe:
            linear_probe(x, y, v, num_classes=len(clips.class_names))
        if config.eval.knn:
            knn_probe(x, y, v, k=min(config.eval.knn_k, probe_n), num_classes=len(clips.class_names))
        probe_s = time.perf_counter() - t0
    eval_seconds = eval_clips * embed_s + probe_s if config.has_validation else 0.0
    eval_passes = (
        (epochs // config.eval.every + (1 if epochs % config.eval.every else 0)) if config.has_validation else 0
    )
    test_seconds = sizes["test"] * embed_s + probe_s
    total = total_steps * seconds_per_step + eval_passes * eval_seconds + test_seconds * (2 if eval_passes else 1)

    x = trainer.train_store.batch(torch.arange(min(n, d.batch_size)))
    augment_ms = {}
    chain = trainer.step.pipeline
    for aug in getattr(chain, "augmentations", []):
        always = type(aug)(**{**_kwargs(aug), "p": 1.0})
        augment_ms[aug.name] = 1000 * _median_time(lambda a=always: a(x, 0)) / x.shape[0]
    features_ms = 0.0
    if config.input_kind == "features":
        with torch.no_grad():
            features_ms = 1000 * _median_time(lambda: trainer.frontend(x)) / x.shape[0]
    device = str(trainer.device)
    basis = (
        f"{timed_steps} optimiser steps of {d.batch_size} clips timed on {device} after a warm-up step, on a sample "
        f"of {n} training clips; an epoch is {steps_per_epoch} steps ({epoch_clips} clips). Validation: "
        f"{eval_clips} clean clips embedded at {embed_s * 1000:.1f} ms each plus the probes' fit "
        f"({probe_s:.2f} s on {probe_n} clips), {_times(eval_passes)}; then the test split."
    )
    return Estimate(
        seconds_per_step=seconds_per_step,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
        epochs=epochs,
        eval_seconds=eval_seconds,
        eval_passes=eval_passes,
        total_seconds=total,
        augment_ms_per_clip=augment_ms,
        features_ms_per_clip=features_ms,
        basis=basis,
    )


def _kwargs(aug: Any) -> dict[str, Any]:
    """The constructor arguments of an augmentation, read back from its attributes."""
    import inspect

    out = {}
    for name in inspect.signature(type(aug).__init__).parameters:
        if name != "self" and hasattr(aug, name):
            out[name] = getattr(aug, name)
    return out


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")

"""Learning-rate schedule: linear warm-up, then cosine decay (or flat), stepped once per iteration."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR

from core.errors import ConfigError


def run_length(train_clips: int, batch_size: int, epochs: int, steps: int | None = None) -> tuple[int, int, int]:
    """A run's length: ``(steps_per_epoch, total_steps, total_epochs)``.

    An epoch is ``train_clips // batch_size`` full batches (the last partial batch is dropped); ``steps`` (the same
    compute for every regime) overrides ``epochs``, and the last epoch may then stop part-way.
    """
    per_epoch = train_clips // batch_size
    total = steps if steps is not None else epochs * per_epoch
    return per_epoch, total, (math.ceil(total / per_epoch) if total and per_epoch else 0)


def warmup_length(warmup_epochs: float, warmup_steps: int | None, steps_per_epoch: int, total_steps: int) -> int:
    """Optimiser steps of the linear warm-up, capped at the run's ``total_steps``.

    ``warmup_steps`` when set, else ``round(warmup_epochs * steps_per_epoch)``.
    """
    steps = warmup_steps if warmup_steps is not None else round(warmup_epochs * steps_per_epoch)
    return int(min(steps, total_steps))


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float, min_lr: float = 0.0, name: str = "cosine"):
    """The learning rate for optimiser step ``step`` (0-based; the rate used by the ``step``-th update).

    Warm-up: ``base_lr * (step + 1) / warmup_steps`` for ``step < warmup_steps``. Then cosine:
    ``min_lr + (base_lr - min_lr) * (1 + cos(pi * t)) / 2`` with ``t = (step - warmup) / (total - warmup)``
    clamped to [0, 1]; ``constant`` stays at ``base_lr``.
    """
    if total_steps < 1:
        raise ConfigError(f"schedule: total_steps={total_steps} must be at least 1")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if name == "constant":
        return base_lr
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, max(0.0, (step - warmup_steps) / span))
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    min_lr: float = 0.0,
    name: str = "cosine",
) -> LambdaLR:
    """A per-iteration ``LambdaLR`` following :func:`lr_at` for every parameter group.

    Args:
        optimizer: the optimiser; each group's peak rate is its ``lr`` when the scheduler is built.
        total_steps: optimiser steps of the whole run (0: a run that trains nothing).
        warmup_steps: steps of the linear warm-up (capped at ``total_steps``).
        min_lr: the floor of the group with the highest peak; every group ends at the same fraction of its peak.
        name: ``cosine`` or ``constant``.

    Call ``scheduler.step()`` after every ``optimizer.step()``. The state dict is plain numbers (safe to load with
    ``weights_only=True``).
    """
    if total_steps < 0 or warmup_steps < 0:
        raise ConfigError(f"schedule: total_steps={total_steps}, warmup_steps={warmup_steps} must be >= 0")
    total = max(1, int(total_steps))
    warmup = min(total, int(warmup_steps))
    top = max(float(g["lr"]) for g in optimizer.param_groups)
    floor = min_lr / top if top > 0 else 0.0
    lambdas = []
    for _ in optimizer.param_groups:

        def factor(step: int, floor: float = floor) -> float:
            return lr_at(step, total, warmup, 1.0, floor, name)

        lambdas.append(factor)
    return LambdaLR(optimizer, lambdas)

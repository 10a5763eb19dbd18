"""Checked probe inputs: features [N, D] and labels [N] (-1 unlabelled) as float32/int64 tensors on one device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.device import resolve_device
from core.errors import TrainingError

ArrayLike = Any  # numpy array or torch tensor
EvalSets = Mapping[str, tuple[ArrayLike, ArrayLike]]


def features(x: ArrayLike, device: torch.device, what: str) -> Tensor:
    """``x`` as float32 [N, D] on ``device``; TrainingError naming ``what`` if any value is not finite."""
    t = x.detach() if isinstance(x, Tensor) else torch.from_numpy(np.asarray(x))
    if t.dim() != 2:
        raise ValueError(f"{what}: features must be [N, D], got shape {tuple(t.shape)}")
    t = t.to(device=device, dtype=torch.float32)
    if not torch.isfinite(t).all():
        raise TrainingError(f"{what}: the embeddings contain NaN or infinite values (is the checkpoint corrupt?)")
    return t


def labels(y: ArrayLike, n: int, device: torch.device, what: str) -> Tensor:
    """``y`` as int64 [n] on ``device``, -1 for unlabelled rows; ValueError naming ``what`` otherwise."""
    t = y.detach() if isinstance(y, Tensor) else torch.from_numpy(np.asarray(y))
    t = t.reshape(-1).to(device=device, dtype=torch.long)
    if t.numel() != n:
        raise ValueError(f"{what}: {n} feature rows but {t.numel()} labels")
    if t.numel() and int(t.min()) < -1:
        raise ValueError(f"{what}: labels must be >= 0, or -1 for unlabelled")
    return t


def prepare(
    train_x: ArrayLike, train_y: ArrayLike, eval_sets: EvalSets, device: str | torch.device, num_classes: int | None
) -> tuple[Tensor, Tensor, dict[str, tuple[Tensor, Tensor]], int, torch.device]:
    """The labelled training rows, each evaluation set's labelled rows, the number of classes and the device."""
    dev = resolve_device(device)
    x = features(train_x, dev, "probe train set")
    y = labels(train_y, x.shape[0], dev, "probe train set")
    keep = y >= 0
    x, y = x[keep], y[keep]
    if y.numel() == 0:
        raise ValueError("probe train set: no labelled rows (every label is -1)")
    evals = {}
    top = int(y.max())
    for name, (ex, ey) in eval_sets.items():
        fx = features(ex, dev, f"probe eval set {name!r}")
        fy = labels(ey, fx.shape[0], dev, f"probe eval set {name!r}")
        if fx.shape[1] != x.shape[1]:
            raise ValueError(f"probe eval set {name!r}: {fx.shape[1]} features, train set has {x.shape[1]}")
        lab = fy >= 0
        fx, fy = fx[lab], fy[lab]
        if fy.numel() == 0:
            raise ValueError(f"probe eval set {name!r}: no labelled rows")
        top = max(top, int(fy.max()))
        evals[name] = (fx, fy)
    c = top + 1 if num_classes is None else int(num_classes)
    if c <= top:
        raise ValueError(f"probe: num_classes={num_classes} but a label is {top}")
    return x, y, evals, c, dev

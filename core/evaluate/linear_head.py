"""A fitted linear classifier on frozen embeddings, kept as plain tensors so it can be saved as ``probe.pt``.

``fit_linear_head`` fits ``core.evaluate.probes.fit_linear_probe`` (multinomial logistic regression on
standardised features, full-batch L-BFGS, objective ``mean cross-entropy + weight_decay / 2 * ||W||^2``, i.e.
scikit-learn's ``LogisticRegression(C=1 / (n * weight_decay))``) for each weight decay of a grid and keeps the
one with the best validation top-1 accuracy (ties go to the lower validation cross-entropy); the test split
is never looked at here.

A saved head is a small dict of tensors plus JSON-able values, read back with
``torch.load(weights_only=True)``: it never executes code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from core.errors import CheckpointError, ConfigError
from core.evaluate.probes import fit_linear_probe

PROBE_FORMAT_VERSION = 1
DEFAULT_WEIGHT_DECAYS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
"""Grid of L2 penalties (per-sample objective, see module docstring) searched on validation."""


@dataclass
class LinearHead:
    """``softmax(((x - mean) / std) @ weight.T + bias)`` over ``class_names``.

    Attributes:
        mean, std: float32 [D] standardisation statistics of the training features.
        weight: float32 [C, D]; bias: float32 [C].
        class_names: the C class names, indexed like the logits.
        meta: JSON-able provenance (checkpoint file, epoch, dataset, label fraction, selection, ...).
    """

    mean: Tensor
    std: Tensor
    weight: Tensor
    bias: Tensor
    class_names: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.weight.shape[1])

    def logits(self, x: Tensor | np.ndarray) -> Tensor:
        """Logits [N, C] for features ``x`` [N, D] (computed on the CPU in float32 unless ``x`` is a tensor)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ConfigError(f"linear head: expected features of shape [N, {self.dim}], got {tuple(x.shape)}")
        dev = x.device
        z = (x - self.mean.to(dev)) / self.std.to(dev)
        return z @ self.weight.to(dev).T + self.bias.to(dev)

    def predict_proba(self, x: Tensor | np.ndarray) -> Tensor:
        """Class probabilities [N, C]."""
        return torch.softmax(self.logits(x), dim=1)

    def state_dict(self) -> dict:
        return {
            "format_version": PROBE_FORMAT_VERSION,
            "mean": self.mean.detach().cpu().float(),
            "std": self.std.detach().cpu().float(),
            "weight": self.weight.detach().cpu().float(),
            "bias": self.bias.detach().cpu().float(),
            "class_names": list(self.class_names),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_state_dict(cls, state: dict, source: str = "probe") -> LinearHead:
        try:
            version = int(state["format_version"])
            if version != PROBE_FORMAT_VERSION:
                raise CheckpointError(f"{source}: probe format_version {version} is not supported")
            head = cls(
                mean=state["mean"].float(),
                std=state["std"].float(),
                weight=state["weight"].float(),
                bias=state["bias"].float(),
                class_names=[str(c) for c in state["class_names"]],
                meta=dict(state.get("meta") or {}),
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise CheckpointError(f"{source}: not a linear probe file ({e!r})") from None
        c, d = head.weight.shape
        if head.bias.shape != (c,) or head.mean.shape != (d,) or head.std.shape != (d,) or len(head.class_names) != c:
            raise CheckpointError(f"{source}: inconsistent probe shapes")
        return head

    def save(self, path: str | Path) -> Path:
        """Write atomically (temporary file, then rename) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinearHead:
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: probe file not found")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises several types for truncated or foreign files
            raise CheckpointError(f"{path}: cannot read probe ({type(e).__name__}: {e})") from None
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: not a linear probe file")
        return cls.from_state_dict(state, source=str(path))


def fit_linear_head(
    train_x: Tensor | np.ndarray,
    train_y: Tensor | np.ndarray,
    class_names: Sequence[str],
    valid_x: Tensor | np.ndarray | None = None,
    valid_y: Tensor | np.ndarray | None = None,
    *,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    max_iter: int = 100,
    device: str | torch.device = "cpu",
) -> tuple[LinearHead, dict]:
    """Fit a logistic-regression head on ``train_x`` [N, D] / ``train_y`` [N] (rows with label -1 are ignored).

    Each candidate is ``core.evaluate.probes.fit_linear_probe`` (full-batch L-BFGS, at most ``max_iter``
    iterations). With validation data, every weight decay in ``weight_decays`` is fitted and the one with the
    best validation top-1 accuracy is kept (ties: lower validation cross-entropy); without it (or with no
    labelled validation clip) the middle of the grid is used and the selection says so. Returns
    ``(head, selection)``: ``selection`` holds the chosen weight decay and every candidate's validation
    top-1 and cross-entropy.
    """
    num_classes = len(class_names)
    y = np.asarray(train_y, dtype=np.int64).reshape(-1)
    if not (y >= 0).any():
        raise ConfigError("linear probe: no labelled training clips")
    if int(y.max()) >= num_classes:
        raise ConfigError(f"linear probe: label {int(y.max())} out of range for {num_classes} classes")
    if not weight_decays:
        raise ConfigError("linear probe: the weight-decay grid is empty")
    vx = vy = None
    if valid_x is not None and valid_y is not None:
        vy = torch.as_tensor(np.asarray(valid_y, dtype=np.int64).reshape(-1))
        keep = vy >= 0
        vx = torch.as_tensor(np.asarray(valid_x), dtype=torch.float32)[keep]
        vy = vy[keep]
    have_valid = vy is not None and vy.numel() > 0
    candidates = list(weight_decays) if have_valid else [sorted(weight_decays)[len(weight_decays) // 2]]
    best, scores = None, []
    for wd in candidates:
        probe = fit_linear_probe(
            train_x, y, epochs=max_iter, weight_decay=float(wd), device=device, num_classes=num_classes
        ).cpu()
        key = (0.0, 0.0)
        if have_valid:
            with torch.no_grad():
                logits = probe(vx)
            acc = float((logits.argmax(1) == vy).double().mean())
            ce = float(F.cross_entropy(logits, vy))
            scores.append({"weight_decay": float(wd), "valid_top1": acc, "valid_ce": ce})
            key = (acc, -ce)
        if best is None or key > best[0]:
            best = (key, float(wd), probe)
    _, wd, probe = best
    head = LinearHead(
        mean=probe.mean.detach().clone(),
        std=probe.std.detach().clone(),
        weight=probe.linear.weight.detach().clone(),
        bias=probe.linear.bias.detach().clone(),
        class_names=[str(c) for c in class_names],
    )
    selection = {
        "weight_decay": wd,
        "selected_on": "valid" if have_valid else "none (no validation clips: middle of the grid)",
        "candidates": scores,
        "train_clips": int((y >= 0).sum()),
    }
    return head, selection

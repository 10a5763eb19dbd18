"""Supervised training: cross-entropy on one augmented view of each labelled clip."""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from core.losses import masked_cross_entropy
from core.models.heads import SupervisedHead
from core.regimes.base import LossSettings, Regime


class Supervised(Regime):
    """A classifier head (in -> hidden -> hidden -> classes) trained with cross-entropy on the labelled clips."""

    name = "supervised"
    views = 1
    trains_on = "labelled"
    has_classifier = True
    needs_classes = True
    default_monitor = "valid/head_acc"
    summary = "cross-entropy on one augmented view of each labelled clip"

    def build_head(
        self, embed_dim: int, num_classes: int | None, *, hidden_dim: int, proj_dim: int, proj_layers: int
    ) -> nn.Module:
        """A classifier head (in -> hidden -> hidden -> classes)."""
        return SupervisedHead(embed_dim, hidden_dim, int(num_classes or 0))

    def outputs(self, head: nn.Module, h: Tensor) -> dict[str, Tensor]:
        """``logits`` of ``h``."""
        return {"logits": head(h)}

    def loss(
        self, out: dict[str, Tensor], labels: Tensor, settings: LossSettings, distributed: bool = False
    ) -> tuple[Tensor, dict[str, float]]:
        """Cross-entropy over the labelled clips of the view."""
        loss, _ = masked_cross_entropy(out["logits"], labels)
        return loss, {"loss": float(loss.detach())}

    def train_indices(self, labels: np.ndarray) -> np.ndarray:
        """The labelled training clips."""
        return np.flatnonzero(np.asarray(labels) >= 0)


REGIME = Supervised()

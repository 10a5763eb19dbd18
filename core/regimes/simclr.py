"""SimCLR (Chen et al., 2020): NT-Xent between two augmented views of every clip; no labels are used in training."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.losses import contrastive_accuracy, nt_xent
from core.models.heads import ProjectionHead
from core.regimes.base import LossSettings, Regime, split_views


class SimCLR(Regime):
    """A projection head (``proj_layers`` linear layers to ``proj_dim``) trained with NT-Xent; a probe classifies."""

    name = "simclr"
    views = 2
    trains_on = "all"
    has_classifier = False
    needs_classes = False
    default_monitor = "valid/linear_acc"
    summary = "NT-Xent between two augmented views of every clip (labels unused)"

    def build_head(
        self, embed_dim: int, num_classes: int | None, *, hidden_dim: int, proj_dim: int, proj_layers: int
    ) -> nn.Module:
        """A projection head with ``proj_layers`` layers."""
        return ProjectionHead(embed_dim, hidden_dim, proj_dim, num_layers=proj_layers)

    def outputs(self, head: nn.Module, h: Tensor) -> dict[str, Tensor]:
        """``z`` of ``h``."""
        return {"z": head(h)}

    def loss(
        self, out: dict[str, Tensor], labels: Tensor, settings: LossSettings, distributed: bool = False
    ) -> tuple[Tensor, dict[str, float]]:
        """NT-Xent between the two views, with the contrastive top-1."""
        v1, v2 = split_views(out, 2)
        z1, z2 = v1["z"].float(), v2["z"].float()
        with torch.no_grad():
            acc = float(contrastive_accuracy(z1.detach(), z2.detach()))
        loss = nt_xent(z1, z2, temperature=settings.temperature, gather_distributed=distributed)
        value = float(loss.detach())
        return loss, {"loss": value, "contrastive": value, "contrastive_acc": acc}


REGIME = SimCLR()

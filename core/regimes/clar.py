"""CLAR (Al-Tahan & Mohsenzadeh, 2021): contrastive and supervised losses trained together.

CLAR (Al-Tahan & Mohsenzadeh, 2021): NT-Xent between two views plus cross-entropy on the labelled clips, trained
together, so that a small fraction of labels suffices.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.losses import clar_loss, contrastive_accuracy
from core.models.heads import ClarHead
from core.regimes.base import LossSettings, Regime, split_views


class Clar(Regime):
    """CLAR's regime: NT-Xent plus cross-entropy on the labelled clips.

    A projection (``proj_layers`` linear layers to ``z``) and a classifier on the un-normalised ``z``; loss ``w_c *
    NT-Xent + w_s * (CE(view 1) + CE(view 2))`` with the CE over labelled clips only.
    """

    name = "clar"
    views = 2
    trains_on = "all"
    has_classifier = True
    needs_classes = True
    default_monitor = "valid/head_acc"
    summary = "NT-Xent between two views of every clip plus cross-entropy on the labelled ones"

    def build_head(
        self, embed_dim: int, num_classes: int | None, *, hidden_dim: int, proj_dim: int, proj_layers: int
    ) -> nn.Module:
        """A :class:`ClarHead` with a ``proj_layers``-layer projection."""
        return ClarHead(embed_dim, hidden_dim, proj_dim, int(num_classes or 0), proj_layers=proj_layers)

    def outputs(self, head: nn.Module, h: Tensor) -> dict[str, Tensor]:
        """``z`` and ``logits`` of ``h``."""
        z, logits = head(h)
        return {"z": z, "logits": logits}

    def loss(
        self, out: dict[str, Tensor], labels: Tensor, settings: LossSettings, distributed: bool = False
    ) -> tuple[Tensor, dict[str, float]]:
        """``w_c * NT-Xent + w_s * (CE(view 1) + CE(view 2))``, with its parts."""
        v1, v2 = split_views(out, 2)
        z1, z2 = v1["z"].float(), v2["z"].float()
        with torch.no_grad():
            acc = float(contrastive_accuracy(z1.detach(), z2.detach()))
        loss, parts = clar_loss(
            z1,
            z2,
            v1["logits"].float(),
            v2["logits"].float(),
            labels,
            temperature=settings.temperature,
            w_c=settings.w_c,
            w_s=settings.w_s,
            gather_distributed=distributed,
        )
        logged = {"loss": float(loss.detach()), "contrastive_acc": acc}
        for k, v in parts.items():
            logged[k] = float(v.detach()) if isinstance(v, Tensor) else float(v)
        return loss, logged


REGIME = Clar()

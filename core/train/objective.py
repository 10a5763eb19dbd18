"""The training objective of each regime, on the model outputs of a batch of views (pure orchestration)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from core.train.config import LossConfig


def split_views(out: dict[str, Tensor], n_views: int) -> list[dict[str, Tensor]]:
    """Split a model output over ``n_views`` concatenated views into one dict per view."""
    parts: list[dict[str, Tensor]] = [{} for _ in range(n_views)]
    for key, value in out.items():
        if isinstance(value, Tensor) and value.ndim >= 1:
            for i, chunk in enumerate(value.chunk(n_views)):
                parts[i][key] = chunk
    return parts


def compute_loss(
    regime: str, out: dict[str, Tensor], labels: Tensor, cfg: LossConfig, distributed: bool = False
) -> tuple[Tensor, dict[str, float]]:
    """The loss of one step and its logged parts.

    Args:
        regime: ``supervised``: ``out`` holds one view of the batch; loss = mean CE over labelled clips.
            ``simclr``: ``out`` holds two views (view 1 first); loss = NT-Xent(z1, z2).
            ``clar``: two views; loss = ``w_c * NT-Xent + w_s * (CE(view 1) + CE(view 2))`` on labelled clips.
        out: model output dict (``z`` and/or ``logits``), views concatenated along the batch.
        labels: int64 [B] per clip (not per view); -1 = unlabelled.
        cfg: temperature and weights.
        distributed: gather NT-Xent negatives over all DDP ranks.

    Returns ``(loss, parts)`` where parts holds floats: ``loss``, and where defined ``contrastive``,
    ``supervised`` and ``contrastive_acc`` (top-1: the positive is the nearest of the 2B-1 other views).
    """
    from core import losses

    if regime == "supervised":
        logits = out["logits"]
        mask = labels >= 0
        loss = F.cross_entropy(logits[mask].float(), labels[mask]) if mask.any() else logits.sum() * 0.0
        return loss, {"loss": float(loss.detach())}
    v1, v2 = split_views(out, 2)
    z1, z2 = v1["z"].float(), v2["z"].float()
    with torch.no_grad():
        acc = float(losses.contrastive_accuracy(z1.detach(), z2.detach()))
    if regime == "simclr":
        loss = losses.nt_xent(z1, z2, temperature=cfg.temperature, gather_distributed=distributed)
        return loss, {"loss": float(loss.detach()), "contrastive": float(loss.detach()), "contrastive_acc": acc}
    loss, parts = losses.clar_loss(
        z1,
        z2,
        v1["logits"].float(),
        v2["logits"].float(),
        labels,
        temperature=cfg.temperature,
        w_c=cfg.w_c,
        w_s=cfg.w_s,
        gather_distributed=distributed,
    )
    logged = {"loss": float(loss.detach()), "contrastive_acc": acc}
    for k, v in parts.items():
        logged[k] = float(v.detach()) if isinstance(v, Tensor) else float(v)
    return loss, logged

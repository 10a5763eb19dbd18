"""The CLAR hybrid loss (Al-Tahan & Mohsenzadeh, 2021): contrastive plus supervised on the labelled rows.

``loss = w_c * NT-Xent(z1, z2) + w_s * (CE(logits1, y) + CE(logits2, y))``, where each CE is the mean over
the rows whose label is not -1 (unlabelled). A batch without any labelled row has a CE term of exactly 0
(the sum over zero rows divided by 1), so the loss never becomes NaN and the classifier's gradients are 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from core.losses.nt_xent import nt_xent

UNLABELLED = -1
"""The label of an unlabelled example."""


def masked_cross_entropy(logits: Tensor, labels: Tensor) -> tuple[Tensor, int]:
    """Mean cross-entropy of ``logits`` [N, C] over the rows with ``labels`` [N] != -1, and that row count.

    Exactly 0 (still attached to the graph) when no row is labelled. Computed in float32 at least.
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"cross-entropy: logits {tuple(logits.shape)} must be [N, C] and labels [N], got {tuple(labels.shape)}"
        )
    mask = labels != UNLABELLED
    safe = torch.where(mask, labels, torch.zeros_like(labels))
    n, lo, hi = (int(v) for v in torch.stack([mask.sum(), safe.min(), safe.max()]).tolist())  # one device sync
    if n and (lo < 0 or hi >= logits.shape[1]):
        raise ValueError(f"cross-entropy: labels must be -1 or in [0, {logits.shape[1]}), got values in [{lo}, {hi}]")
    rows = logits.to(torch.promote_types(logits.dtype, torch.float32))
    total = F.cross_entropy(rows, labels.long(), ignore_index=UNLABELLED, reduction="sum")
    return total / max(n, 1), n


def clar_loss(
    z1: Tensor,
    z2: Tensor,
    logits1: Tensor,
    logits2: Tensor,
    labels: Tensor,
    temperature: float = 0.5,
    w_c: float = 1.0,
    w_s: float = 1.0,
    gather_distributed: bool = False,
) -> tuple[Tensor, dict[str, Tensor | int]]:
    """CLAR loss for two views: ``(loss, {"nt_xent": Tensor, "ce": Tensor, "labelled": int})``.

    ``z1``, ``z2`` [N, D] are the un-normalised projections, ``logits1``, ``logits2`` [N, C] the class logits
    of the two views, ``labels`` [N] the class indices with -1 for unlabelled rows. ``ce`` is
    CE(view 1) + CE(view 2) (before the weight ``w_s``); ``labelled`` counts the labelled rows (local).
    ``gather_distributed`` is passed to :func:`nt_xent`; the CE is always over the local rows (DDP averages it).
    """
    contrastive = nt_xent(z1, z2, temperature=temperature, gather_distributed=gather_distributed)
    ce1, n = masked_cross_entropy(logits1, labels)
    ce2, _ = masked_cross_entropy(logits2, labels)
    ce = ce1 + ce2
    loss = w_c * contrastive + w_s * ce
    return loss, {"nt_xent": contrastive.detach(), "ce": ce.detach(), "labelled": n}

"""Power to decibels with a floor and an optional per-example dynamic-range clip."""

from __future__ import annotations

import torch
from torch import Tensor


def power_to_db_(power: Tensor, amin: float = 1e-10, top_db: float | None = 80.0) -> Tensor:
    """``10 * log10(max(power, amin))`` in dB (reference power 1), in place, for a batch [B, ...] of spectrograms.

    ``power`` is overwritten with its dB values (and returned). With ``top_db``, each example (first axis) is
    clipped from below at its own maximum minus ``top_db`` dB, which is what ``librosa.power_to_db(S, ref=1.0,
    amin=amin, top_db=top_db)`` does to one clip.
    """
    torch.clamp(power, min=amin, out=power).log10_().mul_(10.0)
    if top_db is not None:
        peak = power.flatten(1).amax(dim=1).view(-1, *([1] * (power.dim() - 1)))
        torch.maximum(power, peak - top_db, out=power)
    return power

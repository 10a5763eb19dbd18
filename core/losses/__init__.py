"""Losses as pure functions: NT-Xent (optionally over all DDP ranks), the CLAR hybrid loss, and helpers."""

from core.losses.clar import UNLABELLED, clar_loss, masked_cross_entropy
from core.losses.nt_xent import contrastive_accuracy, nt_xent

__all__ = ["UNLABELLED", "clar_loss", "contrastive_accuracy", "masked_cross_entropy", "nt_xent"]

"""Two independently augmented views of one batch, the input of a contrastive (SimCLR/CLAR) step."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from core.augment.base import as_cpu_generator, check_batch


def _shares_memory(a: Tensor, b: Tensor) -> bool:
    """Whether ``a`` and ``b`` live in the same storage (so writing into one could change the other)."""
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def two_views(
    x: Tensor,
    pipeline: Any,
    generator: torch.Generator | int | None = None,
    return_params: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Any, Any]:
    """Augment the batch ``x`` [B, T] twice, independently, with ``pipeline`` (an augmentation or a chain).

    The two views draw different parameters from the same generator, one after the other, so a seed
    reproduces both. They never share memory with each other or with ``x``, even where nothing was
    applied: writing into one view can change neither the other view nor the input.

    Returns:
        ``(view1, view2)``, or ``(view1, view2, params1, params2)`` when ``return_params`` is True.
    """
    check_batch(x)
    g = as_cpu_generator(generator)
    v1, p1 = pipeline(x, g, return_params=True)
    v2, p2 = pipeline(x, g, return_params=True)
    if _shares_memory(v1, x):
        v1 = v1.clone()
    if _shares_memory(v2, x) or _shares_memory(v2, v1):
        v2 = v2.clone()
    return (v1, v2, p1, p2) if return_params else (v1, v2)

"""NT-Xent (normalised temperature-scaled cross-entropy; SimCLR, Chen et al. 2020) and contrastive top-1.

For a batch of N pairs, the 2N views are ``v = [z1; z2]`` after L2 normalisation. View ``i`` has the
positive ``i + N`` (and ``i + N`` has ``i``); the other 2N - 2 views are negatives. With
``s_ij = v_i . v_j / temperature``::

    loss = 1/(2N) * sum_i [ -s_{i,p(i)} + log sum_{j != i} exp(s_ij) ]

Distributed (``gather_distributed=True`` with an initialised process group of world size W > 1): every rank
gathers all ranks' z with :class:`_AllGather` (whose backward sums the gradients back to the rank that owns
each row), so the negatives come from the global batch of M = sum_r N_r pairs.
Each rank computes the terms of its own 2 N_r rows against all 2M views, divided by 2M: ``L_r``, its share
of the global loss ``L = sum_r L_r``. The gradient that reaches rank r's parameters is then the gradient of
``L`` through rank r's rows only; DDP *averages* gradients over the W ranks, which would give ``dL/dθ / W``.
So each rank returns ``W * L_r``: after DDP averaging the gradient is exactly that of the global-batch loss,
and the mean of the returned values over ranks equals ``L``. Ranks may hold different N_r.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from core.errors import ConfigError


def _check(z1: Tensor, z2: Tensor, temperature: float) -> None:
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(f"nt_xent: z1 {tuple(z1.shape)} and z2 {tuple(z2.shape)} must both be [N, D]")
    if z1.shape[0] < 1:
        raise ValueError("nt_xent: empty batch")
    if not temperature > 0:
        raise ConfigError(f"loss.temperature={temperature}: must be > 0")


def _distributed_world() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


class _AllGather(torch.autograd.Function):
    """All ranks' ``x`` (equal shapes) stacked in rank order [W, ...]; the backward sums each rank's gradient.

    Rank r's rows feed every rank's loss, so their gradient is the sum over ranks of the gradient each rank computed
    for them: an all-reduce of the stacked gradients, of which rank r keeps its own slice. This replaces
    ``torch.distributed.nn.functional.all_gather`` (which torch marks deprecated), whose graph nodes also held the
    process group in reference cycles.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        import torch.distributed as dist

        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        import torch.distributed as dist

        total = grad.clone(memory_format=torch.contiguous_format)  # all_reduce writes in place
        dist.all_reduce(total)
        return total[dist.get_rank()]


def _gather_rows(x: Tensor) -> tuple[Tensor, int]:
    """All ranks' ``x`` [N_r, D] concatenated in rank order (gradients flow back), and this rank's offset."""
    import torch.distributed as dist

    world, rank = dist.get_world_size(), dist.get_rank()
    n = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    counts = [int(s.item()) for s in sizes]
    pad = max(counts) - x.shape[0]
    xp = F.pad(x, (0, 0, 0, pad)) if pad else x  # all_gather needs equal shapes
    parts = _AllGather.apply(xp)
    return torch.cat([p[:c] for p, c in zip(parts, counts, strict=True)]), sum(counts[:rank])


def _nt_xent_rows(views: Tensor, rows: Tensor, positives: Tensor, temperature: float) -> Tensor:
    """Sum over ``rows`` of the NT-Xent term of each row against every view in ``views`` (normalised)."""
    sim = views[rows] @ views.T / temperature  # [R, 2M]
    self_mask = torch.zeros_like(sim, dtype=torch.bool)
    self_mask[torch.arange(rows.numel(), device=sim.device), rows] = True
    sim = sim.masked_fill(self_mask, float("-inf"))
    return F.cross_entropy(sim, positives, reduction="sum")


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5, gather_distributed: bool = False) -> Tensor:
    """NT-Xent over the 2N views of ``z1``, ``z2`` [N, D] (un-normalised; normalised here). Returns a scalar.

    The similarity is computed in float32 at least (float64 stays float64), also under autocast.
    With ``gather_distributed`` and a process group of world size > 1, negatives come from all ranks and the
    value is scaled by the world size so that DDP's gradient averaging gives the global-batch gradient
    (see the module docstring); otherwise it is the plain local loss.
    """
    _check(z1, z2, temperature)
    dtype = torch.promote_types(z1.dtype, torch.float32)
    n = z1.shape[0]
    world = _distributed_world() if gather_distributed else 1
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z1 = F.normalize(z1.to(dtype), dim=1)
        z2 = F.normalize(z2.to(dtype), dim=1)
        if world == 1:
            views = torch.cat([z1, z2])
            rows = torch.arange(2 * n, device=z1.device)
            positives = torch.cat([rows[n:], rows[:n]])
            return _nt_xent_rows(views, rows, positives, temperature) / (2 * n)
        both, offset = _gather_rows(torch.cat([z1, z2], dim=1))  # one collective for both views
        g1, g2 = both.split(z1.shape[1], dim=1)
        m = g1.shape[0]
        views = torch.cat([g1, g2])
        local = torch.arange(offset, offset + n, device=z1.device)
        rows = torch.cat([local, local + m])
        positives = torch.cat([local + m, local])
        return world * _nt_xent_rows(views, rows, positives, temperature) / (2 * m)


@torch.no_grad()
def contrastive_accuracy(z1: Tensor, z2: Tensor) -> Tensor:
    """Top-1 contrastive accuracy over the 2N views.

    Top-1 contrastive accuracy over the 2N views: the fraction whose nearest other view (cosine) is its positive. A
    0-dim float tensor in [0, 1] on the input's device; computed on the local batch only.
    """
    _check(z1, z2, 1.0)
    dtype = torch.promote_types(z1.dtype, torch.float32)
    n = z1.shape[0]
    with torch.autocast(device_type=z1.device.type, enabled=False):
        views = F.normalize(torch.cat([z1, z2]).to(dtype), dim=1)
        sim = views @ views.T
    sim.fill_diagonal_(float("-inf"))
    idx = torch.arange(2 * n, device=views.device)
    positives = torch.cat([idx[n:], idx[:n]])
    return (sim.argmax(dim=1) == positives).to(dtype).mean()

"""Optional per-channel feature normalisation, with statistics fitted on training features and saved with the model.

Normalisation is an explicit choice: ``FeatureNormalizer("none")`` is the identity, ``FeatureNormalizer("channel")``
maps each channel c to ``(x_c - mean_c) / std_c`` with mean and std (in the channel's units: dB, radians, dB)
computed by :meth:`FeatureNormalizer.fit` over every value of that channel in the given batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from core.errors import ConfigError

MODES = ("none", "channel")


class FeatureNormalizer(nn.Module):
    """Per-channel standardisation of CLAR features [B, C, F, T] (C = 3 by default).

    Buffers (saved in ``state_dict``): ``mean`` [C], ``std`` [C] (float32) and ``count`` (float64, values
    seen per channel; 0 = not fitted). The mode is saved too (as the module's extra state).
    """

    def __init__(self, mode: str = "none", channels: int = 3, eps: float = 1e-5) -> None:
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"feature normalisation mode {mode!r}: unknown, choose one of {', '.join(MODES)}")
        self.mode = mode
        self.eps = float(eps)
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @property
    def fitted(self) -> bool:
        """True once :meth:`fit` has seen at least one value per channel."""
        return bool(self.count.item() > 0)

    @torch.no_grad()
    def fit(self, batches: Iterable[Tensor], progress: bool = False) -> FeatureNormalizer:
        """Compute per-channel mean and std over every value of every batch [B, C, F, T] (streaming).

        Each batch is reduced in float64 to (count, mean, M2), and batches are merged with Chan et al.'s
        pairwise update, so the result is stable however many values are seen. Returns self.
        """
        channels = self.mean.shape[0]
        n = torch.zeros((), dtype=torch.float64)
        mean = torch.zeros(channels, dtype=torch.float64)
        m2 = torch.zeros(channels, dtype=torch.float64)
        for batch in tqdm(batches, desc="feature statistics", disable=not progress):
            if batch.dim() != 4 or batch.shape[1] != channels:
                raise ConfigError(
                    f"FeatureNormalizer.fit: expected feature batches [B, {channels}, F, T], got {tuple(batch.shape)}"
                )
            b = batch.detach().to(torch.float64).transpose(0, 1).reshape(channels, -1)
            if not torch.isfinite(b).all():
                raise ConfigError("FeatureNormalizer.fit: a feature batch contains NaN or inf")
            nb = torch.tensor(float(b.shape[1]), dtype=torch.float64)
            if nb == 0:
                continue
            mb = b.mean(dim=1).cpu()
            m2b = ((b - b.mean(dim=1, keepdim=True)) ** 2).sum(dim=1).cpu()
            total = n + nb
            delta = mb - mean
            mean = mean + delta * (nb / total)
            m2 = m2 + m2b + delta**2 * (n * nb / total)
            n = total
        if n == 0:
            raise ConfigError("FeatureNormalizer.fit: no feature values were given")
        self.mean.copy_(mean.to(self.mean))
        self.std.copy_(torch.sqrt(m2 / n).to(self.std))
        self.count.fill_(float(n))
        return self

    def forward(self, x: Tensor) -> Tensor:
        """Features [B, C, F, T'] normalised per channel (unchanged with ``mode='none'``)."""
        if self.mode == "none":
            return x
        if not self.fitted:
            raise ConfigError("FeatureNormalizer('channel') is not fitted: call fit() on training features first")
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = self.mean.to(x.dtype).view(shape)
        std = self.std.to(x.dtype).view(shape).clamp_min(self.eps)
        return (x - mean) / std

    def get_extra_state(self) -> dict[str, Any]:
        """The mode and whether the statistics were fitted (saved in checkpoints)."""
        return {"mode": self.mode, "eps": self.eps}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_extra_state` saved."""
        mode = state.get("mode", "none")
        if mode not in MODES:
            raise ConfigError(f"feature normalisation mode {mode!r} in a saved state: unknown")
        self.mode = mode
        self.eps = float(state.get("eps", self.eps))

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        return f"mode={self.mode!r}, fitted={self.fitted}"

"""Time masking: one random segment of each clip replaced by low-level Gaussian noise or a constant."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.base import Augmentation, Params, draw_seeds, on_device, randint, seeded_normal
from core.errors import ConfigError

FILLS = ("noise", "constant")


class TimeMask(Augmentation):
    """Replace a segment of ``length`` samples starting at sample ``start`` of each selected clip.

    Args:
        p: probability that an example is masked.
        min_fraction, max_fraction: segment length range as fractions of the clip; the length in samples is
            drawn uniformly from the integers ceil(min_fraction * T) .. floor(max_fraction * T), the start
            uniformly from 0 .. T - length.
        fill: ``"noise"`` (Gaussian noise of std ``noise_std``, full scale 1.0) or ``"constant"`` (``value``).
        noise_std: standard deviation of the noise fill (linear amplitude).
        value: the constant fill.
        sample_rate: Hz (only reported; the segment is in samples).

    Parameters drawn per example: ``start`` and ``length`` (samples), ``seed`` (of the noise fill).
    """

    name: ClassVar[str] = "time_mask"

    def __init__(
        self,
        p: float = 0.5,
        max_fraction: float = 1 / 8,
        fill: str = "noise",
        noise_std: float = 0.01,
        value: float = 0.0,
        min_fraction: float = 0.0,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        super().__init__(p, sample_rate)
        if not 0.0 <= float(min_fraction) <= float(max_fraction) <= 1.0:
            raise ConfigError(
                f"time_mask: need 0 <= min_fraction ({min_fraction}) <= max_fraction ({max_fraction}) <= 1"
            )
        if fill not in FILLS:
            raise ConfigError(f"time_mask: fill={fill!r}, choose one of {', '.join(FILLS)}")
        if not (math.isfinite(noise_std) and noise_std >= 0):
            raise ConfigError(f"time_mask: noise_std={noise_std} must be a finite value >= 0")
        if not math.isfinite(value):
            raise ConfigError(f"time_mask: value={value} must be finite")
        self.min_fraction = float(min_fraction)
        self.max_fraction = float(max_fraction)
        self.fill = fill
        self.noise_std = float(noise_std)
        self.value = float(value)

    def _draw(self, x: Tensor, generator: torch.Generator) -> Params:
        b, t = x.shape
        hi = math.floor(self.max_fraction * t)
        lo = min(math.ceil(self.min_fraction * t - 1e-9), hi)
        length = randint(generator, b, lo, hi)
        start = (torch.rand(b, generator=generator, dtype=torch.float64) * (t - length + 1)).floor().to(torch.int64)
        start = torch.minimum(start, t - length)
        return {"start": start, "length": length, "seed": draw_seeds(b, generator)}

    def _apply(self, x: Tensor, params: Params) -> Tensor:
        active = params["length"] > 0
        if not bool(active.any()):
            return x.clone()
        # Work on a window of the longest segment only: column j of row b is sample start_b + j.
        t = x.shape[1]
        lmax = int(params["length"][active].max())
        length = on_device(params, "length", x)
        start = on_device(params, "start", x)
        j = torch.arange(lmax, device=x.device).unsqueeze(0)
        # columns past a row's segment repeat its own segment (j mod length), so that every write to one
        # sample carries the same value and scatter_ stays deterministic
        jj = torch.where(j < length, j, torch.remainder(j, length.clamp(min=1)))
        idx = (start + jj).clamp_(max=t - 1)
        if self.fill == "constant":
            fill = torch.full((1, 1), self.value, dtype=x.dtype, device=x.device)
        else:
            fill = torch.gather(seeded_normal(params["seed"], active, lmax, x) * self.noise_std, 1, jj)
        rows = active.to(x.device).reshape(-1, 1)
        vals = torch.where(rows, fill, torch.gather(x, 1, idx))
        return x.clone().scatter_(1, idx, vals)

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        fill = f"noise(std={self.noise_std})" if self.fill == "noise" else f"constant({self.value})"
        return f"p={self.p}, fraction={self.min_fraction:g}..{self.max_fraction:g}, fill={fill}"

"""Time stretch by a continuous rate per example, with the pitch kept (batched phase vocoder).

``method="stretch"`` (default, the paper's augmentation): the example is played ``rate`` times faster with its
pitch unchanged, so it lasts ``T / rate`` samples; the result is cropped (rate < 1) or zero-padded (rate > 1)
back to ``T`` samples. Rates are continuous: every example's phase is advanced at its own rate inside one
batched STFT, with no rate grid (so no quantisation error).

``method="resample"`` reproduces a DEFECT of the authors' code: the stretched signal (``T / rate`` samples) is
resampled back to ``T`` samples. That undoes the change of duration and instead scales every frequency by
``1 / rate``, i.e. it is a pitch shift of ``-12 * log2(rate)`` semitones, not a time stretch. It is offered only
to reproduce the authors' draws (the ``authors`` preset); do not use it as a time stretch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.base import Augmentation, Params, uniform
from core.augment.kernels.phase_vocoder import time_stretch
from core.augment.kernels.resample import resample_to_length
from core.errors import ConfigError

METHODS = ("stretch", "resample")


def stretch_batch(
    x: Tensor,
    rates: Tensor,
    method: str = "stretch",
    n_fft: int = 512,
    hop: int | None = None,
    phase_lock: bool = True,
) -> Tensor:
    """Time-stretch row ``b`` of ``x`` [B, T] by ``rates[b]`` (> 1 faster); returns a new [B, T] tensor.

    ``method`` as in the module docstring. Rows with rate 1 are copied unchanged.
    """
    if method not in METHODS:
        raise ConfigError(f"time_stretch: method={method!r} is unknown, choose one of {', '.join(METHODS)}")
    n, length = x.shape
    rates = torch.as_tensor(rates, dtype=torch.float64).reshape(-1).cpu()
    if rates.numel() != n or not bool(torch.all(rates > 0)):
        raise ConfigError(f"time_stretch: need one positive rate per example ({n})")
    y = x.clone()
    rows = torch.nonzero(rates != 1.0).flatten()
    if rows.numel() == 0 or length == 0:
        return y
    sub = rates[rows]
    rows_dev = rows.to(x.device)
    xs = x.index_select(0, rows_dev)
    if method == "stretch":
        out = time_stretch(xs, sub, length, n_fft=n_fft, hop=hop, phase_lock=phase_lock)
    else:
        lens = torch.round(length / sub).clamp(min=1)
        full = time_stretch(xs, sub, int(lens.max()), n_fft=n_fft, hop=hop, phase_lock=phase_lock)
        out = resample_to_length(full, lens, length)
    y[rows_dev] = out
    return y


class TimeStretch(Augmentation):
    """Change the tempo by a rate drawn per example from U[min_rate, max_rate]; rate > 1 is faster.

    Output length = input length (crop or zero-pad, see the module docstring). Reported parameter: ``rate``.

    Args:
        p: probability that an example is stretched.
        min_rate, max_rate: range of the rate (the paper: [0.5, 1.5]); positive.
        method: ``"stretch"`` (pitch kept, default) or ``"resample"`` (the authors' defect: a pitch change).
        sample_rate: sample rate in Hz (the stretch itself does not depend on it).
        n_fft: phase-vocoder frame size in samples (power of two; 512 = 32 ms at 16 kHz).
        hop: phase-vocoder hop in samples (default ``n_fft // 4``).
        phase_lock: identity phase locking in the vocoder (default): transients and phase coherence survive
            the stretch (click spacing is kept to within ~2 %, against ~10 % without); about 1.5x the vocoder's cost.
    """

    name = "time_stretch"

    def __init__(
        self,
        p: float = 0.5,
        min_rate: float = 0.5,
        max_rate: float = 1.5,
        method: str = "stretch",
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = 512,
        hop: int | None = None,
        phase_lock: bool = True,
    ) -> None:
        super().__init__(p=p, sample_rate=sample_rate)
        if not (0 < min_rate <= max_rate and math.isfinite(max_rate)):
            raise ConfigError(f"time_stretch: rate range [{min_rate}, {max_rate}] must satisfy 0 < min <= max")
        if min_rate < 0.05 or max_rate > 20:
            raise ConfigError(f"time_stretch: rate range [{min_rate}, {max_rate}] is outside [0.05, 20]")
        if method not in METHODS:
            raise ConfigError(f"time_stretch: method={method!r} is unknown, choose one of {', '.join(METHODS)}")
        hop = n_fft // 4 if hop is None else int(hop)
        if n_fft < 16 or n_fft & (n_fft - 1) or not 1 <= hop <= n_fft // 2:
            raise ConfigError(f"time_stretch: n_fft={n_fft} must be a power of two >= 16 and hop={hop} in [1, n_fft/2]")
        self.min_rate, self.max_rate, self.method = float(min_rate), float(max_rate), method
        self.n_fft, self.hop, self.phase_lock = int(n_fft), hop, bool(phase_lock)

    def _draw(self, x: Tensor, generator: torch.Generator) -> Params:
        return {"rate": uniform(generator, x.shape[0], self.min_rate, self.max_rate)}

    def _apply(self, x: Tensor, params: Params) -> Tensor:
        rates = params["rate"].cpu().double()
        return stretch_batch(x, rates, self.method, n_fft=self.n_fft, hop=self.hop, phase_lock=self.phase_lock)

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        return f"p={self.p}, rate=[{self.min_rate}, {self.max_rate}], method={self.method!r}, n_fft={self.n_fft}"

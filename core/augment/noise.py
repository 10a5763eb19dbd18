"""Coloured noise injection at a drawn signal-to-noise ratio (CLAR's "noise injection" augmentation).

Noise is made on the waveform's own device: white Gaussian noise is shaped in the frequency domain so its
power falls as 1/f**alpha (alpha = 0 white, 1 pink, 2 brown: 0, -3.01 and -6.02 dB per octave), the DC bin
is set to zero (so the noise has zero mean), and it is scaled to unit RMS. It is added, never clipped.

Signal level. The SNR is measured against the RMS of the clip's *non-silent* samples: the clip is cut into
10 ms frames (the last one may be shorter), and a frame is non-silent when its RMS is at least
``NON_SILENT_DB`` (-60 dB) relative to the RMS of the clip's loudest frame. The signal power is the mean of
x**2 over the samples of the non-silent frames. A clip whose loudest frame is below ``SILENCE_DBFS`` (-100 dBFS)
counts as silent; it gets noise at ``silent_level_db`` dBFS RMS instead (the drawn SNR is then unused).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.base import Augmentation, Params, draw_seeds, randint, seeded_normal, uniform
from core.errors import ConfigError

NOISE_COLORS: tuple[str, ...] = ("white", "pink", "brown")
"""Every noise colour, in the order of the integer ``color`` parameter; index = exponent alpha of 1/f**alpha."""

NON_SILENT_DB = -60.0
"""A 10 ms frame is non-silent when its RMS is at least this many dB relative to the loudest frame's RMS."""

SILENCE_DBFS = -100.0
"""A clip whose loudest 10 ms frame has an RMS below this (dB re full scale 1.0) is silent."""

SIGNAL_REFERENCES = ("non_silent", "all")

FRAME_SECONDS = 0.010
"""Frame length, in seconds, for the non-silent measurement."""


def non_silent_power(x: Tensor, sample_rate: int = SAMPLE_RATE, threshold_db: float = NON_SILENT_DB) -> Tensor:
    """Mean power of each clip's non-silent samples.

    Mean power (x**2, full scale 1.0) of each clip's non-silent samples, [B] float64 on the CPU (0 for an all-zero
    clip).

    See the module docstring for the definition of non-silent (10 ms frames, ``threshold_db`` re the loudest).
    Sums run in float64 (float32 on MPS, which has no float64).
    """
    b, t = x.shape
    frame = max(1, round(FRAME_SECONDS * sample_rate))
    nf = -(-t // frame)
    acc = torch.float32 if x.device.type == "mps" else torch.float64
    xx = x.square()
    if nf * frame != t:
        xx = torch.nn.functional.pad(xx, (0, nf * frame - t))
    xx = xx.reshape(b, nf, frame)
    counts = torch.full((nf,), float(frame), dtype=acc, device=x.device)
    counts[-1] = t - (nf - 1) * frame
    energy = xx.sum(dim=2).to(acc)  # [B, F]; 160-sample float32 sums are exact to ~1e-7
    power = energy / counts
    loud = power.amax(dim=1, keepdim=True)
    keep = power >= loud * 10.0 ** (threshold_db / 10.0)  # threshold_db = -inf keeps every frame
    kept_energy = (energy * keep).sum(dim=1)
    kept_count = (counts * keep).sum(dim=1).clamp(min=1.0)
    return (kept_energy / kept_count).cpu().to(torch.float64)


def colored_noise(white: Tensor, alpha: Tensor, rms: Tensor | None = None) -> Tensor:
    """Shape white noise [B, T] to a 1/f**alpha power spectrum (alpha [B], 0 white, 1 pink, 2 brown).

    The DC bin is zeroed (for white rows, by subtracting the mean; the others go through an FFT with gain
    k**(-alpha/2) on bin k). Each row is returned with zero mean and RMS ``rms[i]`` (linear, full scale 1.0;
    unit RMS when ``rms`` is None). Rows of zeros stay zero.
    """
    t = white.shape[1]
    y = white.to(torch.float32, copy=True)
    colored = torch.nonzero(alpha.cpu() > 0).flatten()
    if colored.numel():
        a = alpha.cpu()[colored]
        kinds, row_kind = torch.unique(a, return_inverse=True)
        k = torch.arange(t // 2 + 1, device=white.device, dtype=torch.float32).clamp(min=1.0)
        curves = torch.stack([k.pow(-float(v) / 2) for v in kinds.tolist()])  # one gain curve per alpha
        curves[:, 0] = 0.0
        gain = curves.index_select(0, row_kind.to(white.device))
        rows = colored.to(white.device)
        spec = torch.fft.rfft(y.index_select(0, rows), dim=1)
        y.index_copy_(0, rows, torch.fft.irfft(spec * gain, n=t, dim=1))
    y -= y.mean(dim=1, keepdim=True)
    target = 1.0 if rms is None else rms.to(device=white.device, dtype=torch.float32).reshape(-1, 1)
    scale = target / y.square().mean(dim=1, keepdim=True).sqrt().clamp(min=1e-30)
    return (y * scale).to(white.dtype)


class AddNoise(Augmentation):
    """Add white, pink or brown noise at an SNR drawn per example.

    Args:
        p: probability that an example gets noise.
        colors: colours to draw from uniformly (names from :data:`NOISE_COLORS`).
        min_snr_db, max_snr_db: SNR range in dB (signal = non-silent RMS, see the module docstring).
        integer_snr: draw whole-dB SNRs from the integers min..max (both included), as the authors' code
            (``torch.randint(0, 20)``: 0..19 dB); otherwise uniform in [min, max).
        silent_level_db: RMS of the noise added to a silent clip, in dBFS.
        signal: ``"non_silent"`` (the SNR reference is the RMS of the non-silent samples) or ``"all"`` (the RMS
            of the whole clip, silence included, as the authors' code; quieter clips then get quieter noise).
        sample_rate: Hz (sets the 10 ms frame of the non-silent measurement).

    Parameters drawn per example: ``color`` (index into :data:`NOISE_COLORS`), ``snr_db``, ``signal_db``
    (the measured non-silent RMS of the input, dBFS; -inf for an all-zero clip), ``noise_db`` (the RMS of the
    added noise, dBFS), ``seed`` (of the example's noise).
    """

    name: ClassVar[str] = "noise"

    def __init__(
        self,
        p: float = 0.5,
        colors: Sequence[str] = NOISE_COLORS,
        min_snr_db: float = 0.0,
        max_snr_db: float = 20.0,
        integer_snr: bool = False,
        silent_level_db: float = -60.0,
        signal: str = "non_silent",
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        super().__init__(p, sample_rate)
        if isinstance(colors, str):
            colors = [c.strip() for c in colors.split(",") if c.strip()]
        unknown = [c for c in colors if c not in NOISE_COLORS]
        if unknown or not colors:
            raise ConfigError(f"noise: colors {list(colors)!r} must be a non-empty subset of {', '.join(NOISE_COLORS)}")
        if not (math.isfinite(min_snr_db) and math.isfinite(max_snr_db)) or min_snr_db > max_snr_db:
            raise ConfigError(f"noise: SNR range [{min_snr_db}, {max_snr_db}] dB is empty or not finite")
        if integer_snr and math.floor(max_snr_db) < math.ceil(min_snr_db):
            raise ConfigError(f"noise: no whole dB value in [{min_snr_db}, {max_snr_db}] for integer_snr")
        if not math.isfinite(silent_level_db) or silent_level_db > 0:
            raise ConfigError(f"noise: silent_level_db={silent_level_db} must be a finite level <= 0 dBFS")
        if signal not in SIGNAL_REFERENCES:
            raise ConfigError(f"noise: signal={signal!r}, choose one of {', '.join(SIGNAL_REFERENCES)}")
        self.signal = signal
        self.colors = tuple(dict.fromkeys(colors))
        self._color_ids = torch.tensor([NOISE_COLORS.index(c) for c in self.colors], dtype=torch.int64)
        self.min_snr_db = float(min_snr_db)
        self.max_snr_db = float(max_snr_db)
        self.integer_snr = bool(integer_snr)
        self.silent_level_db = float(silent_level_db)

    def _draw(self, x: Tensor, generator: torch.Generator) -> Params:
        b = x.shape[0]
        color = self._color_ids[randint(generator, b, 0, len(self.colors) - 1)]
        if self.integer_snr:
            snr = randint(generator, b, math.ceil(self.min_snr_db), math.floor(self.max_snr_db)).to(torch.float64)
        else:
            snr = uniform(generator, b, self.min_snr_db, self.max_snr_db)
        seeds = draw_seeds(b, generator)
        threshold = NON_SILENT_DB if self.signal == "non_silent" else -math.inf
        signal_db = 10.0 * torch.log10(non_silent_power(x.detach(), self.sample_rate, threshold))
        silent = ~(signal_db >= SILENCE_DBFS)
        noise_db = torch.where(silent, torch.full_like(signal_db, self.silent_level_db), signal_db - snr)
        return {"color": color, "snr_db": snr, "signal_db": signal_db, "noise_db": noise_db, "seed": seeds}

    def _apply(self, x: Tensor, params: Params) -> Tensor:
        white = seeded_normal(params["seed"], torch.ones(x.shape[0], dtype=torch.bool), x.shape[1], x)
        rms = torch.pow(10.0, params["noise_db"].to(torch.float64) / 20.0)
        return x + colored_noise(white, params["color"], rms)

    def describe(self, params: Params) -> list[dict[str, Any]]:
        """One plain dict per example, with the colour by name and the SNR in dB."""
        out = super().describe(params)
        for d in out:
            d["color"] = NOISE_COLORS[int(d["color"])]
            if not math.isfinite(d["signal_db"]):
                d["signal_db"] = None  # an all-zero clip; JSON has no -inf
        return out

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        snr = f"{self.min_snr_db:g}..{self.max_snr_db:g} dB" + (" (whole dB)" if self.integer_snr else "")
        level = f"signal={self.signal!r}, silent_level_db={self.silent_level_db}"
        return f"p={self.p}, colors={self.colors}, snr={snr}, {level}"

"""Band-limited resampling of waveform batches: rational polyphase (conv1d) and per-example ratios (gather).

Two kernels:

* :func:`resample_poly` resamples a batch by one rational ratio ``up/down`` (output samples per input sample)
  with a Kaiser-windowed sinc. It is a single strided ``conv1d`` whose ``up`` output channels are the
  polyphase branches; the kernel is cached per ``(up, down, zeros, rolloff, device, dtype)``.
* :func:`resample_to_length` maps each example ``b`` of length ``lengths[b]`` onto ``out_len`` samples, a
  different (irrational) ratio per example, by evaluating the windowed sinc at every output position (a
  gathered, chunked dot product). It serves the authors' resampling time stretch, where rates are continuous.

:func:`rational_approx` picks the simplest fraction ``p/q`` within a tolerance in cents of a ratio, by a
Stern-Brocot descent (every node visited is a best approximation; the first one inside the tolerance interval
has the smallest denominator of all fractions in it).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from core.augment.kernels.masks import prefix_mask
from core.errors import ConfigError

DEFAULT_ZEROS = 16
"""Half-width of the sinc kernel, in zero crossings of the low-pass filter."""
DEFAULT_ROLLOFF = 0.94
"""Cut-off of the anti-aliasing low-pass, as a fraction of the lower of the two Nyquist frequencies."""
KAISER_BETA = 8.6
"""Kaiser window shape (about 80 dB stop-band attenuation)."""


def cents(ratio: float, reference: float) -> float:
    """Interval from ``reference`` to ``ratio`` in cents (1200 * log2(ratio / reference))."""
    return 1200.0 * math.log2(ratio / reference)


def rational_approx(ratio: float, max_cents: float = 1.0, max_denominator: int = 10_000) -> tuple[int, int]:
    """The fraction ``p/q`` with the smallest denominator whose interval to ``ratio`` is under ``max_cents``.

    Stern-Brocot descent towards ``ratio``; the first mediant strictly inside the tolerance interval is the
    simplest fraction in it. Raises ConfigError for a non-positive ratio or tolerance, or when no fraction with
    denominator <= ``max_denominator`` is close enough.
    """
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ConfigError(f"rational_approx: ratio must be a positive finite number, got {ratio}")
    if not max_cents > 0:
        raise ConfigError(f"rational_approx: max_cents must be > 0, got {max_cents}")
    lo_p, lo_q, hi_p, hi_q = 0, 1, 1, 0
    while True:
        p, q = lo_p + hi_p, lo_q + hi_q
        if q > max_denominator:
            raise ConfigError(
                f"rational_approx: no fraction with denominator <= {max_denominator} lies within {max_cents} cents "
                f"of {ratio}"
            )
        if abs(cents(p / q, ratio)) < max_cents:
            return p, q
        if p < ratio * q:
            lo_p, lo_q = p, q
        else:
            hi_p, hi_q = p, q


def _kaiser(u: Tensor, beta: float = KAISER_BETA) -> Tensor:
    """Kaiser window evaluated at ``u`` in [-1, 1] (0 outside)."""
    arg = torch.clamp(1.0 - u * u, min=0.0)
    w = torch.special.i0(beta * torch.sqrt(arg)) / torch.special.i0(torch.tensor(beta, dtype=u.dtype))
    return torch.where(u.abs() <= 1.0, w, torch.zeros_like(w))


def _windowed_sinc(tau: Tensor, cutoff: Tensor | float, zeros: int) -> Tensor:
    """Low-pass interpolation kernel at offsets ``tau`` (input samples) for a cut-off in cycles/sample * 2.

    ``cutoff`` is the normalised cut-off (1 = input Nyquist); the kernel has unit DC gain when summed over
    integer offsets and spans ``zeros`` zero crossings on each side.
    """
    return cutoff * torch.sinc(cutoff * tau) * _kaiser(tau * cutoff / zeros)


@lru_cache(maxsize=256)
def polyphase_kernel(
    up: int, down: int, zeros: int, rolloff: float, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, int]:
    """Conv1d weight [up, 1, down + 2W] of the polyphase resampler by ``up/down``, and the left padding W.

    Output sample ``k = m*up + j`` sits at input time ``t = m*down + j*down/up``; branch ``j`` holds the
    windowed sinc at ``j*down/up - s`` for input offsets ``s`` in ``[-W, down + W)``.
    """
    cutoff = rolloff * min(1.0, up / down)
    width = math.ceil(zeros / cutoff)
    j = torch.arange(up, dtype=torch.float64)[:, None]
    s = torch.arange(-width, down + width, dtype=torch.float64)[None, :]
    tau = j * down / up - s
    kernel = _windowed_sinc(tau, cutoff, zeros)
    return kernel[:, None, :].to(device=device, dtype=dtype).contiguous(), width


def resample_poly(
    x: Tensor,
    up: int,
    down: int,
    out_len: int | None = None,
    zeros: int = DEFAULT_ZEROS,
    rolloff: float = DEFAULT_ROLLOFF,
) -> Tensor:
    """Resample every row of ``x`` [B, L] by ``up/down`` (output samples per input sample).

    Output length ``out_len`` (default ``ceil(L * up / down)``); samples past the input's end read zeros, and a
    longer request is zero-padded. One strided conv1d over the whole batch.
    """
    if up < 1 or down < 1:
        raise ConfigError(f"resample_poly: up={up} and down={down} must be positive integers")
    g = math.gcd(up, down)
    up, down = up // g, down // g
    n, length = x.shape
    if out_len is None:
        out_len = math.ceil(length * up / down)
    if n == 0 or out_len == 0:
        return x.new_zeros(n, out_len)
    if up == down == 1:
        return F.pad(x, (0, max(0, out_len - length)))[:, :out_len].clone()
    kernel, width = polyphase_kernel(up, down, zeros, float(rolloff), x.device, x.dtype)
    frames = math.ceil(out_len / up)
    need = (frames - 1) * down + kernel.shape[-1]
    xp = F.pad(x, (width, max(0, need - width - length)))[:, :need]
    y = F.conv1d(xp[:, None, :], kernel, stride=down)  # [B, up, frames]
    return y.transpose(1, 2).reshape(n, frames * up)[:, :out_len]


TABLE_OVERSAMPLING = 512
"""Points per zero crossing of the tabulated windowed sinc used by :func:`resample_to_length`."""


@lru_cache(maxsize=32)
def sinc_table(zeros: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``sinc(u) * kaiser(u / zeros)`` for ``u`` from -zeros to zeros in steps of 1/TABLE_OVERSAMPLING."""
    u = torch.linspace(-zeros, zeros, 2 * zeros * TABLE_OVERSAMPLING + 1, dtype=torch.float64)
    return _windowed_sinc(u, 1.0, zeros).to(device=device, dtype=dtype)


def resample_to_length(
    x: Tensor,
    lengths: Tensor,
    out_len: int,
    zeros: int = DEFAULT_ZEROS,
    rolloff: float = DEFAULT_ROLLOFF,
    max_elements: int = 1 << 23,
) -> Tensor:
    """Resample row ``b`` of ``x`` [B, L] (its first ``lengths[b]`` samples) onto exactly ``out_len`` samples.

    Each row gets its own ratio ``out_len / lengths[b]``; output sample ``k`` is the band-limited value at input
    time ``k * lengths[b] / out_len``. Works in chunks of output samples so that at most ``max_elements``
    gathered taps are held at once.
    """
    n, length = x.shape
    if n == 0 or out_len == 0:
        return x.new_zeros(n, out_len)
    fdt = torch.float32 if x.device.type == "mps" else torch.float64  # MPS has no float64
    lengths = lengths.to(device=x.device, dtype=fdt).clamp(min=1.0)
    step = lengths / out_len  # input samples per output sample [B]
    cutoff = rolloff * torch.clamp(1.0 / step, max=1.0)  # [B]
    width = math.ceil(zeros / float(cutoff.min()))
    taps = torch.arange(-width + 1, width + 1, device=x.device)  # [K]
    # zero outside each row's valid part, and pad so that every tap index is in range
    xp = F.pad(x * prefix_mask(lengths, length, x.dtype, x.device), (width, width + 1))
    chunk = max(1, max_elements // max(1, n * taps.numel()))
    table = sinc_table(zeros, x.device, x.dtype)
    cutoff_x = cutoff.to(x.dtype)
    out = []
    for k0 in range(0, out_len, chunk):
        k = torch.arange(k0, min(out_len, k0 + chunk), device=x.device, dtype=fdt)
        t = k[None, :] * step[:, None]  # [B, C] input time
        base = torch.floor(t)
        idx = base.long()[:, :, None] + taps  # [B, C, K]
        tau = (t - base)[:, :, None] - taps  # t - idx
        # kernel value by linear interpolation in the table, at u = tau * cutoff (in zero crossings)
        u = ((tau * cutoff[:, None, None]).to(x.dtype) + zeros) * TABLE_OVERSAMPLING
        i = torch.clamp(u.floor(), 0, table.numel() - 2)
        frac = u - i
        i = i.long()
        w = torch.lerp(table[i], table[i + 1], frac) * cutoff_x[:, None, None]
        g = torch.gather(xp, 1, (idx + width).clamp(0, xp.shape[1] - 1).reshape(n, -1)).reshape(idx.shape)
        out.append((g * w).sum(-1))
    return torch.cat(out, dim=1)

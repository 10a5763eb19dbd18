"""A Hann-windowed DFT at arbitrary frequencies, computed from short block DFTs (the ``official`` STFT channel).

The direct form (:func:`core.features.logfreq.logfreq_dft`) costs ``n_fft`` multiply-adds per frequency and frame.
With a periodic Hann window as long as the frame (``win_length == n_fft = N``) and a hop ``h`` that divides ``N``
into a power of two ``J = N / h`` of blocks, two identities cut that by about 5x:

* the window is three complex exponentials, ``w[n] = 1/2 - 1/4 e^{2 pi i n/N} - 1/4 e^{-2 pi i n/N}``, so the
  windowed DFT at ``f`` is ``X(f) = R(f)/2 - R(f - sr/N)/4 - R(f + sr/N)/4``, with ``R`` the rectangular-window
  DFT of the same frame;
* a frame is ``J`` consecutive blocks of ``h`` samples, and frame ``t`` starts at block ``t``, so
  ``R_t(g) = sum_j phi(g)^j B_{t+j}(g)`` with ``B_b(g)`` the DFT of block ``b`` at ``g`` and
  ``phi(g) = e^{-2 pi i g h / sr}``.

So one matmul gives every block's DFT at the ``3K`` frequencies ``f, f - sr/N, f + sr/N`` (each block once, not
``J`` times), and the sum over ``J`` blocks takes ``log2 J`` doubling steps
(``S_{2m}(t) = S_m(t) + phi^m S_m(t + m)``). Exact in exact arithmetic; in float32 it stays within 1e-3 dB and
1e-4 rad of the float64 DFT, as the direct form does (tests). Measured 2.0x faster than the direct form on the
``official`` preset (64 clips of 1 s, one thread, 2-core AMD EPYC).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def block_tables(freqs: np.ndarray, n_fft: int, hop: int, sample_rate: int) -> tuple[Tensor, Tensor] | None:
    """``(basis, phis)`` for :func:`block_dft` (float64), or None when the block form does not apply.

    ``basis`` [hop, 6K]: columns ``cos, -sin`` interleaved for each of the ``3K`` frequencies ``f``, ``f - sr/N``,
    ``f + sr/N`` (block DFT, samples counted from the block start). ``phis`` [log2 J, 3K, 2]: ``phi(g)^(2^s)`` as
    (re, im), the factor of doubling step ``s``. None unless ``n_fft % hop == 0`` and ``n_fft / hop`` is a power of 2.
    """
    if n_fft % hop or (n_fft // hop) & (n_fft // hop - 1):
        return None
    f = np.asarray(freqs, dtype=np.float64)
    g = np.concatenate([f, f - sample_rate / n_fft, f + sample_rate / n_fft])
    arg = 2.0 * np.pi * np.mod(np.outer(np.arange(hop), g) / sample_rate, 1.0)
    basis = np.stack([np.cos(arg), -np.sin(arg)], axis=-1).reshape(hop, 2 * g.size)
    phis = []
    cycles = np.mod(g * hop / sample_rate, 1.0)  # phi(g) = exp(-2 pi i cycles)
    for _ in range(int(math.log2(n_fft // hop))):
        phis.append(np.stack([np.cos(2 * np.pi * cycles), -np.sin(2 * np.pi * cycles)], axis=-1))
        cycles = np.mod(2 * cycles, 1.0)
    return torch.from_numpy(basis), torch.from_numpy(np.stack(phis))


def block_dft(x: Tensor, basis: Tensor, phis: Tensor, n_fft: int, hop: int, center: bool, out: Tensor) -> Tensor:
    """The Hann-windowed DFT of every frame of ``x`` [B, T] at ``K`` frequencies, written into ``out`` [B, 2, K, F].

    ``out[:, 0]`` gets the real parts and ``out[:, 1]`` the imaginary parts, frequency-major (contiguous planes),
    for frames ``t = 0 .. F-1`` of ``n_fft`` samples at ``t * hop`` (after ``n_fft // 2`` zeros on both sides when
    ``center``). ``basis`` and ``phis`` from :func:`block_tables`, in ``x``'s dtype. Returns ``out``.
    """
    batch, frames, k = x.shape[0], out.shape[-1], out.shape[-2]
    blocks = frames - 1 + n_fft // hop
    xp = torch.nn.functional.pad(x, (n_fft // 2, n_fft // 2)) if center else x
    spec = torch.matmul(xp[:, : blocks * hop].reshape(batch, blocks, hop), basis)  # [B, blocks, 6K]
    s = torch.view_as_complex(spec.view(batch, blocks, 3 * k, 2))
    step = 1
    for phi in phis:  # S_{2m}(t) = S_m(t) + phi^m S_m(t + m)
        s = torch.addcmul(s[:, : s.shape[1] - step], torch.view_as_complex(phi), s[:, step:])
        step *= 2
    parts = torch.view_as_real(s[:, :frames])  # [B, F, 3K, 2]
    window = parts[:, :, :k].mul(0.5)  # X = R(f)/2 - R(f - sr/N)/4 - R(f + sr/N)/4
    window.add_(parts[:, :, k : 2 * k], alpha=-0.25).add_(parts[:, :, 2 * k :], alpha=-0.25)
    out.copy_(window.permute(0, 3, 2, 1))
    return out

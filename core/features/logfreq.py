"""DFT of windowed frames at log-spaced frequencies (nnAudio ``STFT(freq_scale="log")``, used by the CLAR code).

Frequencies follow nnAudio's ``create_fourier_kernels`` (KinWaiCheuk/nnAudio, Installation/nnAudio/utils.py,
branch ``freq_scale == "log"``; the CLAR authors ship the same function in their ``Spectrograms.py``)::

    start_bin = fmin * n_fft / sr;  scaling_ind = log(fmax / fmin) / freq_bins
    f_k = exp(k * scaling_ind) * start_bin * sr / n_fft = fmin * (fmax / fmin) ** (k / freq_bins),  k = 0..bins-1

so with fmin 40, fmax 8000 and 128 bins the top bin is 40 * 200 ** (127/128) = 7675.6 Hz. Bin k of frame t is

    X_t(f_k) = sum_{n=0}^{n_fft-1} w[n] x[t*hop - n_fft//2 + n] exp(-2j*pi*f_k*n/sr)

(w = the window centred in the n_fft frame, x zero outside the clip when centred), i.e. nnAudio's
``conv1d`` with ``window * cos`` and ``window * sin`` kernels, real part ``sum w x cos``, imaginary part
``-sum w x sin``. We compute it as one matmul of the frames (a strided view, only the ``win_length`` samples
under the window) with a [win_length, 2K] cos/sin kernel.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def log_frequencies(fmin: float, fmax: float, n_bins: int) -> np.ndarray:
    """nnAudio's log-spaced frequencies (Hz), float64: ``fmin * (fmax/fmin) ** (k / n_bins)``, k = 0..n_bins-1."""
    step = math.log(fmax / fmin) / n_bins
    return fmin * np.exp(np.arange(n_bins) * step)


def dft_kernel(freqs: np.ndarray, window: np.ndarray, offset: int, sample_rate: int) -> np.ndarray:
    """Windowed DFT kernel [len(window), 2K] (float64): columns ``w*cos`` then ``-w*sin`` at ``freqs`` (Hz).

    ``offset`` is the index of the window's first sample inside the n_fft frame (n counts from the frame
    start), so that phases match a DFT of the whole zero-padded frame.
    """
    n = offset + np.arange(window.shape[0], dtype=np.float64)
    # reduce f*n/sr modulo 1 in float64 before the trig functions, for accuracy at large n
    cycles = np.mod(np.outer(n, freqs) / sample_rate, 1.0)
    arg = 2.0 * np.pi * cycles
    return np.concatenate([window[:, None] * np.cos(arg), -window[:, None] * np.sin(arg)], axis=1)


def frames(x: Tensor, frame_length: int, hop_length: int, pad: int, offset: int, n_frames: int) -> Tensor:
    """Strided view of frames [B, n_frames, frame_length] of ``x`` [B, T] padded with ``pad`` zeros each side.

    Frame t starts at padded index ``t * hop_length + offset``.
    """
    xp = torch.nn.functional.pad(x, (pad, pad)) if pad else x
    xp = xp[..., offset : offset + (n_frames - 1) * hop_length + frame_length]
    return xp.unfold(-1, frame_length, hop_length)


def logfreq_dft(x: Tensor, kernel: Tensor, n_fft: int, hop_length: int, offset: int, center: bool = True) -> Tensor:
    """Complex DFT at the kernel's K frequencies: ``x`` [B, T] -> [B, K, frames].

    ``kernel`` is :func:`dft_kernel` as a tensor [win_length, 2K] on x's device and dtype.
    """
    win_length = kernel.shape[0]
    pad = n_fft // 2 if center else 0
    n_frames = 1 + (x.shape[-1] + 2 * pad - n_fft) // hop_length
    fr = frames(x, win_length, hop_length, pad, offset, n_frames)
    out = torch.matmul(fr, kernel)  # [B, frames, 2K]
    k = kernel.shape[1] // 2
    return torch.complex(out[..., :k], out[..., k:]).transpose(-1, -2)

"""DFT of windowed frames at log-spaced frequencies (nnAudio ``STFT(freq_scale="log")``, used by the CLAR code).

Frequencies follow nnAudio's ``create_fourier_kernels`` (KinWaiCheuk/nnAudio, Installation/nnAudio/utils.py,
branch ``freq_scale == "log"``; the CLAR authors ship the same function in their ``Spectrograms.py``)::

    start_bin = fmin * n_fft / sr;  scaling_ind = log(fmax / fmin) / freq_bins
    f_k = exp(k * scaling_ind) * start_bin * sr / n_fft = fmin * (fmax / fmin) ** (k / freq_bins),  k = 0..bins-1

so with fmin 40, fmax 8000 and 128 bins the top bin is 40 * 200 ** (127/128) = 7675.6 Hz. Bin k of frame t is

    X_t(f_k) = sum_{n=0}^{n_fft-1} w[n] x[t*hop - n_fft//2 + n] exp(-2j*pi*f_k*n/sr)

(w = the window centred in the n_fft frame, x zero outside the clip when centred), i.e. nnAudio's
``conv1d`` with ``window * cos`` and ``window * sin`` kernels, real part ``sum w x cos``, imaginary part
``-sum w x sin``. We compute it as one strided ``conv1d`` of the padded waveforms with the [2K, 1, win_length]
cos/sin kernels (only the ``win_length`` samples under the window).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def log_frequencies(fmin: float, fmax: float, n_bins: int) -> np.ndarray:
    """NnAudio's log-spaced frequencies (Hz), float64: ``fmin * (fmax/fmin) ** (k / n_bins)``, k = 0..n_bins-1."""
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


def logfreq_dft(
    x: Tensor, weight: Tensor, n_fft: int, hop_length: int, offset: int, center: bool = True
) -> tuple[Tensor, Tensor]:
    """DFT at K frequencies of every frame: ``x`` [B, T] -> (real, imaginary), each [B, K, frames].

    ``weight`` is the conv1d form of :func:`dft_kernel`: [2K, 1, win_length] (rows ``w*cos`` then ``-w*sin``)
    on x's device and dtype; ``offset`` is where the window starts inside the n_fft frame. One strided
    ``conv1d`` (a cross-correlation: out[c, t] = sum_n weight[c, n] * x_padded[t * hop + offset + n]) does all
    frames and frequencies at once; on a 2-core CPU it measured 1.5-4x faster than framing with ``unfold``
    and a matmul, and it maps to cuDNN on CUDA.
    """
    win_length = weight.shape[-1]
    pad = n_fft // 2 if center else 0
    n_frames = 1 + (x.shape[-1] + 2 * pad - n_fft) // hop_length
    xp = torch.nn.functional.pad(x, (pad, pad)) if pad else x
    xp = xp[..., offset : offset + (n_frames - 1) * hop_length + win_length]
    out = torch.nn.functional.conv1d(xp.unsqueeze(1), weight, stride=hop_length)  # [B, 2K, frames]
    k = weight.shape[0] // 2
    return out[:, :k], out[:, k:]

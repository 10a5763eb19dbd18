"""An exportable form of :class:`core.features.ClarFeatures`: real arithmetic only, no FFT, no complex numbers.

ONNX and TorchScript take neither ``torch.stft``'s complex output nor the fast path's in-place writes. This module
computes the same three channels with operators every runtime has:

* every DFT (the Mel channel's power spectrum, the STFT channel's kept bins, or the ``official`` preset's
  log-spaced DFT) is one strided ``conv1d`` of the zero-padded waveform with windowed cos / -sin kernels
  (:func:`core.features.logfreq.dft_kernel` at the needed frequencies), giving real and imaginary parts;
* power is ``re² + im²``, the Mel channel a matmul with the same filterbank, the phase ``atan2(im, re)`` mapped
  to (-pi, pi], the dB conversion ``10 log10(max(p, amin))`` clipped at each example's peak minus ``top_db``.

The DFTs, the power and the Mel product run in float64 (then float32), so the result is closer to the exact
features than the FFT path's float32, and two runtimes (PyTorch, onnxruntime) agree to about 1e-5 dB. One
definition differs from the FFT path: where a bin's power is below ``amin`` (the dB floor, -100 dB) its phase is
0. There, real and imaginary parts are rounding noise (a digitally silent or constant stretch of the clip), and
their angle is arbitrary: it differs between the FFT path on CPU and on CUDA as much as between any two runtimes.

It is slower than the FFT path (a direct DFT costs ``win_length`` multiply-adds per bin and frame) and is meant
for export, not training; tests hold it equal to :class:`ClarFeatures` within float32 rounding.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from core.features.config import FeatureConfig
from core.features.logfreq import dft_kernel, log_frequencies
from core.features.mel import mel_filterbank
from core.features.stft import make_window


def _conv_kernel(freqs: np.ndarray, cfg: FeatureConfig, n_fft: int) -> tuple[Tensor, int]:
    """DFT matrix [win_length, 2K] (float64; w*cos columns, then -w*sin) at ``freqs`` Hz, and the window's offset."""
    window = make_window(cfg.window, cfg.win_length, dtype=torch.float64).numpy()
    offset = (n_fft - cfg.win_length) // 2
    kernel = dft_kernel(freqs, window, offset, cfg.sample_rate)  # [win, 2K]
    return torch.from_numpy(kernel), offset


class ExportableFeatures(nn.Module):
    """[B, T] float32 waveforms -> [B, 3, n_bins, frames] features, equal to ``ClarFeatures(config)``.

    Args:
        config: the feature settings (any preset or custom :class:`FeatureConfig`).
    """

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        cfg = self.config = config
        mel_freqs = np.arange(cfg.mel_n_fft // 2 + 1) * cfg.sample_rate / cfg.mel_n_fft
        mel_kernel, self.mel_offset = _conv_kernel(mel_freqs, cfg, cfg.mel_n_fft)
        self.register_buffer("mel_kernel", mel_kernel, persistent=False)
        fb = mel_filterbank(
            cfg.sample_rate, cfg.mel_n_fft, cfg.n_mels, cfg.mel_fmin, cfg.mel_fmax, cfg.mel_scale, cfg.mel_norm
        )
        self.register_buffer("mel_fb", torch.from_numpy(fb).double(), persistent=False)
        if cfg.stft_scale == "log":
            freqs = log_frequencies(cfg.stft_fmin, cfg.stft_fmax, cfg.stft_bins)
            self.group = 1
        else:  # decimate: bin d*m; mean: the power of bins d*m .. d*m + d - 1, the phase of bin d*m
            d = cfg.decimation
            self.group = d if cfg.stft_reduction == "mean" else 1
            bins = np.arange(cfg.stft_bins * self.group) if self.group > 1 else np.arange(cfg.stft_bins) * d
            freqs = bins * cfg.sample_rate / cfg.stft_n_fft
        stft_kernel, self.stft_offset = _conv_kernel(freqs, cfg, cfg.stft_n_fft)
        self.register_buffer("stft_kernel", stft_kernel, persistent=False)

    def _dft(self, x: Tensor, kernel: Tensor, n_fft: int, offset: int) -> tuple[Tensor, Tensor]:
        """Real and imaginary parts [B, K, frames] (float64) of the DFT at the kernel's frequencies of every frame."""
        cfg = self.config
        pad = n_fft // 2 if cfg.center else 0
        frames = cfg.num_frames(x.shape[-1])
        xp = torch.nn.functional.pad(x, (pad, pad)) if pad else x
        xp = xp[:, offset : offset + (frames - 1) * cfg.hop_length + cfg.win_length]
        out = torch.matmul(xp.unfold(-1, cfg.win_length, cfg.hop_length), kernel).transpose(1, 2)  # [B, 2K, frames]
        k = kernel.shape[1] // 2
        return out[:, :k], out[:, k:]

    def _db(self, power: Tensor) -> Tensor:
        cfg = self.config
        db = 10.0 * torch.log10(torch.clamp(power, min=cfg.amin))
        if cfg.top_db is None:
            return db
        peak = db.amax(dim=(1, 2), keepdim=True)
        return torch.maximum(db, peak - cfg.top_db)

    def forward(self, x: Tensor) -> Tensor:
        """Features [B, 3, n_bins, frames] of waveforms ``x`` [B, T]."""
        cfg = self.config
        x = x.double()
        re, im = self._dft(x, self.mel_kernel, cfg.mel_n_fft, self.mel_offset)
        mel = torch.matmul(self.mel_fb, re * re + im * im).float()  # [B, n_mels, frames]
        re, im = self._dft(x, self.stft_kernel, cfg.stft_n_fft, self.stft_offset)
        power = re * re + im * im
        if self.group > 1:  # mean: the power of the d bins of each output, the phase of the first
            power = power.unflatten(1, (cfg.stft_bins, self.group)).mean(dim=2)
            re, im = re[:, :: self.group], im[:, :: self.group]
        bin_power = (re * re + im * im).float()
        power, re, im = power.float(), re.float(), im.float()
        phase = torch.atan2(im, re)
        phase = torch.where(phase <= -torch.pi, torch.full_like(phase, torch.pi), phase)
        # no energy, no phase: below the dB floor the parts are rounding noise whose angle differs between runtimes
        phase = torch.where(bin_power < cfg.amin, torch.zeros_like(phase), phase)
        return torch.stack([self._db(power), phase, self._db(mel)], dim=1)

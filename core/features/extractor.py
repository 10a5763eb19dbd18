"""``ClarFeatures``: waveforms [B, T] -> CLAR's three time-frequency channels [B, 3, n_bins, frames].

Channel 0: log-power STFT (dB), channel 1: STFT phase (radians, (-pi, pi]), channel 2: log-power Mel (dB).
Everything is batched (no loop over examples) and runs on the device of the module's buffers; move the
module with ``.to(device)`` (``.double()`` computes in float64, for tests). See ``core.features.config``
for the exact definition of each channel in each preset.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.features.config import FeatureConfig, feature_config
from core.features.db import power_to_db
from core.features.logfreq import dft_kernel, log_frequencies, logfreq_dft
from core.features.mel import mel_filterbank
from core.features.stft import linear_stft, make_window, phase, reduce_bins


class ClarFeatures(nn.Module):
    """The CLAR feature extractor (no trainable parameters; filters and kernels are non-persistent buffers).

    Args:
        config: a :class:`FeatureConfig` or a preset name (``"paper"`` or ``"official"``).

    ``forward(x)``: ``x`` [B, T] (or [T]) float waveforms at ``config.sample_rate`` Hz, values nominally in
    [-1, 1] -> float tensor [B, 3, n_bins, num_frames(T)] in the module's dtype (float32 by default).
    """

    def __init__(self, config: FeatureConfig | str = "paper") -> None:
        super().__init__()
        self.config = feature_config(config) if isinstance(config, str) else config
        if not isinstance(self.config, FeatureConfig):
            raise ConfigError(f"ClarFeatures config: expected a FeatureConfig or a preset name, got {config!r}")
        cfg = self.config
        window = make_window(cfg.window, cfg.win_length, dtype=torch.float64)
        self.register_buffer("window", window.float(), persistent=False)
        fb = mel_filterbank(
            cfg.sample_rate, cfg.mel_n_fft, cfg.n_mels, cfg.mel_fmin, cfg.mel_fmax, cfg.mel_scale, cfg.mel_norm
        )
        self.register_buffer("mel_fb", torch.from_numpy(fb).float(), persistent=False)
        if cfg.stft_scale == "log":
            offset = (cfg.stft_n_fft - cfg.win_length) // 2
            freqs = log_frequencies(cfg.stft_fmin, cfg.stft_fmax, cfg.stft_bins)
            kernel = dft_kernel(freqs, window.numpy(), offset, cfg.sample_rate)
            self.register_buffer("dft_kernel", torch.from_numpy(kernel).float(), persistent=False)
            self._dft_offset = offset
        else:
            self.register_buffer("dft_kernel", None, persistent=False)
            self._dft_offset = 0

    def num_frames(self, num_samples: int) -> int:
        """Frames for a clip of ``num_samples`` samples (126 for 1 s at 16 kHz in both presets)."""
        return self.config.num_frames(num_samples)

    def extra_repr(self) -> str:
        return f"preset={self.config.name!r}, stft_scale={self.config.stft_scale!r}, bins={self.config.n_mels}"

    def forward(self, x: Tensor) -> Tensor:
        cfg = self.config
        if x.dim() == 1:
            x = x.unsqueeze(0)
        if x.dim() != 2:
            raise ConfigError(f"ClarFeatures input: expected waveforms [B, T], got shape {tuple(x.shape)}")
        if not cfg.center and x.shape[-1] < max(cfg.stft_n_fft, cfg.mel_n_fft):
            raise ConfigError(f"ClarFeatures input: {x.shape[-1]} samples is shorter than n_fft with center=False")
        x = x.to(self.mel_fb.dtype)
        mel_spec = linear_stft(x, cfg.mel_n_fft, cfg.hop_length, self.window, cfg.center)
        mel_power = mel_spec.real.square() + mel_spec.imag.square()
        mel = torch.matmul(self.mel_fb, mel_power)
        if cfg.stft_scale == "log":
            spec = logfreq_dft(x, self.dft_kernel, cfg.stft_n_fft, cfg.hop_length, self._dft_offset, cfg.center)
            power = spec.real.square() + spec.imag.square()
        else:
            full = mel_spec if cfg.stft_n_fft == cfg.mel_n_fft else None
            if full is None:
                full = linear_stft(x, cfg.stft_n_fft, cfg.hop_length, self.window, cfg.center)
            power, spec = reduce_bins(full, cfg.stft_bins, cfg.stft_reduction)
        return torch.stack(
            [
                power_to_db(power, cfg.amin, cfg.top_db),
                phase(spec),
                power_to_db(mel, cfg.amin, cfg.top_db),
            ],
            dim=1,
        )

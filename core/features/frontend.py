"""The frontend: waveforms to the encoder's input.

The frontend: waveform batch [B, T] (16 kHz) -> the encoder's input (built from a config by
:func:`core.config.build.build_frontend`).

For 2D encoders: ``ClarFeatures`` (three 128-bin spectrogram channels) followed by a ``FeatureNormalizer`` fitted
on clean training clips. For 1D encoders: the waveform itself, [B, T] (the encoders add the channel axis).
The frontend has no trainable parameters; its buffers (normaliser statistics)
are saved in checkpoints under ``frontend``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from core.features.config import feature_config
from core.features.extractor import ClarFeatures
from core.features.normalize import FeatureNormalizer


class FeatureFrontend(nn.Module):
    """[B, T] waveforms -> normalised [B, 3, 128, T'] features."""

    input_kind = "features"

    def __init__(self, preset: str = "paper", overrides: dict[str, Any] | None = None, normalize: str = "channel"):
        super().__init__()

        self.feature_config = feature_config(preset, **(overrides or {}))
        self.features = ClarFeatures(self.feature_config)
        self.normalizer = FeatureNormalizer(mode=normalize)

    def forward(self, x: Tensor) -> Tensor:
        """Normalised features [B, 3, F, T'] of waveforms [B, T]."""
        return self.normalizer(self.features(x))

    @torch.no_grad()
    def fit(self, waveform_batches: Iterable[Tensor]) -> FeatureFrontend:
        """Fit the normaliser on the features of clean waveform batches ([B, T] each)."""
        self.normalizer.fit(self.features(x) for x in waveform_batches)
        return self

    def feature_config_dict(self) -> dict[str, Any]:
        """The feature settings as a plain dict (saved in checkpoints)."""
        return self.feature_config.to_dict()


class WaveformFrontend(nn.Module):
    """The identity on [B, T] waveforms, for 1D encoders (which add their channel axis); nothing to fit."""

    input_kind = "waveform"

    def forward(self, x: Tensor) -> Tensor:
        """The waveforms themselves, [B, T]."""
        return x

    def fit(self, waveform_batches: Iterable[Tensor]) -> WaveformFrontend:
        """Nothing to fit; returns the frontend."""
        return self

    def feature_config_dict(self) -> None:
        """None: a waveform frontend has no feature settings."""
        return None

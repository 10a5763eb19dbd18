"""Small CNNs (about 0.3M parameters) for CPU runs and tests: one on 2-D features, one on waveforms.

Both are plain stacks of conv -> BatchNorm -> ReLU, followed by global average pooling and a final
``nn.Linear(last_width, embed_dim)`` that gives the representation ``h`` [B, embed_dim] (512 by default).
They use only Conv/BN/ReLU/average pooling, so the 2-D one runs unchanged on ``channels_last`` tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from core.errors import ConfigError

# (out_channels, stride) of each conv layer.
CNN2D_LAYERS: tuple[tuple[int, int], ...] = ((24, 2), (48, 2), (48, 1), (96, 2), (96, 1), (128, 2))
CNN1D_LAYERS: tuple[tuple[int, int], ...] = ((32, 4), (64, 4), (96, 2), (96, 2), (128, 2))


def _init_(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class SmallCNN2d(nn.Module):
    """Six 3x3 conv-BN-ReLU layers (widths 24-48-48-96-96-128, total stride 16) on features [B, C, F, T'].

    About 0.33M parameters with 3 input channels and ``embed_dim`` 512 (of which 66k in the final linear).
    """

    input_kind = "features"

    def __init__(
        self, in_channels: int = 3, embed_dim: int = 512, layers: Sequence[tuple[int, int]] = CNN2D_LAYERS
    ) -> None:
        super().__init__()
        if in_channels < 1 or embed_dim < 1 or not layers:
            raise ConfigError(f"SmallCNN2d: in_channels={in_channels}, embed_dim={embed_dim}, layers={layers!r}")
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        mods: list[nn.Module] = []
        c_in = in_channels
        for c_out, stride in layers:
            mods += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out)]
            mods.append(nn.ReLU(inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*mods)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, embed_dim)
        _init_(self)

    def forward(self, x: Tensor) -> Tensor:
        """The representation ``h`` [B, embed_dim] of features [B, C, F, T']."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SmallCNN2d expects features [B, {self.in_channels}, F, T'], got {tuple(x.shape)}")
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class SmallCNN1d(nn.Module):
    """Five conv-BN-ReLU layers of width 9 (widths 32-64-96-96-128, total stride 128) on waveforms.

    Input [B, T] or [B, in_channels, T]. About 0.34M parameters with ``embed_dim`` 512 (of which 66k in the
    final linear). 1 s at 16 kHz leaves 125 frames before pooling.
    """

    input_kind = "waveform"

    def __init__(
        self,
        in_channels: int = 1,
        embed_dim: int = 512,
        layers: Sequence[tuple[int, int]] = CNN1D_LAYERS,
        kernel_size: int = 9,
    ) -> None:
        super().__init__()
        if in_channels < 1 or embed_dim < 1 or not layers or kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(
                f"SmallCNN1d: in_channels={in_channels}, embed_dim={embed_dim}, kernel_size={kernel_size} "
                f"(odd), layers={layers!r}"
            )
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        mods: list[nn.Module] = []
        c_in = in_channels
        for c_out, stride in layers:
            mods.append(nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False))
            mods += [nn.BatchNorm1d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        self.features = nn.Sequential(*mods)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(c_in, embed_dim)
        _init_(self)

    def forward(self, x: Tensor) -> Tensor:
        """The representation ``h`` [B, embed_dim] of waveforms [B, T] or [B, 1, T]."""
        if x.dim() == 2 and self.in_channels == 1:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            shape = tuple(x.shape)
            raise ValueError(f"SmallCNN1d expects waveforms [B, T] or [B, {self.in_channels}, T], got {shape}")
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))

"""ResNet18 on raw audio: the 2-D layout carried over to 1-D convolutions with kernel 9.

Input: waveforms [B, T] or [B, 1, T] (samples at 16 kHz). Output: ``h`` [B, embed_dim] after global
average pooling over time. The total stride is 32 (stem 2, max-pool 2, stages 1/2/2/2), so 1 s of audio
(16000 samples) gives 500 frames at the last stage.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.models.resnet2d import init_resnet_


class BasicBlock1d(nn.Module):
    """Two conv-BN layers of width ``kernel_size`` (odd) with an identity or 1x1 conv-BN projection shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, kernel_size: int = 9) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_channels, channels, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, stride=1, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm1d(channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        """The block's output for ``x`` [B, C, T]."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18_1d(nn.Module):
    """1-D ResNet18 on waveforms [B, T] or [B, in_channels, T] -> h [B, embed_dim].

    Stem: conv of width 7, stride 2 (``in_channels`` -> 64), BN, ReLU, max-pool of width 3 stride 2; then
    BasicBlocks [2, 2, 2, 2] with kernel ``kernel_size`` (9), widths 64/128/256/512 and stride 2 between
    stages; global average pooling. When ``embed_dim`` differs from 512 a final ``nn.Linear(512, embed_dim)``
    maps the pooled vector to ``embed_dim``.
    """

    input_kind = "waveform"

    def __init__(
        self,
        in_channels: int = 1,
        embed_dim: int = 512,
        layers: Sequence[int] = (2, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512),
        kernel_size: int = 9,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if in_channels < 1 or embed_dim < 1:
            raise ConfigError(f"ResNet18_1d: in_channels={in_channels} and embed_dim={embed_dim} must be >= 1")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"ResNet18_1d: kernel_size={kernel_size} must be odd and positive")
        if len(layers) != len(widths):
            raise ConfigError(f"ResNet18_1d: layers {tuple(layers)} and widths {tuple(widths)} differ in length")
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.conv1 = nn.Conv1d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm1d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool1d(3, stride=2, padding=1)
        stages = []
        c_in = widths[0]
        for i, (n, w) in enumerate(zip(layers, widths, strict=True)):
            blocks = [BasicBlock1d(c_in, w, stride=1 if i == 0 else 2, kernel_size=kernel_size)]
            blocks += [BasicBlock1d(w, w, kernel_size=kernel_size) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.proj: nn.Module = nn.Identity() if embed_dim == c_in else nn.Linear(c_in, embed_dim)
        init_resnet_(self, zero_init_residual)

    def forward(self, x: Tensor) -> Tensor:
        """The representation ``h`` [B, embed_dim] of waveforms [B, T] or [B, 1, T]."""
        if x.dim() == 2 and self.in_channels == 1:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            shape = tuple(x.shape)
            raise ValueError(f"ResNet18_1d expects waveforms [B, T] or [B, {self.in_channels}, T], got {shape}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.proj(torch.flatten(self.avgpool(x), 1))

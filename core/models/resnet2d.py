"""ResNet18 on 2-D features: the torchvision layout, without its classifier.

Input: features [B, C, F, T'] (C = 3 by default: CLAR's log-power STFT, STFT phase and log-power Mel
channels, see :mod:`core.features`; F = 128 frequency bins; T' frames). Output: the representation ``h``
[B, embed_dim] after global average pooling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from core.errors import ConfigError


class BasicBlock2d(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 conv-BN projection) shortcut, as in torchvision."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        """The block's output for ``x`` [B, C, F, T]."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def init_resnet_(model: nn.Module, zero_init_residual: bool) -> None:
    """Torchvision's initialisation: Kaiming-normal (fan-out, ReLU) convs, unit/zero BN affine.

    With ``zero_init_residual`` the last BN of every residual branch starts at zero, so that each block
    starts as the identity (Goyal et al., 2017).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            bn2 = getattr(m, "bn2", None)
            if bn2 is not None and hasattr(m, "downsample"):
                nn.init.zeros_(bn2.weight)


class ResNet18_2d(nn.Module):
    """ResNet18 (BasicBlock, [2, 2, 2, 2]) on features [B, in_channels, F, T'] -> h [B, embed_dim].

    Stem: 7x7 conv stride 2, BN, ReLU, 3x3 max-pool stride 2; four stages of widths 64/128/256/512 with
    stride 2 between stages; global average pooling. The trunk has exactly the parameters of torchvision's
    ``resnet18`` minus ``fc`` (11,176,512 with 3 input channels). When ``embed_dim`` differs from 512 a
    final ``nn.Linear(512, embed_dim)`` maps the pooled vector to ``embed_dim``.
    """

    input_kind = "features"

    def __init__(
        self,
        in_channels: int = 3,
        embed_dim: int = 512,
        layers: Sequence[int] = (2, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512),
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if in_channels < 1 or embed_dim < 1:
            raise ConfigError(f"ResNet18_2d: in_channels={in_channels} and embed_dim={embed_dim} must be >= 1")
        if len(layers) != len(widths):
            raise ConfigError(f"ResNet18_2d: layers {tuple(layers)} and widths {tuple(widths)} differ in length")
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages = []
        c_in = widths[0]
        for i, (n, w) in enumerate(zip(layers, widths, strict=True)):
            blocks = [BasicBlock2d(c_in, w, stride=1 if i == 0 else 2)]
            blocks += [BasicBlock2d(w, w) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.proj: nn.Module = nn.Identity() if embed_dim == c_in else nn.Linear(c_in, embed_dim)
        init_resnet_(self, zero_init_residual)

    def forward(self, x: Tensor) -> Tensor:
        """The representation ``h`` [B, embed_dim] of features [B, C, F, T']."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResNet18_2d expects features [B, {self.in_channels}, F, T'], got {tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.proj(torch.flatten(self.avgpool(x), 1))

"""Building encoders by name, and the checked options of the models built on them (``model.options``)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from core.errors import ConfigError
from core.models.resnet1d import ResNet18_1d
from core.models.resnet2d import ResNet18_2d
from core.models.small_cnn import SmallCNN1d, SmallCNN2d

_ENCODERS: dict[str, tuple[Callable[..., nn.Module], int]] = {
    # name: (class, default in_channels)
    "resnet18_2d": (ResNet18_2d, 3),
    "resnet18_1d": (ResNet18_1d, 1),
    "small_cnn_2d": (SmallCNN2d, 3),
    "small_cnn_1d": (SmallCNN1d, 1),
}
ENCODERS: tuple[str, ...] = tuple(_ENCODERS)
"""Encoder names accepted by :func:`build_encoder`."""
ENCODER_INPUT: dict[str, str] = {name: "waveform" if channels == 1 else "features" for name, (_, channels) in
                                 _ENCODERS.items()}  # fmt: skip
"""What each encoder reads: ``waveform`` (raw 1D audio) or ``features`` (the 3-channel 2D spectrogram)."""
MODEL_OPTIONS: dict[str, tuple[int, int]] = {
    "embed_dim": (1, 8192),
    "in_channels": (1, 64),
    "proj_dim": (1, 8192),
    "hidden_dim": (1, 8192),
    "proj_layers": (1, 8),
}
"""The keyword options of :func:`build_model` (``model.options`` in a config) and their allowed integer ranges."""


def check_model_options(options: dict) -> None:
    """Raise ConfigError for an unknown option, a non-integer, or a value out of :data:`MODEL_OPTIONS`' range."""
    if not isinstance(options, dict):
        raise ConfigError(f"expected a mapping of options, got {type(options).__name__}")
    for key, value in options.items():
        if key not in MODEL_OPTIONS:
            raise ConfigError(f"unknown option {key!r}; known: {', '.join(sorted(MODEL_OPTIONS))}")
        low, high = MODEL_OPTIONS[key]
        if value is None and key == "in_channels":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{key}={value!r} must be an integer in [{low}, {high}]")


def build_encoder(name: str, embed_dim: int = 512, in_channels: int | None = None) -> nn.Module:
    """The encoder called ``name`` (one of :data:`ENCODERS`), giving ``h`` [B, embed_dim].

    ``in_channels`` defaults to 3 for feature encoders (``input_kind == "features"``) and 1 for waveform
    encoders (``input_kind == "waveform"``). Raises ConfigError for an unknown name or a bad size.
    """
    if name not in _ENCODERS:
        raise ConfigError(f"model.encoder {name!r}: unknown, choose one of {', '.join(sorted(ENCODERS))}")
    if int(embed_dim) < 1:
        raise ConfigError(f"model.embed_dim={embed_dim}: must be >= 1")
    cls, default_channels = _ENCODERS[name]
    channels = default_channels if in_channels is None else int(in_channels)
    if channels < 1:
        raise ConfigError(f"model.in_channels={in_channels}: must be >= 1")
    return cls(in_channels=channels, embed_dim=int(embed_dim))

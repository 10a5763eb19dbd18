"""Building encoders and full models by name: the only entry point the trainer and the CLI use."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.limits import MAX_CLASSES, MAX_MODEL_PARAMETERS
from core.models.heads import ClarHead, ProjectionHead, SupervisedHead
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
ENCODERS: frozenset[str] = frozenset(_ENCODERS)
"""Encoder names accepted by :func:`build_encoder`."""
REGIMES: tuple[str, ...] = ("supervised", "simclr", "clar")
"""Training regimes accepted by :class:`ClarModel`."""

MODEL_OPTIONS: dict[str, tuple[int, int]] = {
    "embed_dim": (1, 8192),
    "in_channels": (1, 64),
    "proj_dim": (1, 8192),
    "hidden_dim": (1, 8192),
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


class ClarModel(nn.Module):
    """An encoder plus the head(s) of one training regime.

    ``forward(x)`` returns a dict with ``h`` (representation [B, embed_dim]) and, by regime:

    * ``"supervised"``: ``logits`` [B, C] from :class:`SupervisedHead` (512 -> 512 -> 512 -> C);
    * ``"simclr"``: ``z`` [B, proj_dim] from :class:`ProjectionHead` (512 -> 512 -> 512 -> 128);
    * ``"clar"``: ``z`` [B, proj_dim] and ``logits`` [B, C] from :class:`ClarHead`.

    ``z`` is *not* normalised; :func:`core.losses.nt_xent` normalises it. ``num_classes`` may be None
    (or 0) only for ``"simclr"``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        regime: str,
        num_classes: int | None,
        proj_dim: int = 128,
        hidden_dim: int = 512,
    ) -> None:
        super().__init__()
        if regime not in REGIMES:
            raise ConfigError(f"regime {regime!r}: unknown, choose one of {', '.join(REGIMES)}")
        if regime != "simclr" and (num_classes is None or int(num_classes) < 1):
            raise ConfigError(f"num_classes={num_classes}: the {regime!r} regime needs at least one class")
        embed_dim = getattr(encoder, "embed_dim", None)
        if not isinstance(embed_dim, int) or getattr(encoder, "input_kind", None) not in ("features", "waveform"):
            raise ConfigError(f"encoder {type(encoder).__name__}: needs int 'embed_dim' and 'input_kind' attributes")
        if proj_dim < 1 or hidden_dim < 1:
            raise ConfigError(f"proj_dim={proj_dim}, hidden_dim={hidden_dim}: must be >= 1")
        self.encoder = encoder
        self.regime = regime
        self.num_classes = int(num_classes) if num_classes else None
        self.embed_dim = embed_dim
        self.proj_dim = proj_dim
        self.hidden_dim = hidden_dim
        self.head: nn.Module
        if regime == "supervised":
            self.head = SupervisedHead(embed_dim, hidden_dim, self.num_classes)
        elif regime == "simclr":
            self.head = ProjectionHead(embed_dim, hidden_dim, proj_dim)
        else:
            self.head = ClarHead(embed_dim, hidden_dim, proj_dim, self.num_classes)

    @property
    def input_kind(self) -> str:
        """``"features"`` or ``"waveform"``: what :meth:`forward` expects."""
        return self.encoder.input_kind

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.encoder(x)
        if self.regime == "supervised":
            return {"h": h, "logits": self.head(h)}
        if self.regime == "simclr":
            return {"h": h, "z": self.head(h)}
        z, logits = self.head(h)
        return {"h": h, "z": z, "logits": logits}


def build_model(
    regime: str,
    encoder_name: str,
    num_classes: int | None,
    *,
    embed_dim: int = 512,
    in_channels: int | None = None,
    proj_dim: int = 128,
    hidden_dim: int = 512,
) -> ClarModel:
    """``ClarModel(build_encoder(encoder_name, embed_dim, in_channels), regime, num_classes, ...)``.

    The model is first built on PyTorch's ``meta`` device (no memory) and refused with ConfigError when it
    would have more than :data:`core.limits.MAX_MODEL_PARAMETERS` weights or ``num_classes`` exceeds
    :data:`core.limits.MAX_CLASSES`: a hostile config or checkpoint cannot make this allocate terabytes.
    """
    if num_classes is not None and not 0 <= int(num_classes) <= MAX_CLASSES:
        raise ConfigError(f"num_classes={num_classes}: must be in [1, {MAX_CLASSES}]")
    check_model_options({"embed_dim": embed_dim, "in_channels": in_channels, "proj_dim": proj_dim,
                         "hidden_dim": hidden_dim})  # fmt: skip

    def make() -> ClarModel:
        encoder = build_encoder(encoder_name, embed_dim=embed_dim, in_channels=in_channels)
        return ClarModel(encoder, regime, num_classes, proj_dim=proj_dim, hidden_dim=hidden_dim)

    with torch.device("meta"):
        count = sum(p.numel() for p in make().parameters())
    if count > MAX_MODEL_PARAMETERS:
        raise ConfigError(
            f"model {encoder_name} ({regime}, {num_classes} classes) would have {count / 1e6:.0f} M weights; "
            f"the limit is {MAX_MODEL_PARAMETERS / 1e6:.0f} M"
        )
    return make()

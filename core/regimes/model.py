"""The model a run trains: an encoder plus its regime's head, and the one function that builds it by name."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.limits import MAX_CLASSES, MAX_MODEL_PARAMETERS
from core.models.factory import build_encoder, check_model_options
from core.regimes.base import Regime
from core.regimes.registry import get_regime


class ClarModel(nn.Module):
    """An encoder plus the head of one training regime.

    ``forward(x)`` returns a dict with ``h`` (the representation [B, embed_dim]) and the regime's outputs:
    ``logits`` [B, C] (supervised), ``z`` [B, proj_dim] (SimCLR), or both (CLAR). ``z`` is *not* normalised;
    :func:`core.losses.nt_xent` normalises it.

    Args:
        encoder: a module with int ``embed_dim`` and ``input_kind`` (``features`` or ``waveform``) attributes.
        regime: a regime name (see :mod:`core.regimes.registry`) or a :class:`~core.regimes.base.Regime`.
        num_classes: number of classes; may be None (or 0) only for a regime without classes (SimCLR).
        proj_dim: size of ``z``, in features.
        hidden_dim: size of the heads' hidden layers, in features.
        proj_layers: linear layers of the projection (3: the paper and SimCLR; 2: the authors' CLAR code).
    """

    def __init__(
        self,
        encoder: nn.Module,
        regime: str | Regime,
        num_classes: int | None,
        proj_dim: int = 128,
        hidden_dim: int = 512,
        proj_layers: int = 3,
    ) -> None:
        super().__init__()
        impl = regime if isinstance(regime, Regime) else get_regime(regime)
        if impl.needs_classes and (num_classes is None or int(num_classes) < 1):
            raise ConfigError(f"num_classes={num_classes}: the {impl.name!r} regime needs at least one class")
        embed_dim = getattr(encoder, "embed_dim", None)
        if not isinstance(embed_dim, int) or getattr(encoder, "input_kind", None) not in ("features", "waveform"):
            raise ConfigError(f"encoder {type(encoder).__name__}: needs int 'embed_dim' and 'input_kind' attributes")
        if proj_dim < 1 or hidden_dim < 1 or proj_layers < 1:
            raise ConfigError(f"proj_dim={proj_dim}, hidden_dim={hidden_dim}, proj_layers={proj_layers}: must be >= 1")
        self.encoder = encoder
        self.impl = impl
        self.regime = impl.name
        self.num_classes = int(num_classes) if num_classes else None
        self.embed_dim = embed_dim
        self.proj_dim = proj_dim
        self.hidden_dim = hidden_dim
        self.head = impl.build_head(
            embed_dim, self.num_classes, hidden_dim=hidden_dim, proj_dim=proj_dim, proj_layers=proj_layers
        )

    @property
    def input_kind(self) -> str:
        """``"features"`` or ``"waveform"``: what :meth:`forward` expects."""
        return self.encoder.input_kind

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``h`` and the regime's outputs for the encoder's input ``x``."""
        h = self.encoder(x)
        return {"h": h, **self.impl.outputs(self.head, h)}


def build_model(
    regime: str,
    encoder_name: str,
    num_classes: int | None,
    *,
    embed_dim: int = 512,
    in_channels: int | None = None,
    proj_dim: int = 128,
    hidden_dim: int = 512,
    proj_layers: int = 3,
) -> ClarModel:
    """``ClarModel(build_encoder(encoder_name, embed_dim, in_channels), regime, num_classes, ...)``.

    The model is first built on PyTorch's ``meta`` device (no memory) and refused with ConfigError when it
    would have more than :data:`core.limits.MAX_MODEL_PARAMETERS` weights or ``num_classes`` exceeds
    :data:`core.limits.MAX_CLASSES`: a hostile config or checkpoint cannot make this allocate terabytes.
    """
    if num_classes is not None and not 0 <= int(num_classes) <= MAX_CLASSES:
        raise ConfigError(f"num_classes={num_classes}: must be in [1, {MAX_CLASSES}]")
    check_model_options(
        {
            "embed_dim": embed_dim,
            "in_channels": in_channels,
            "proj_dim": proj_dim,
            "hidden_dim": hidden_dim,
            "proj_layers": proj_layers,
        }
    )

    def make() -> ClarModel:
        encoder = build_encoder(encoder_name, embed_dim=embed_dim, in_channels=in_channels)
        return ClarModel(
            encoder, regime, num_classes, proj_dim=proj_dim, hidden_dim=hidden_dim, proj_layers=proj_layers
        )

    with torch.device("meta"):
        count = sum(p.numel() for p in make().parameters())
    if count > MAX_MODEL_PARAMETERS:
        raise ConfigError(
            f"model {encoder_name} ({regime}, {num_classes} classes) would have {count / 1e6:.0f} M weights; "
            f"the limit is {MAX_MODEL_PARAMETERS / 1e6:.0f} M"
        )
    return make()


@torch.no_grad()
def forward_batches(
    model: nn.Module,
    frontend: nn.Module,
    batches: Iterable[Tensor],
    *,
    autocast_dtype: torch.dtype | None = None,
    channels_last: bool = False,
) -> dict[str, Tensor]:
    """Model outputs for batches of clean waveforms [B, T] (already on the model's device), in eval mode.

    Returns a dict of CPU float32 tensors (``h`` and, where the model has them, ``z`` and ``logits``) with the
    batches concatenated; the model's training mode is restored afterwards. Nothing is augmented here.
    """
    was_training = model.training
    model.eval()
    outs: dict[str, list[Tensor]] = {}
    try:
        for x in batches:
            inp = frontend(x)
            if channels_last and inp.ndim == 4:
                inp = inp.contiguous(memory_format=torch.channels_last)
            if autocast_dtype is not None:
                with torch.autocast(device_type=inp.device.type, dtype=autocast_dtype):
                    result = model(inp)
            else:
                result = model(inp)
            for key, value in result.items():
                if isinstance(value, Tensor):
                    outs.setdefault(key, []).append(value.float().cpu())
    finally:
        model.train(was_training)
    return {k: torch.cat(v) for k, v in outs.items()}

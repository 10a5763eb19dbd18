"""Objects from a config: the model and its frontend, fresh or with a checkpoint's weights.

:func:`build_from_config` is the one place a config becomes a model (``core.regimes.build_model``) and a frontend
(``core.features.frontend``); :func:`load_model_from_checkpoint` does the same from a checkpoint file and loads the
weights. For inference, use ``core.inference.load_trained``, which wraps this.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from core.checkpoint import load_checkpoint
from core.config.schema import TrainConfig
from core.errors import CheckpointError, ConfigError
from core.features.frontend import FeatureFrontend, WaveformFrontend
from core.regimes.model import ClarModel, build_model


def build_augmentations(config: TrainConfig) -> Any:
    """The augmentation chain of ``config.augment`` (``core.augment.build_pipeline``), or None for ``none``."""
    aug = config.augment
    if aug.names == "none":
        return None
    from core.augment import build_pipeline

    return build_pipeline(aug.names, preset=aug.preset, p=aug.p, order=aug.order)


def build_frontend(config: TrainConfig | dict[str, Any]) -> FeatureFrontend | WaveformFrontend:
    """The frontend for ``config``: spectrogram features (normalised) for 2D encoders, identity for 1D."""
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    if cfg.input_kind == "waveform":
        return WaveformFrontend()
    return FeatureFrontend(cfg.features.preset, cfg.features.overrides, cfg.features.normalize)


def build_from_config(config: TrainConfig | dict[str, Any], num_classes: int) -> tuple[ClarModel, nn.Module]:
    """``(model, frontend)`` for a config (TrainConfig or ``to_dict()``) and a number of classes.

    ``model`` is ``core.regimes.build_model(regime, encoder, num_classes, proj_layers=..., **model.options)``;
    ``frontend`` maps [B, T] waveforms to the encoder's input. Both are on the CPU, in training mode, with fresh
    weights.
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config, source="checkpoint config")
    if num_classes < 1:
        raise ConfigError(f"num_classes={num_classes}: must be at least 1")
    model = build_model(
        cfg.model.regime, cfg.model.encoder, num_classes, proj_layers=cfg.model.proj_layers, **cfg.model.options
    )
    frontend = build_frontend(cfg)
    kind = getattr(getattr(model, "encoder", None), "input_kind", frontend.input_kind)
    if kind != frontend.input_kind:
        raise ConfigError(
            f"model.encoder {cfg.model.encoder!r} takes {kind} but the frontend gives {frontend.input_kind}"
        )
    return model, frontend


def load_model_from_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[ClarModel, nn.Module, dict[str, Any]]:
    """``(model, frontend, checkpoint)`` from a checkpoint file, on ``device`` and in eval mode.

    Raises CheckpointError when the file is missing, corrupt, asks for an impossible model, or does not match
    its own config.
    """
    ckpt = load_checkpoint(path)
    num_classes = int(ckpt.get("num_classes") or len(ckpt["class_names"]))
    try:
        model, frontend = build_from_config(ckpt["config"], num_classes)
    except ConfigError as e:
        raise CheckpointError(f"{path}: {e}") from None
    try:
        model.load_state_dict(ckpt["model"])
        frontend.load_state_dict(ckpt["frontend"])
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match the checkpoint's config ({e})") from None
    return model.to(device).eval(), frontend.to(device).eval(), ckpt

"""Building a model and its frontend from a config dict, and loading a trained one from a checkpoint."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from core.errors import CheckpointError, ConfigError
from core.train.config import TrainConfig
from core.train.frontend import build_frontend


def build_from_config(config: TrainConfig | dict[str, Any], num_classes: int) -> tuple[nn.Module, nn.Module]:
    """``(model, frontend)`` for a config (TrainConfig or ``to_dict()``) and a number of classes.

    ``model`` is ``core.models.build_model(regime, encoder, num_classes, **model.options)``; ``frontend`` maps
    [B, T] waveforms to the encoder's input (see :func:`core.train.frontend.build_frontend`). Both are on the CPU,
    in training mode, with fresh weights.
    """
    from core.models import build_model

    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config, source="checkpoint config")
    if num_classes < 1:
        raise ConfigError(f"num_classes={num_classes}: must be at least 1")
    model = build_model(cfg.model.regime, cfg.model.encoder, num_classes, **cfg.model.options)
    frontend = build_frontend(cfg)
    kind = getattr(getattr(model, "encoder", None), "input_kind", frontend.input_kind)
    if kind != frontend.input_kind:
        raise ConfigError(
            f"model.encoder {cfg.model.encoder!r} takes {kind} but the frontend gives {frontend.input_kind}"
        )
    return model, frontend


def load_trained(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, nn.Module, dict[str, Any]]:
    """``(model, frontend, checkpoint)`` from a checkpoint file, on ``device`` and in eval mode.

    Raises CheckpointError when the file is missing, corrupt, or does not match its own config.
    """
    from core.train.checkpoint import load_checkpoint

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

"""Choosing the compute device: ``cpu``, ``cuda`` (optionally ``cuda:N``), ``mps`` or ``auto``."""

from __future__ import annotations

import torch

from core.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the torch device for ``name``; ``auto`` (or None) picks CUDA, then MPS, then CPU.

    Raises ConfigError when the named device is unknown or not present on this machine.
    """
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise ConfigError(f"device {name!r}: unknown, choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError(f"device {name!r}: MPS is not available on this machine")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"device {name!r}: {e}") from None

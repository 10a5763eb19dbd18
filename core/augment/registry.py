"""Augmentations by name, and building them (or a chain of them) from a preset with overrides."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from core.augment.compose import Compose
from core.augment.presets import preset_kwargs
from core.errors import ConfigError

_PATHS: dict[str, str] = {
    "pitch_shift": "core.augment.pitch_shift:PitchShift",
    "time_stretch": "core.augment.time_stretch:TimeStretch",
    "fade": "core.augment.fade:Fade",
    "noise": "core.augment.noise:AddNoise",
    "time_mask": "core.augment.time_mask:TimeMask",
    "time_shift": "core.augment.time_shift:TimeShift",
}


class _LazyRegistry(Mapping[str, type]):
    """name -> augmentation class; each class is imported from its module the first time it is looked up."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = dict(paths)
        self._loaded: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        if name not in self._paths:
            raise KeyError(name)
        if name not in self._loaded:
            module, _, attr = self._paths[name].partition(":")
            try:
                self._loaded[name] = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise ConfigError(f"augmentation {name!r}: {module}.{attr} is not available ({e})") from None
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"AUGMENTATIONS({', '.join(self._paths)})"


AUGMENTATIONS: Mapping[str, type] = _LazyRegistry(_PATHS)
"""Every augmentation by name: pitch_shift, time_stretch, fade, noise, time_mask, time_shift."""


def build_augmentation(name: str, preset: str = "paper", p: float | None = None, **overrides: Any):
    """Build augmentation ``name`` with ``preset``'s arguments, then ``p`` and ``overrides`` on top.

    Raises:
        ConfigError: unknown name or preset, or an override the augmentation does not take.
    """
    if name not in AUGMENTATIONS:
        raise ConfigError(f"augmentation {name!r}: unknown, choose one of {', '.join(AUGMENTATIONS)}")
    kwargs = preset_kwargs(name, preset)
    kwargs.update(overrides)
    if p is not None:
        kwargs["p"] = p
    cls = AUGMENTATIONS[name]
    params = inspect.signature(cls).parameters
    if not any(q.kind is inspect.Parameter.VAR_KEYWORD for q in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise ConfigError(f"augmentation {name!r}: unknown setting(s) {', '.join(unknown)}")
    return cls(**kwargs)


def build_pipeline(
    names: str | Sequence[str],
    preset: str = "paper",
    p: float | None = 0.5,
    order: str = "fixed",
) -> Compose:
    """A :class:`Compose` of the named augmentations, each with probability ``p``.

    Args:
        names: an augmentation set name (``"fade"``, ``"fade+noise"``, ``"all"``, see ``core.augment.sets``),
            a comma-separated list, or a sequence of augmentation names; they run in the order given.
        preset: ``"paper"`` or ``"authors"`` (see ``core.augment.presets``).
        p: the probability of every augmentation (the authors' final code used 0.5); ``None`` keeps each
            preset's own (which differs only for the authors' time mask, 0.25).
        order: ``"fixed"`` or ``"random"`` (a fresh order per call).
    """
    from core.augment.sets import resolve_set

    return Compose([build_augmentation(n, preset, p) for n in resolve_set(names)], order=order)

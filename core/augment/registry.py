"""Augmentations by name, and building them (or a chain of them) from a preset with overrides."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from core.augment.compose import Compose
from core.augment.fade import Fade
from core.augment.noise import AddNoise
from core.augment.pitch_shift import PitchShift
from core.augment.presets import preset_kwargs
from core.augment.time_mask import TimeMask
from core.augment.time_shift import TimeShift
from core.augment.time_stretch import TimeStretch
from core.errors import ConfigError

AUGMENTATIONS: dict[str, type] = {
    "pitch_shift": PitchShift,
    "time_stretch": TimeStretch,
    "fade": Fade,
    "noise": AddNoise,
    "time_mask": TimeMask,
    "time_shift": TimeShift,
}
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

"""CLAR's waveform augmentations, batched on any device with per-example random parameters.

Each augmentation takes a float batch [B, T], keeps its shape, draws its parameters per example from a CPU
``torch.Generator`` (so a seed reproduces them on every device) and can return them for display. See
``core.augment.base`` for the contract and docs/augmentations.md for every parameter and default.

    >>> from core.augment import build_pipeline, two_views
    >>> chain = build_pipeline("fade+noise")           # paper preset, p = 0.5 each
    >>> v1, v2 = two_views(batch, chain, generator=7)
"""

from core.augment.base import Augmentation
from core.augment.compose import Compose, RandomApply
from core.augment.fade import FADE_SHAPES, Fade
from core.augment.noise import NOISE_COLORS, AddNoise
from core.augment.presets import AUGMENT_PRESETS
from core.augment.registry import AUGMENTATIONS, build_augmentation, build_pipeline
from core.augment.sets import AUGMENTATION_SETS, CANONICAL_ORDER, resolve_set
from core.augment.time_mask import TimeMask
from core.augment.time_shift import TimeShift
from core.augment.views import two_views

__all__ = [
    "AUGMENTATIONS",
    "AUGMENTATION_SETS",
    "AUGMENT_PRESETS",
    "CANONICAL_ORDER",
    "FADE_SHAPES",
    "NOISE_COLORS",
    "AddNoise",
    "Augmentation",
    "Compose",
    "Fade",
    "RandomApply",
    "TimeMask",
    "TimeShift",
    "build_augmentation",
    "build_pipeline",
    "resolve_set",
    "two_views",
]

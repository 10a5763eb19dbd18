"""One augmented pair of a clip, as a user would hear it: two views from a seed, and what each view drew, in words.

:func:`draw_pair` builds the chosen augmentations (any of the six, a preset, one probability, optionally the noise
colours) into a chain in the canonical order, and draws two independent views of one clip from a seed with
:func:`core.augment.views.two_views`, exactly as training does. The same clip, settings and seed give the same
pair. :func:`readable` turns each view's drawn parameters into a line with units (semitones, stretch rate, SNR
in dB, mask span in ms, shift in ms, fade shape and length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.compose import Compose
from core.augment.noise import NOISE_COLORS
from core.augment.registry import build_augmentation
from core.augment.sets import CANONICAL_ORDER
from core.augment.views import two_views
from core.errors import ConfigError

MAX_SEED = 2**63 - 1


@dataclass
class AugmentedPair:
    """Two views of one clip and what each drew.

    Attributes:
        view1, view2: the views, [T] each, at the clip's sample rate.
        steps1, steps2: per view, the chain's steps in the order they ran (``Compose.describe``).
        seed: the seed both were drawn from.
        names: the augmentations chosen, in the order they ran.
    """

    view1: Tensor
    view2: Tensor
    steps1: list[dict[str, Any]]
    steps2: list[dict[str, Any]]
    seed: int
    names: list[str] = field(default_factory=list)


def build_chain(
    names: Sequence[str], preset: str = "paper", p: float = 1.0, noise_colors: Sequence[str] | None = None
) -> Compose:
    """The chain of the chosen augmentations, in the canonical order, each with probability ``p``.

    Raises:
        ConfigError: an unknown augmentation, preset or noise colour, a ``p`` outside [0, 1], nothing chosen.
    """
    unknown = [n for n in names if n not in CANONICAL_ORDER]
    if unknown:
        raise ConfigError(f"augmentation(s) {', '.join(unknown)}: unknown, choose from {', '.join(CANONICAL_ORDER)}")
    if not names:
        raise ConfigError("no augmentation chosen: pick at least one of " + ", ".join(CANONICAL_ORDER))
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"p = {p} is outside [0, 1]")
    chain = []
    for name in (n for n in CANONICAL_ORDER if n in names):
        extra = {"colors": tuple(noise_colors)} if name == "noise" and noise_colors else {}
        if extra and any(c not in NOISE_COLORS for c in extra["colors"]):
            raise ConfigError(f"noise colours {list(noise_colors)}: choose from {', '.join(NOISE_COLORS)}")
        chain.append(build_augmentation(name, preset, float(p), **extra))
    return Compose(chain)


def draw_pair(
    wave: Tensor,
    names: Sequence[str],
    *,
    preset: str = "paper",
    p: float = 1.0,
    seed: int = 0,
    noise_colors: Sequence[str] | None = None,
) -> AugmentedPair:
    """Two views of ``wave`` [T] (16 kHz) drawn from ``seed`` (see the module docstring)."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise ConfigError(f"seed {seed}: must be an integer in [0, 2**63)")
    chain = build_chain(names, preset, p, noise_colors)
    x = torch.as_tensor(wave, dtype=torch.float32).reshape(1, -1)
    v1, v2, p1, p2 = two_views(x, chain, int(seed), return_params=True)
    ran = [chain.augmentations[i].name for i in p1["order"]]
    return AugmentedPair(v1[0], v2[0], chain.describe(p1)[0], chain.describe(p2)[0], int(seed), ran)


def _ms(samples: float, sample_rate: int) -> str:
    return f"{1000 * samples / sample_rate:.0f} ms"


def readable(step: dict[str, Any], sample_rate: int = SAMPLE_RATE) -> str:
    """One view's step as a line with units, e.g. ``+3 semitones`` or ``pink noise at 12.4 dB SNR``."""
    if not step.get("applied", True):
        return "not applied"
    name = step["augmentation"]
    if name == "pitch_shift":
        return f"{int(step['semitones']):+d} semitones"
    if name == "time_stretch":
        rate = float(step["rate"])
        return f"rate {rate:.3f}: {'faster' if rate > 1 else 'slower'}, the sound lasts {100 / rate:.0f} % as long"
    if name == "noise":
        return f"{step['color']} noise at {float(step['snr_db']):.1f} dB SNR"
    if name == "time_mask":
        return f"{_ms(step['length'], sample_rate)} masked from {_ms(step['start'], sample_rate)}"
    if name == "time_shift":
        return f"shifted {1000 * int(step['shift']) / sample_rate:+.0f} ms"
    if name == "fade":
        return (
            f"{step['shape']} fade: in over {_ms(step['fade_in'], sample_rate)}, out over "
            f"{_ms(step['fade_out'], sample_rate)}"
        )
    return ", ".join(f"{k} {v}" for k, v in step.items() if k not in ("augmentation", "applied", "seed"))


def parameter_table(pair: AugmentedPair, sample_rate: int = SAMPLE_RATE) -> list[list[str]]:
    """Rows ``[augmentation, view 1, view 2]`` of what each view drew, in the order the chain ran."""
    return [
        [a["augmentation"], readable(a, sample_rate), readable(b, sample_rate)]
        for a, b in zip(pair.steps1, pair.steps2, strict=True)
    ]

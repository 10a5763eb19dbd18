"""Named sets of constructor arguments for every augmentation: ``"paper"`` (the default) and ``"authors"``.

* ``paper`` follows the CLAR paper (Al-Tahan & Mohsenzadeh, AISTATS 2021) and issue 3: integer semitones
  in [-15, 15], fades of up to half the clip in five shapes, white/pink/brown noise at 0..20 dB SNR, a mask
  of up to 1/8 of the clip, shifts of up to half the clip, stretch rates in [0.5, 1.5] with pitch kept.
* ``authors`` reproduces the draws of the authors' released code (github.com/haideraltahan/CLAR, utils.py),
  for comparison in the augmentation study: shifts of +-8000 samples; white noise only, at a whole-dB SNR
  of 0..19 against the RMS of the whole clip; a mask of exactly 1/8 of the clip behind an extra coin flip
  (so p = 0.5 * 0.5 = 0.25); and time stretch followed by resampling back to N samples
  (``method="resample"``), which turns the stretch into a pitch change. That last one is a defect we
  reproduce only here, never by default.

See docs/augmentations.md for the full table and the authors' defects we do not copy.
"""

from __future__ import annotations

import copy
from typing import Any

from core.errors import ConfigError

AUGMENT_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "pitch_shift": {"p": 0.5, "min_semitones": -15, "max_semitones": 15},
        "time_stretch": {"p": 0.5, "min_rate": 0.5, "max_rate": 1.5, "method": "stretch"},
        "fade": {
            "p": 0.5,
            "max_in": 0.5,
            "max_out": 0.5,
            "shapes": ("linear", "logarithmic", "exponential", "qsin", "hsin"),
        },
        "noise": {
            "p": 0.5,
            "colors": ("white", "pink", "brown"),
            "min_snr_db": 0.0,
            "max_snr_db": 20.0,
            "integer_snr": False,
            "signal": "non_silent",
        },
        "time_mask": {"p": 0.5, "min_fraction": 0.0, "max_fraction": 1 / 8, "fill": "noise", "noise_std": 0.01},
        "time_shift": {"p": 0.5, "max_fraction": 0.5, "mode": "roll"},
    },
    "authors": {
        "pitch_shift": {"p": 0.5, "min_semitones": -15, "max_semitones": 15},
        "time_stretch": {"p": 0.5, "min_rate": 0.5, "max_rate": 1.5, "method": "resample"},
        # their five shapes are torchaudio's: "exponential" there is their 2**(t-1)*t curve
        "fade": {
            "p": 0.5,
            "max_in": 0.5,
            "max_out": 0.5,
            "shapes": ("linear", "logarithmic", "exponential", "qsin", "hsin"),
        },
        "noise": {
            "p": 0.5,
            "colors": ("white",),
            "min_snr_db": 0,
            "max_snr_db": 19,
            "integer_snr": True,
            "signal": "all",
        },
        "time_mask": {"p": 0.25, "min_fraction": 1 / 8, "max_fraction": 1 / 8, "fill": "noise", "noise_std": 0.01},
        "time_shift": {"p": 0.5, "max_samples": 8000, "mode": "roll"},
    },
}
"""preset name -> augmentation name -> keyword arguments of its constructor (``p`` included)."""


def preset_kwargs(name: str, preset: str = "paper") -> dict[str, Any]:
    """A copy of the constructor arguments of augmentation ``name`` under ``preset``."""
    if preset not in AUGMENT_PRESETS:
        raise ConfigError(f"augmentation preset {preset!r}: unknown, choose one of {', '.join(AUGMENT_PRESETS)}")
    table = AUGMENT_PRESETS[preset]
    if name not in table:
        raise ConfigError(f"augmentation {name!r}: unknown, choose one of {', '.join(table)}")
    return copy.deepcopy(table[name])

"""A time stretch followed by a pitch shift, in one phase-vocoder pass instead of two.

A pitch shift is itself a vocoder stretch at rate ``Q/P`` plus a resampling by ``Q/P``; a time stretch before it
at rate ``r`` folds into that stretch, which then runs at ``r * Q/P`` (:func:`core.augment.pitch_shift.pitch_shift`
with ``stretch``). :class:`~core.augment.compose.Compose` uses this where a ``TimeStretch`` (``method="stretch"``)
comes right before a ``PitchShift`` with the same vocoder settings in a **fixed** order (the default chain, fade,
time mask, time stretch, pitch shift, time shift, noise, has them side by side). The parameters are drawn as
before (a pitch shift's draw does not look at the signal), so the draws, and what each example gets, are the same;
only the vocoder's rounding differs. A random order, and the ``authors`` preset (whose stretch is a resampling),
keep the two passes.

One pass is only as good as two while its rate stays moderate: a phase vocoder that compresses by more than about
2x skips analysis frames and drops transients (a click train stretched alone at rate 2.4 lost every other click,
at 2.0 its spacing was within 2 %). So an example is fused only when ``stretch rate * Q/P`` lies within
:data:`FUSED_RATES`; the others (a stretch and a shift that push the same way, e.g. faster and lower) still take
two passes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from core.augment.base import Params, check_batch
from core.augment.pitch_shift import PitchShift, pitch_shift
from core.augment.time_stretch import TimeStretch, stretch_batch

FUSED_RATES = (0.5, 2.0)
"""The vocoder rates (``stretch rate * Q/P``) at which one pass keeps a click train's spacing within 2 %."""


def fusable(first: Any, second: Any) -> bool:
    """Whether ``first`` then ``second`` can run as one vocoder pass (a stretch, then a shift, same vocoder)."""
    return (
        type(first) is TimeStretch
        and type(second) is PitchShift
        and first.method == "stretch"
        and (first.n_fft, first.hop, first.phase_lock) == (second.n_fft, second.hop, second.phase_lock)
    )


def stretch_and_shift(x: Tensor, shift: PitchShift, stretch_params: Params, shift_params: Params) -> Tensor:
    """``shift.apply(stretch.apply(x, stretch_params), shift_params)`` in one vocoder pass; returns a new tensor."""
    check_batch(x)
    rates = torch.where(stretch_params["apply"].cpu(), stretch_params["rate"].cpu().double(), 1.0)
    steps = torch.where(shift_params["apply"].cpu(), shift_params["semitones"].cpu(), 0)
    # the vocoder runs at Q/P = 1 / the ratio the shift drew (PitchShift reports P/Q as ``pitch_ratio``)
    combined = rates / torch.where(shift_params["apply"].cpu(), shift_params["pitch_ratio"].cpu().double(), 1.0)
    apart = (combined < FUSED_RATES[0]) | (combined > FUSED_RATES[1])
    settings = {"n_fft": shift.n_fft, "hop": shift.hop, "max_cents": shift.max_cents, "phase_lock": shift.phase_lock}
    y = pitch_shift(x, torch.where(apart, 0, steps), stretch=torch.where(apart, 1.0, rates), **settings)
    if bool(apart.any()):  # two passes for these: the stretch, then the shift
        rows = torch.nonzero(apart).flatten().to(x.device)
        sub = stretch_batch(x.index_select(0, rows), rates[apart], n_fft=shift.n_fft, hop=shift.hop,
                            phase_lock=shift.phase_lock)  # fmt: skip
        y[rows] = pitch_shift(sub, steps[apart], **settings)
    return y

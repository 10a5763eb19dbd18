"""Fade in and fade out, with a shape drawn per example (CLAR's "fade in/out" augmentation).

The shapes are those of ``torchaudio.transforms.Fade`` (which the authors' code copies). With ``u`` going
from 0 to 1 across the fade-in (``u = n / (L - 1)`` for sample ``n`` of an ``L``-sample fade, as
``torch.linspace(0, 1, L)``), the fade-in gain is ``g(u)``, clamped to [0, 1]:

==============  ==================================  =========================================
name            g(u)                                note
==============  ==================================  =========================================
linear          u
logarithmic     log10(0.1 + u) + 1                  rises fast, reaches 1 at u = 0.9 (clamped)
exponential     2**(u - 1) * u                      torchaudio's and the authors' "exponential"
qsin            sin(u * pi / 2)                     quarter sine (torchaudio "quarter_sine")
hsin            sin(u * pi - pi / 2) / 2 + 0.5      half sine (torchaudio "half_sine")
==============  ==================================  =========================================

The fade-out is the time reverse of the fade-in: its ``m``-th sample (``m = 0 .. L-1``) has gain
``g(1 - m / (L - 1))``; this is exactly torchaudio's fade-out for every shape (a 1-sample fade-in has gain
g(0) = 0 and a 1-sample fade-out gain 1, as torchaudio's ``linspace(0, 1, 1) = [0]`` gives).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.base import Augmentation, Params, randint
from core.errors import ConfigError

FADE_SHAPES: tuple[str, ...] = ("linear", "logarithmic", "exponential", "qsin", "hsin")
"""Every fade shape, in the order of the integer ``shape`` parameter."""

_ALIASES = {"quarter_sine": "qsin", "half_sine": "hsin", "log": "logarithmic", "exp": "exponential"}


def fade_curve(shape: str, u: Tensor) -> Tensor:
    """The fade-in gain ``g(u)`` of ``shape`` for positions ``u`` in [0, 1] (dimensionless), clamped to [0, 1]."""
    shape = _ALIASES.get(shape, shape)
    if shape == "linear":
        g = u
    elif shape == "logarithmic":
        g = torch.log10(0.1 + u) + 1
    elif shape == "exponential":
        g = torch.pow(2.0, u - 1) * u
    elif shape == "qsin":
        g = torch.sin(u * (math.pi / 2))
    elif shape == "hsin":
        g = torch.sin(u * math.pi - math.pi / 2) / 2 + 0.5
    else:
        raise ConfigError(f"fade: unknown shape {shape!r}, choose from {', '.join(FADE_SHAPES)}")
    return g.clamp(0.0, 1.0)


def _ramp(offset: Tensor, slope: Tensor, n: Tensor, shape: Tensor) -> Tensor:
    """Gains of per-row ramps, grouped by shape.

    Gains [B, W] of ramps at positions ``u = clamp(offset + n * slope, max=1)`` for the column positions ``n`` [1, W]
    (whole numbers).

    ``offset``, ``slope`` [B, 1] and ``shape`` [B] (indices into FADE_SHAPES) are per row. Rows are grouped
    by shape (one stable sort of the [B] shapes), each group is evaluated with its own formula on a contiguous
    slice, and the rows are put back in order with one gather: a loop over the at most five shapes, never
    over the examples. Every shape has g(1) = 1, so positions past a ramp are simply clamped to u = 1.
    """
    kinds, counts = torch.unique(shape.cpu(), return_counts=True)
    if len(kinds) == 1:
        return fade_curve(FADE_SHAPES[int(kinds[0])], torch.addcmul(offset, n, slope).clamp_(max=1.0))
    order = torch.argsort(shape, stable=True)
    u = torch.addcmul(offset.index_select(0, order), n, slope.index_select(0, order)).clamp_(max=1.0)
    first = 0
    for k, c in zip(kinds.tolist(), counts.tolist(), strict=True):
        u[first : first + c] = fade_curve(FADE_SHAPES[k], u[first : first + c])
        first += c
    return u.index_select(0, torch.argsort(order))


def _ramps(
    num_samples: int, fade_in: Tensor, fade_out: Tensor, shape: Tensor, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """The fade-in and fade-out gains of every row.

    The fade-in gains [B, W_in] of the first W_in samples and the fade-out gains [B, W_out] of the last W_out, with W_in
    and W_out the longest fades (samples beyond a row's own ramp get gain 1).
    """
    t = int(num_samples)
    lin = fade_in.to(device=device, dtype=torch.int64).reshape(-1, 1).clamp(0, t)
    lout = fade_out.to(device=device, dtype=torch.int64).reshape(-1, 1).clamp(0, t)
    shape = shape.to(device).reshape(-1)
    w_in = int(lin.max()) if lin.numel() else 0
    w_out = int(lout.max()) if lout.numel() else 0
    g_in = torch.ones(lin.shape[0], 0, device=device, dtype=dtype)
    g_out = g_in
    if w_in > 0:  # sample n of an L-sample fade-in sits at u = n / (L - 1); L = 0 means u = 1 (no fade)
        n = torch.arange(w_in, device=device, dtype=dtype).unsqueeze(0)
        g_in = _ramp((lin == 0).to(dtype), 1.0 / (lin - 1).clamp(min=1).to(dtype), n, shape)
    if w_out > 0:
        # column n of the last W samples is sample m = n - (W - L) of an L-sample fade-out, at
        # u = 1 - m / (L - 1) = (W - 1 - n) / (L - 1): counted from the end, with no cancellation.
        # A 1-sample fade-out is u = 1 (gain 1), as torch.linspace(0, 1, 1) = [0] gives in torchaudio.
        r = torch.arange(w_out - 1, -1, -1, device=device, dtype=dtype).unsqueeze(0)
        g_out = _ramp((lout <= 1).to(dtype), 1.0 / (lout - 1).clamp(min=1).to(dtype), r, shape)
    return g_in, g_out


def fade_envelope(
    num_samples: int,
    fade_in: Tensor,
    fade_out: Tensor,
    shape: Tensor,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Gain envelopes [B, T] for fades of ``fade_in``/``fade_out`` samples ([B] int) and shape indices ([B] int).

    ``shape[i]`` indexes :data:`FADE_SHAPES`. A fade of 0 samples leaves that end untouched. The fade-in of
    ``L`` samples covers samples 0 .. L-1 and the fade-out samples T-L .. T-1 (each ramp as
    ``torch.linspace(0, 1, L)``); only the two end windows, as wide as the longest fades, are computed.
    Every shape has g(1) = 1, so positions past a ramp are simply clamped to u = 1.
    """
    device = torch.device(device) if device is not None else fade_in.device
    work = torch.float64 if dtype == torch.float64 else torch.float32  # no half precision for the ramps
    g_in, g_out = _ramps(num_samples, fade_in, fade_out, shape, device, work)
    env = torch.ones(g_in.shape[0], int(num_samples), device=device, dtype=work)
    env[:, : g_in.shape[1]] = g_in
    env[:, int(num_samples) - g_out.shape[1] :] *= g_out
    return env.to(dtype)


class Fade(Augmentation):
    """Fade in and fade out with per-example lengths and shape.

    Args:
        p: probability that an example is faded.
        max_in: longest fade-in, as a fraction of the clip length (0..0.5, so the two fades never overlap);
            the length in samples is drawn uniformly from the integers 0 .. floor(max_in * T).
        max_out: longest fade-out, likewise.
        shapes: the shapes to draw from uniformly (names from :data:`FADE_SHAPES`).
        sample_rate: Hz (only reported; fades are in samples).

    Parameters drawn per example: ``fade_in`` and ``fade_out`` (samples), ``shape`` (index into
    :data:`FADE_SHAPES`; :meth:`describe` gives its name).
    """

    name: ClassVar[str] = "fade"

    def __init__(
        self,
        p: float = 0.5,
        max_in: float = 0.5,
        max_out: float = 0.5,
        shapes: Sequence[str] = FADE_SHAPES,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        super().__init__(p, sample_rate)
        for label, v in (("max_in", max_in), ("max_out", max_out)):
            if not 0.0 <= float(v) <= 0.5:
                raise ConfigError(f"fade: {label}={v} must be a fraction of the clip in [0, 0.5]")
        if isinstance(shapes, str):
            shapes = [s.strip() for s in shapes.split(",") if s.strip()]
        names = [_ALIASES.get(s, s) for s in shapes]
        unknown = [s for s in names if s not in FADE_SHAPES]
        if unknown or not names:
            raise ConfigError(f"fade: shapes {list(shapes)!r} must be a non-empty subset of {', '.join(FADE_SHAPES)}")
        self.max_in = float(max_in)
        self.max_out = float(max_out)
        self.shapes = tuple(dict.fromkeys(names))
        self._shape_ids = torch.tensor([FADE_SHAPES.index(s) for s in self.shapes], dtype=torch.int64)

    def _draw(self, x: Tensor, generator: torch.Generator) -> Params:
        b, t = x.shape
        pick = randint(generator, b, 0, len(self.shapes) - 1)
        return {
            "fade_in": randint(generator, b, 0, math.floor(self.max_in * t)),
            "fade_out": randint(generator, b, 0, math.floor(self.max_out * t)),
            "shape": self._shape_ids[pick],
        }

    def _apply(self, x: Tensor, params: Params) -> Tensor:
        fin, fout = params["fade_in"], params["fade_out"]
        work = torch.float64 if x.dtype == torch.float64 else torch.float32
        g_in, g_out = _ramps(x.shape[1], fin, fout, params["shape"], x.device, work)
        y = x.clone()  # only the two end windows are touched
        y[:, : g_in.shape[1]] *= g_in.to(x.dtype)
        y[:, x.shape[1] - g_out.shape[1] :] *= g_out.to(x.dtype)
        return y

    def describe(self, params: Params) -> list[dict[str, Any]]:
        """One plain dict per example, with the fade lengths in samples and the shape by name."""
        out = super().describe(params)
        for d in out:
            d["shape"] = FADE_SHAPES[int(d["shape"])]
        return out

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        return f"p={self.p}, max_in={self.max_in}, max_out={self.max_out}, shapes={self.shapes}"

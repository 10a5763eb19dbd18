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
``g(1 - m / (L - 1))``; this is exactly torchaudio's fade-out for every shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.augment.base import Augmentation, Params, on_device, randint
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


def fade_envelope(num_samples: int, fade_in: Tensor, fade_out: Tensor, shape: Tensor, device=None) -> Tensor:
    """Gain envelopes [B, T] for fades of ``fade_in``/``fade_out`` samples ([B] int) and shape indices ([B] int).

    ``shape[i]`` indexes :data:`FADE_SHAPES`. A fade of 0 samples leaves that end untouched.
    """
    device = device if device is not None else fade_in.device
    n = torch.arange(num_samples, device=device, dtype=torch.float32).unsqueeze(0)
    lin = fade_in.to(device=device, dtype=torch.float32).reshape(-1, 1)
    lout = fade_out.to(device=device, dtype=torch.float32).reshape(-1, 1)
    # position inside each ramp, 0..1 (a 1-sample ramp sits at u = 0 like torch.linspace(0, 1, 1))
    u_in = (n / (lin - 1).clamp(min=1)).clamp(0, 1)
    m = n - (num_samples - lout)
    u_out = (1 - m / (lout - 1).clamp(min=1)).clamp(0, 1)
    in_ramp = n < lin
    out_ramp = m >= 0
    shape = shape.to(device).reshape(-1, 1)
    env = torch.ones(lin.shape[0], num_samples, device=device, dtype=torch.float32)
    for k in torch.unique(shape.cpu()).tolist():
        sel = shape == k
        g_in = torch.where(in_ramp, fade_curve(FADE_SHAPES[k], u_in), 1.0)
        g_out = torch.where(out_ramp, fade_curve(FADE_SHAPES[k], u_out), 1.0)
        env = torch.where(sel, g_in * g_out, env)
    return env


class Fade(Augmentation):
    """Fade in and fade out with per-example lengths and shape.

    Args:
        p: probability that an example is faded.
        max_in: longest fade-in, as a fraction of the clip length (0..1); the length in samples is drawn
            uniformly from the integers 0 .. floor(max_in * T).
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

    def apply(self, x: Tensor, params: Params) -> Tensor:
        if not bool(params["apply"].any()):
            return x.clone()
        active = on_device(params, "apply", x)
        zero = torch.zeros_like(params["fade_in"])
        fin = torch.where(params["apply"], params["fade_in"], zero)
        fout = torch.where(params["apply"], params["fade_out"], zero)
        env = fade_envelope(x.shape[1], fin, fout, params["shape"], device=x.device).to(x.dtype)
        return torch.where(active, x * env, x)

    def describe(self, params: Params) -> list[dict[str, Any]]:
        out = super().describe(params)
        for d in out:
            d["shape"] = FADE_SHAPES[int(d["shape"])]
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}, max_in={self.max_in}, max_out={self.max_out}, shapes={self.shapes}"

"""The augmentation contract shared by every waveform augmentation in ``core.augment``.

An augmentation works on a batch of mono waveforms ``x`` of shape [B, T] (float, any device) and keeps
the shape. It is split, like audiomentations, into two steps:

* ``randomize_parameters(x, generator)`` draws every random choice for every example *explicitly* and
  returns them as a dict of tensors whose first dimension is B (``"apply"``, a bool [B] tensor, says
  which examples the augmentation touches; it is drawn with probability ``p``). Nothing random
  happens after this step, except noise that is itself seeded from a value stored in the parameters.
* ``apply(x, params)`` is deterministic given ``params`` and returns a new tensor: it never writes
  into ``x``. The gating is written once, here: only the examples whose ``apply`` is True reach the subclass's
  ``_apply`` (as a smaller batch, with their own parameters); the others are copied unchanged.

Parameters are drawn from a CPU ``torch.Generator`` so that a seed reproduces the same draws on every
device. ``describe(params)`` turns them into one plain dict per example for display and JSON.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.errors import ConfigError

Params = dict[str, Tensor]


def as_cpu_generator(generator: torch.Generator | int | None) -> torch.Generator:
    """A CPU generator from a generator, an integer seed, or None (a fresh, randomly seeded one)."""
    if isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            raise ConfigError("augmentations draw their parameters from a CPU torch.Generator")
        return generator
    g = torch.Generator()
    if generator is None:
        g.seed()
    else:
        g.manual_seed(int(generator))
    return g


def draw_seeds(n: int, generator: torch.Generator) -> Tensor:
    """``n`` int64 seeds in [0, 2**62), for noise generated later on the data's own device."""
    return torch.randint(0, 2**62, (n,), generator=generator, dtype=torch.int64)


def device_generator(seed: int | Tensor, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed`` (for drawing large noise tensors where the data lives)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def seeded_normal(seeds: Tensor, active: Tensor, length: int, like: Tensor) -> Tensor:
    """Standard normal noise [B, length] on ``like``'s device and dtype, row ``i`` drawn from ``seeds[i]``.

    Rows where ``active`` is False are zeros (and cost nothing). Each row depends only on its own seed, so
    one example's noise is reproduced from its own parameters, whatever batch it was in. This is the only
    per-example loop of the package: one ``randn`` call per active row, on the device; everything that
    shapes, scales or mixes the noise is batched.
    """
    out = torch.zeros(seeds.shape[0], max(int(length), 0), device=like.device, dtype=like.dtype)
    if length <= 0:
        return out
    for i in torch.nonzero(active.cpu()).flatten().tolist():
        out[i].normal_(generator=device_generator(seeds[i], like.device))
    return out


def on_device(params: Params, key: str, x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``params[key]`` moved to ``x``'s device (and ``dtype`` when given) as a [B, 1] column for broadcasting."""
    v = params[key].to(device=x.device, dtype=dtype if dtype is not None else params[key].dtype)
    return v.reshape(-1, 1)


def uniform(generator: torch.Generator, n: int, low: float, high: float) -> Tensor:
    """``n`` float64 draws from U[low, high)."""
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def randint(generator: torch.Generator, n: int, low: int, high: int) -> Tensor:
    """``n`` int64 draws from the integers in [low, high] (both ends included)."""
    return torch.randint(int(low), int(high) + 1, (n,), generator=generator, dtype=torch.int64)


def check_batch(x: Tensor) -> Tensor:
    """Raise ConfigError unless ``x`` is a float [B, T] waveform batch with T >= 1; return it."""
    if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point() or x.shape[1] < 1:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        dtype = f" {x.dtype}" if isinstance(x, Tensor) else ""
        raise ConfigError(f"augmentations take float waveforms of shape [B, T] with T >= 1, got {shape}{dtype}")
    return x


class Augmentation:
    """Base class. Subclasses set ``name`` and implement ``_draw`` and ``_apply``.

    Args:
        p: probability (0..1) that each example is augmented. The authors' final code used 0.5.
        sample_rate: sample rate of the waveforms, in Hz.
    """

    name: ClassVar[str] = "augmentation"

    def __init__(self, p: float = 0.5, sample_rate: int = SAMPLE_RATE) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ConfigError(f"{self.name}: probability p={p} is outside [0, 1]")
        self.p = float(p)
        self.sample_rate = int(sample_rate)

    # -- to implement -------------------------------------------------------------------------
    def _draw(self, x: Tensor, generator: torch.Generator) -> Params:
        """Draw this augmentation's own parameters for every example of ``x`` (all with first dim B)."""
        raise NotImplementedError

    def _apply(self, x: Tensor, params: Params) -> Tensor:
        """Apply to every example of ``x`` [b, T] with its parameters (``params`` rows match ``x`` rows).

        Returns a new tensor; never writes into ``x``.
        """
        raise NotImplementedError

    def apply(self, x: Tensor, params: Params) -> Tensor:
        """Apply with the given parameters to the drawn examples only.

        Apply with the given parameters to the examples where ``params["apply"]`` is True; the others are copied
        unchanged. Returns a new tensor.
        """
        check_batch(x)
        active = params["apply"].to(torch.bool).cpu()
        if not bool(active.any()):
            return x.clone()
        if bool(active.all()):
            return self._apply(x, params)
        rows = torch.nonzero(active).flatten()
        picked = {k: v.index_select(0, rows.to(v.device)) for k, v in params.items()}
        on_x = rows.to(x.device)
        return x.index_copy(0, on_x, self._apply(x.index_select(0, on_x), picked))

    # -- shared ---------------------------------------------------------------------------------
    def randomize_parameters(self, x: Tensor, generator: torch.Generator | int | None = None) -> Params:
        """Draw ``apply`` (with probability p) and every other parameter, for each example of ``x``."""
        g = as_cpu_generator(generator)
        check_batch(x)
        n = x.shape[0]
        params: Params = {"apply": torch.rand(n, generator=g) < self.p}
        params.update(self._draw(x, g))
        return params

    def __call__(
        self, x: Tensor, generator: torch.Generator | int | None = None, return_params: bool = False
    ) -> Tensor | tuple[Tensor, Params]:
        """Draw parameters for ``x`` and apply them; with ``return_params``, also return the draws."""
        params = self.randomize_parameters(x, generator)
        y = self.apply(x, params)
        return (y, params) if return_params else y

    def describe(self, params: Params) -> list[dict[str, Any]]:
        """One plain, JSON-able dict per example: ``{"applied": bool, <param>: value, ...}``."""
        n = int(params["apply"].shape[0])
        out: list[dict[str, Any]] = []
        for i in range(n):
            d: dict[str, Any] = {"applied": bool(params["apply"][i])}
            for k, v in params.items():
                if k == "apply":
                    continue
                item = v[i]
                d[k] = item.tolist() if item.ndim else item.item()
            out.append(d)
        return out

    def extra_repr(self) -> str:
        """The settings shown by ``repr``."""
        return f"p={self.p}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

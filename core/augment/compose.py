"""Chaining augmentations.

Chaining augmentations: :class:`Compose` (each with its own probability, fixed or random order) and :class:`RandomApply`
(a whole chain applied to each example with one probability).

A chain draws each augmentation's parameters on the output of the previous one (the noise level, for
instance, is measured on the signal it is added to), so a chain draws and applies step by step. Its
parameters, ``{"order": [...], "steps": [...]}``, replay the chain exactly through :meth:`Compose.apply`.
The order is drawn once per call (per batch) when ``order="random"``; every other choice is per example.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar, Union

import torch
from torch import Tensor

from core.augment.base import Augmentation, as_cpu_generator, check_batch
from core.augment.fused import fusable, stretch_and_shift
from core.errors import ConfigError

ORDERS = ("fixed", "random")
Transform = Union[Augmentation, "Compose"]
ChainParams = dict[str, Any]


def _with_p(t: Transform, p: float) -> Transform:
    """A shallow copy of ``t`` whose probability is ``p`` (the original is left as it was)."""
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"{t.name}: probability p={p} is outside [0, 1]")
    if isinstance(t, Compose) and not isinstance(t, RandomApply):
        raise ConfigError("compose: a probability can be given to an augmentation or a RandomApply, not a Compose")
    t = copy.copy(t)
    t.p = float(p)
    return t


class Compose:
    """Apply ``augmentations`` one after the other, each with its own probability.

    Args:
        augmentations: :class:`~core.augment.base.Augmentation` objects (or nested chains).
        p: ``None`` keeps each augmentation's own probability; a number gives all of them that probability;
            a sequence gives one per augmentation. The augmentations passed in are not modified.
        order: ``"fixed"`` (the order given) or ``"random"`` (a fresh permutation drawn for each call).
    """

    name: ClassVar[str] = "compose"

    def __init__(
        self,
        augmentations: Sequence[Transform],
        p: float | Sequence[float] | None = None,
        order: str = "fixed",
    ) -> None:
        augmentations = list(augmentations)
        for a in augmentations:
            if not isinstance(a, Augmentation | Compose):
                raise ConfigError(f"{self.name}: {a!r} is not an augmentation")
        if order not in ORDERS:
            raise ConfigError(f"{self.name}: order={order!r}, choose one of {', '.join(ORDERS)}")
        if p is not None:
            ps = [p] * len(augmentations) if isinstance(p, int | float) else list(p)
            if len(ps) != len(augmentations):
                raise ConfigError(f"{self.name}: {len(ps)} probabilities for {len(augmentations)} augmentations")
            augmentations = [_with_p(a, q) for a, q in zip(augmentations, ps, strict=True)]
        self.augmentations: list[Transform] = augmentations
        self.order = order

    # -- running ----------------------------------------------------------------------------------
    def _run(self, x: Tensor, generator: torch.Generator, gate: Tensor | None) -> tuple[Tensor, ChainParams]:
        """Draw and apply step by step; ``gate`` ([B] bool) restricts every step to the examples it marks."""
        n = len(self.augmentations)
        shuffle = self.order == "random" and n > 1
        order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
        steps: list[Any] = []
        y = x
        k = 0
        while k < len(order):
            t = self.augmentations[order[k]]
            if isinstance(t, Compose):
                y, params = t._run(y, generator, gate)
            elif self._fused_at(order, k):  # a stretch then a shift: both drawn as before, one vocoder pass
                shift = self.augmentations[order[k + 1]]
                params, then = t.randomize_parameters(y, generator), shift.randomize_parameters(y, generator)
                if gate is not None:
                    params["apply"], then["apply"] = params["apply"] & gate, then["apply"] & gate
                y = stretch_and_shift(y, shift, params, then)
                steps.append(params)
                params, k = then, k + 1
            else:
                params = t.randomize_parameters(y, generator)
                if gate is not None:
                    params["apply"] = params["apply"] & gate
                y = t.apply(y, params)
            steps.append(params)
            k += 1
        if y is x:  # an empty chain still returns a new tensor
            y = x.clone()
        return y, {"order": order, "steps": steps}

    def __call__(
        self, x: Tensor, generator: torch.Generator | int | None = None, return_params: bool = False
    ) -> Tensor | tuple[Tensor, ChainParams]:
        """Augment the batch ``x`` [B, T]; with ``return_params`` also return the parameters for :meth:`apply`."""
        g = as_cpu_generator(generator)
        check_batch(x)
        y, params = self._run(x, g, None)
        return (y, params) if return_params else y

    def apply(self, x: Tensor, params: ChainParams) -> Tensor:
        """Replay the chain on ``x`` with parameters from an earlier call (deterministic)."""
        y = x
        order, steps = params["order"], params["steps"]
        k = 0
        while k < len(order):
            if self._fused_at(order, k):
                y = stretch_and_shift(y, self.augmentations[order[k + 1]], steps[k], steps[k + 1])
                k += 2
                continue
            y = self.augmentations[order[k]].apply(y, steps[k])
            k += 1
        return x.clone() if y is x else y

    fuse: bool = True
    """Run a time stretch followed by a pitch shift as one vocoder pass (:mod:`core.augment.fused`; fixed order
    only). False keeps two passes."""

    def _fused_at(self, order: list[int], k: int) -> bool:
        """Whether steps ``k`` and ``k + 1`` of ``order`` run fused (fixed order, a stretch then a shift)."""
        if not self.fuse or self.order != "fixed" or k + 1 >= len(order):
            return False
        return fusable(self.augmentations[order[k]], self.augmentations[order[k + 1]])

    # -- inspection -------------------------------------------------------------------------------
    def describe(self, params: ChainParams) -> list[list[dict[str, Any]]]:
        """Per example, the steps in the order they ran: ``{"augmentation": name, "applied": bool, ...}``."""
        per_step = []
        for i, p in zip(params["order"], params["steps"], strict=True):
            t = self.augmentations[i]
            per_step.append((t, t.describe(p)))
        n = self._batch_size(params)
        out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        for t, rows in per_step:
            for b, row in enumerate(rows):
                if isinstance(t, RandomApply):
                    entry = {"augmentation": t.name, "applied": row[0]["applied"], "steps": row[1:]}
                elif isinstance(t, Compose):
                    entry = {"augmentation": t.name, "applied": any(s["applied"] for s in row), "steps": row}
                else:
                    entry = {"augmentation": t.name, **row}
                out[b].append(entry)
        return out

    @staticmethod
    def _batch_size(params: ChainParams) -> int:
        """The batch size B that ``params`` were drawn for (0 for an empty chain)."""
        if "apply" in params:
            return int(params["apply"].shape[0])
        return Compose._batch_size(params["steps"][0]) if params["steps"] else 0

    def __len__(self) -> int:
        return len(self.augmentations)

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self.augmentations)
        return f"{type(self).__name__}([{inner}], order={self.order!r})"


class RandomApply(Compose):
    """Apply the whole chain ``augmentations`` to each example with probability ``p`` (default 0.5).

    Inside the chain each augmentation still uses its own probability; set those to 1.0 for "all or
    nothing". Parameters carry the per-example decision as ``"apply"``.
    """

    name: ClassVar[str] = "random_apply"

    def __init__(self, augmentations: Sequence[Transform], p: float = 0.5, order: str = "fixed") -> None:
        super().__init__(augmentations, None, order)
        if not 0.0 <= float(p) <= 1.0:
            raise ConfigError(f"{self.name}: probability p={p} is outside [0, 1]")
        self.p = float(p)

    def _run(self, x: Tensor, generator: torch.Generator, gate: Tensor | None) -> tuple[Tensor, ChainParams]:
        mine = torch.rand(x.shape[0], generator=generator) < self.p
        if gate is not None:
            mine = mine & gate
        y, params = super()._run(x, generator, mine)
        return y, {"apply": mine, **params}

    def describe(self, params: ChainParams) -> list[list[dict[str, Any]]]:
        """Per example: first ``{"applied": bool}`` for the chain as a whole, then its steps."""
        rows = super().describe(params)
        return [[{"applied": bool(params["apply"][b])}, *row] for b, row in enumerate(rows)]

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self.augmentations)
        return f"RandomApply([{inner}], p={self.p}, order={self.order!r})"

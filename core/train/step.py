"""One training step: augmented views, features, forward, the regime's loss, backward and the optimiser.

The step knows nothing of epochs, evaluation, checkpoints or the run store; :mod:`core.train.loop` drives it.
Everything random in a step is seeded from ``(runtime.seed, global step, rank)``, so a resumed run repeats it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor, nn

from core.errors import TrainingError
from core.regimes.base import LossSettings, Regime
from core.seeding import mix_seed
from core.train.timing import StageTimer


class TrainStep:
    """The step of one run.

    Args:
        forward: the module to call (the model, possibly wrapped by DDP or ``torch.compile``).
        net: the bare model (its parameters are clipped).
        frontend: waveform -> encoder input (no gradients).
        regime: the training regime (views, loss).
        pipeline: the augmentation chain (``core.augment``), or None for no augmentation.
        optimizer, scheduler, scaler: the optimiser, its learning-rate schedule (stepped per step) and the AMP
            gradient scaler.
        loss_settings: temperature and weights.
        seed, rank: seed the views.
        amp_dtype: autocast dtype on CUDA, or None.
        grad_clip: maximum global gradient norm; 0 disables clipping.
        channels_last: feed 2D inputs channels-last.
        distributed: gather contrastive negatives over every DDP rank.
    """

    def __init__(
        self,
        *,
        forward: nn.Module,
        net: nn.Module,
        frontend: nn.Module,
        regime: Regime,
        pipeline: Any,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        scaler: torch.amp.GradScaler,
        loss_settings: LossSettings,
        seed: int,
        rank: int = 0,
        amp_dtype: torch.dtype | None = None,
        grad_clip: float = 0.0,
        channels_last: bool = False,
        distributed: bool = False,
    ) -> None:
        self.forward, self.net, self.frontend, self.regime = forward, net, frontend, regime
        self.pipeline, self.optimizer, self.scheduler, self.scaler = pipeline, optimizer, scheduler, scaler
        self.loss_settings, self.seed, self.rank = loss_settings, seed, rank
        self.amp_dtype, self.grad_clip, self.channels_last = amp_dtype, grad_clip, channels_last
        self.distributed = distributed

    def views(self, x: Tensor, step: int) -> Tensor:
        """The regime's augmented views of a clean batch [B, T], concatenated along the batch ([V * B, T])."""
        g = torch.Generator().manual_seed(mix_seed(self.seed, step, self.rank, 0xA06))
        if self.regime.views == 1:
            return self.pipeline(x, generator=g) if self.pipeline is not None else x
        if self.pipeline is None:
            return torch.cat([x] * self.regime.views)
        return torch.cat([self.pipeline(x, generator=g) for _ in range(self.regime.views)])

    def inputs(self, waveforms: Tensor) -> Tensor:
        """The encoder's input for waveforms [B, T] (features for 2D encoders), without gradients."""
        with torch.no_grad():
            inp = self.frontend(waveforms)
        if self.channels_last and inp.ndim == 4:
            inp = inp.contiguous(memory_format=torch.channels_last)
        return inp

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def __call__(self, x: Tensor, labels: Tensor, step: int, timer: StageTimer) -> dict[str, float]:
        """One optimiser step on a clean batch.

        One optimiser step on the clean batch ``x`` [B, T] with ``labels`` [B] (-1: unlabelled); ``step`` is the global
        step about to be taken. Returns the logged parts (``loss``, the regime's parts, ``lr``).
        """
        timer.lap("input")
        views = self.views(x, step)
        timer.lap("augment")
        inp = self.inputs(views)
        timer.lap("features")
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            out = self.forward(inp)
        loss, parts = self.regime.loss(out, labels, self.loss_settings, self.distributed)
        if not torch.isfinite(loss.detach()):
            raise TrainingError(self._nonfinite_reason(float(loss), step, x, inp))
        self.scaler.scale(loss).backward()
        if self.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            parts["grad_norm"] = float(nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        parts["lr"] = float(self.optimizer.param_groups[0]["lr"])
        self.scheduler.step()
        timer.lap("model")
        return parts

    def _nonfinite_reason(self, loss: float, step: int, waveforms: Tensor, inputs: Tensor) -> str:
        """One line saying why the loss is not finite: bad input, bad features, or a diverging model."""
        where = f"loss is {loss} at step {step + 1}"
        if not torch.isfinite(waveforms).all():
            return f"{where}: the batch's waveforms hold NaN or infinite samples"
        if not torch.isfinite(inputs).all():
            return f"{where}: the features of finite audio are not finite (check features.overrides)"
        lr = self.optimizer.param_groups[0]["lr"]
        return f"{where}: the model diverged at learning rate {lr:.3g}; lower optim.lr"

"""What a training regime is: the contract every ``core/regimes/<name>.py`` module fulfils.

A regime owns everything that differs between supervised training, SimCLR and CLAR, and nothing else:

* its head on top of the encoder's representation ``h`` (:meth:`Regime.build_head`) and what it outputs
  (:meth:`Regime.outputs`: ``z`` for the contrastive loss, ``logits`` for a classifier);
* how many augmented views of each clip a step draws (:attr:`Regime.views`);
* which training clips one epoch iterates over (:attr:`Regime.trains_on`);
* its loss (:meth:`Regime.loss`), which calls the pure functions in :mod:`core.losses`;
* its default monitor (the validation metric that picks the best checkpoint) and whether it has a classifier.

A new regime (BYOL-A, SupCon) is one new module in this package that defines ``REGIME = MyRegime()``; the
registry (:mod:`core.regimes.registry`) finds it, and nothing else needs an edit.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np
from torch import Tensor, nn


class LossSettings(Protocol):
    """The loss settings a regime reads (``core.config.LossConfig`` has them)."""

    temperature: float
    w_c: float
    w_s: float


def split_views(out: dict[str, Tensor], n_views: int) -> list[dict[str, Tensor]]:
    """Split a model output over ``n_views`` concatenated views into one dict per view."""
    parts: list[dict[str, Tensor]] = [{} for _ in range(n_views)]
    for key, value in out.items():
        if isinstance(value, Tensor) and value.ndim >= 1:
            for i, chunk in enumerate(value.chunk(n_views)):
                parts[i][key] = chunk
    return parts


class Regime:
    """Base class of the training regimes. Subclasses set the class attributes and implement the methods.

    Attributes:
        name: the config's ``model.regime`` value.
        views: augmented views drawn per clip per step (1: supervised; 2: a positive pair).
        trains_on: ``"labelled"`` (an epoch is one pass over the labelled training clips) or ``"all"`` (one
            pass over every training clip, labelled or not).
        has_classifier: whether the model itself outputs class logits (else a probe classifies).
        needs_classes: whether the head needs the number of classes.
        default_monitor: the validation metric that selects the best checkpoint when ``eval.monitor`` is auto.
        summary: one line for the docs and the run output.
    """

    name: ClassVar[str] = ""
    views: ClassVar[int] = 2
    trains_on: ClassVar[str] = "all"
    has_classifier: ClassVar[bool] = False
    needs_classes: ClassVar[bool] = False
    default_monitor: ClassVar[str] = "valid/linear_acc"
    summary: ClassVar[str] = ""

    def build_head(
        self, embed_dim: int, num_classes: int | None, *, hidden_dim: int, proj_dim: int, proj_layers: int
    ) -> nn.Module:
        """The head on ``h`` [B, embed_dim] (sizes in features; ``proj_layers`` linear layers in a projection)."""
        raise NotImplementedError

    def outputs(self, head: nn.Module, h: Tensor) -> dict[str, Tensor]:
        """The head's outputs for representations ``h``: ``z`` and/or ``logits``."""
        raise NotImplementedError

    def loss(
        self, out: dict[str, Tensor], labels: Tensor, settings: LossSettings, distributed: bool = False
    ) -> tuple[Tensor, dict[str, float]]:
        """The loss of one step and its logged parts (floats).

        Args:
            out: model outputs over the ``views`` views of the batch, concatenated along the batch (view 1 first).
            labels: int64 [B] per clip (not per view); -1 marks an unlabelled clip.
            settings: temperature and weights (``core.config.LossConfig``).
            distributed: gather contrastive negatives over every DDP rank.
        """
        raise NotImplementedError

    def train_indices(self, labels: np.ndarray) -> np.ndarray:
        """Indices of the training clips one epoch iterates over (``labels`` hold -1 for unlabelled clips)."""
        labels = np.asarray(labels)
        return np.flatnonzero(labels >= 0) if self.trains_on == "labelled" else np.arange(labels.shape[0])

    def epoch_description(self) -> str:
        """What one epoch of this regime is, in words (shown in the run output and the config docs)."""
        what = "labelled training clips" if self.trains_on == "labelled" else "training clips, labelled or not"
        return f"one pass over the {what}, {self.views} view(s) per clip"

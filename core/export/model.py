"""The exported module: the feature front end in its exportable form, the encoder and the classifier, in one."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.features.exportable import ExportableFeatures
from core.features.frontend import FeatureFrontend

if TYPE_CHECKING:
    from core.inference import Trained


class _ProbeHead(nn.Module):
    """A fitted linear probe as a module: standardise, then the linear layer."""

    def __init__(self, mean: Tensor, std: Tensor, linear: nn.Linear) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().float().clone())
        self.register_buffer("std", std.detach().float().clone())
        self.linear = copy.deepcopy(linear).float()

    def forward(self, h: Tensor) -> Tensor:
        return self.linear((h - self.mean) / self.std)


class _Standardise(nn.Module):
    """The fitted per-channel feature normaliser as fixed arithmetic: ``(x - mean_c) / max(std_c, eps)``."""

    def __init__(self, mean: Tensor, std: Tensor, eps: float) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().float().view(1, -1, 1, 1).clone())
        self.register_buffer("std", std.detach().float().clamp_min(eps).view(1, -1, 1, 1).clone())

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class _ModelHead(nn.Module):
    """The model's own classifier head (supervised and CLAR runs)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.head = copy.deepcopy(model.head)
        self.impl = model.impl

    def forward(self, h: Tensor) -> Tensor:
        return self.impl.outputs(self.head, h)["logits"]


class ExportedModel(nn.Module):
    """``forward(waveform [B, num_samples] float32, 16 kHz) -> (embedding [B, D], logits [B, C])``, in eval mode.

    The feature front end is :class:`core.features.exportable.ExportableFeatures` (real arithmetic, no FFT) with
    the run's fitted normaliser; 1D encoders take the waveform as it is. The logits are the model's own head for
    supervised and CLAR runs, and the linear probe fitted by ``python -m core eval`` for SimCLR runs (softmax
    gives the class probabilities; ``class_names`` orders them).

    Raises:
        ConfigError: a SimCLR checkpoint without a matching ``probe.pt`` (it has no classifier to export).
    """

    def __init__(self, trained: Trained) -> None:
        super().__init__()
        frontend = trained.frontend
        if isinstance(frontend, FeatureFrontend):
            self.features: nn.Module = ExportableFeatures(frontend.feature_config)
            norm = frontend.normalizer
            fitted = norm.mode != "none" and norm.fitted
            self.normalizer: nn.Module = _Standardise(norm.mean, norm.std, norm.eps) if fitted else nn.Identity()
        else:
            self.features, self.normalizer = nn.Identity(), nn.Identity()
        self.encoder = copy.deepcopy(trained.model.encoder).float()
        if trained.has_classifier:
            self.classifier: nn.Module = _ModelHead(trained.model)
        elif trained.probe is not None:
            p = trained.probe
            self.classifier = _ProbeHead(p.mean, p.std, p.linear)
        else:
            raise ConfigError(
                f"{trained.checkpoint_path}: a {trained.regime or 'self-supervised'} model has no classifier to "
                f"export and {trained.probe_note or 'no linear probe was found'}; fit one first with "
                f"`python -m core eval --checkpoint {trained.checkpoint_path}`"
            )
        self.class_names = list(trained.class_names)
        self.num_samples = int(trained.num_samples or 16000)
        self.eval()

    def forward(self, waveform: Tensor) -> tuple[Tensor, Tensor]:
        """Embedding [B, D] and logits [B, C] of waveforms [B, num_samples]."""
        h = self.encoder(self.normalizer(self.features(waveform)))
        return h, self.classifier(h)


@torch.no_grad()
def reference_outputs(trained: Trained, waveforms: Tensor) -> tuple[Tensor, Tensor]:
    """The checkpoint's own embedding and logits (the training code's fast path) for ``waveforms`` [B, T]."""
    out = trained.outputs(waveforms, batch_size=len(waveforms))  # one forward pass gives both
    return out["h"], out["logits"] if trained.has_classifier else trained.probe.logits(out["h"])

"""The evaluator: clean-audio embeddings and the scores of a model.

The evaluator: clean-audio embeddings of a model on some clips, and its scores there (its own classifier head, and
linear and kNN probes trained on labelled clips). The trainer uses it every epoch (online), and the offline ``eval``
uses it to embed the splits before fitting its probe.

Nothing is ever augmented here: the waveforms go straight through the frontend (features, normaliser) and the
encoder in eval mode. ``tests/evaluate/test_evaluator.py`` checks this with a pipeline that corrupts its input.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.probes import knn_probe, linear_probe
from core.probes.metrics import classification_report
from core.regimes.model import forward_batches
from core.seeding import mix_seed, seed_everything

Source = Any
"""Where clips come from: a ``core.data.batches.WaveformStore`` (``.batch(index)``, on the device) or a float
array [N, T] (numpy, memory map, ``IndexedRows``), copied to the device batch by batch."""


class Evaluator:
    """Embeds clean clips and scores a model on them.

    Args:
        frontend: waveform -> encoder input (fitted normaliser; eval mode).
        device: where the model runs.
        batch_size: clips per forward pass.
        autocast_dtype: ``torch.bfloat16``/``float16`` to run under autocast (CUDA), or None.
        channels_last: feed 2D inputs in channels-last memory layout.
    """

    def __init__(
        self,
        frontend: nn.Module,
        device: torch.device,
        batch_size: int = 256,
        *,
        autocast_dtype: torch.dtype | None = None,
        channels_last: bool = False,
    ) -> None:
        self.frontend = frontend
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.autocast_dtype = autocast_dtype
        self.channels_last = channels_last

    def _batches(self, source: Source, index: np.ndarray) -> Iterator[Tensor]:
        for start in range(0, len(index), self.batch_size):
            chunk = index[start : start + self.batch_size]
            if hasattr(source, "batch"):
                yield source.batch(torch.as_tensor(chunk, dtype=torch.int64))
            else:
                rows = source.rows(chunk) if hasattr(source, "rows") else np.asarray(source[chunk])
                yield torch.from_numpy(np.array(rows, dtype=np.float32)).to(self.device, non_blocking=True)

    def outputs(self, net: nn.Module, source: Source, index: np.ndarray | None = None) -> dict[str, Tensor]:
        """Model outputs of the clean clips of ``source``, as CPU float32 tensors.

        Model outputs (``h`` and, where the model has them, ``logits``, ``z``) of the clean clips of ``source`` at
        ``index`` (all by default), as CPU float32 tensors.
        """
        idx = np.arange(len(source)) if index is None else np.asarray(index, dtype=np.int64)
        if idx.size == 0:
            return {"h": torch.zeros(0, int(getattr(net, "embed_dim", 512)))}
        return forward_batches(
            net,
            self.frontend,
            self._batches(source, idx),
            autocast_dtype=self.autocast_dtype,
            channels_last=self.channels_last,
        )

    def score(
        self,
        net: nn.Module,
        eval_sets: Mapping[str, tuple[Source, np.ndarray]],
        probe_train: tuple[Source, np.ndarray, np.ndarray] | None,
        *,
        num_classes: int,
        linear: bool = True,
        knn: bool = True,
        knn_k: int = 20,
        seed: int = 0,
        reports: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, float]:
        """Scores of ``net`` on each evaluation set.

        Scores of ``net`` on each evaluation set, as ``<set>/head_acc``, ``<set>/head_loss``, ``<set>/linear_acc`` and
        ``<set>/knn_acc``.

        Args:
            net: the model (its own classifier head is scored where it has one).
            eval_sets: ``{name: (source, labels)}``.
            probe_train: ``(source, labels, index)``: the probes train on the clips at ``index`` (labelled ones;
                -1 labels are ignored). None skips the probes.
            num_classes: the number of classes.
            linear: run the linear probe.
            knn: run the kNN probe.
            knn_k: the kNN probe's neighbours.
            seed: seeds the probes (deterministic evaluation).
            reports: if given, filled with ``{set: {"head": report, "linear": report}}``, the full
                :func:`core.probes.metrics.classification_report` (per-class accuracy, confusion matrix) of the
                head and of the linear probe on each set.
        """
        seed_everything(mix_seed(seed, 0x9B0E))
        metrics: dict[str, float] = {}
        embedded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, (source, labels) in eval_sets.items():
            if len(labels) == 0:
                continue
            out = self.outputs(net, source)
            y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
            embedded[name] = (out["h"].numpy(), y.numpy())
            if "logits" in out:
                metrics[f"{name}/head_acc"] = float((out["logits"].argmax(1) == y).float().mean())
                metrics[f"{name}/head_loss"] = float(F.cross_entropy(out["logits"], y))
                if reports is not None:
                    reports.setdefault(name, {})["head"] = classification_report(y, out["logits"], num_classes)
        if probe_train is not None and embedded and (linear or knn):
            source, labels, index = probe_train
            h_train = self.outputs(net, source, index)["h"].numpy()
            y_train = np.asarray(labels)[np.asarray(index)]
            if linear:
                for name, m in linear_probe(h_train, y_train, embedded, seed=seed, num_classes=num_classes).items():
                    metrics[f"{name}/linear_acc"] = float(m["top1"])
                    if reports is not None:
                        reports.setdefault(name, {})["linear"] = m
            if knn:
                k = min(knn_k, int((y_train >= 0).sum()))
                for name, m in knn_probe(h_train, y_train, embedded, k=k, num_classes=num_classes).items():
                    metrics[f"{name}/knn_acc"] = float(m["top1"])
        return metrics


def probe_sample(labels: np.ndarray, max_clips: int, seed: int) -> np.ndarray:
    """The labelled clips the online probes train on.

    Sorted indices of at most ``max_clips`` labelled clips (label >= 0), a seeded sample when there are more: the clips
    the online probes train on (the offline ``eval`` uses every labelled clip).
    """
    labelled = np.flatnonzero(np.asarray(labels) >= 0)
    if labelled.size <= max_clips:
        return labelled
    rng = np.random.default_rng(mix_seed(seed, 0x9B0F))
    return np.sort(rng.choice(labelled, size=max_clips, replace=False))

"""Using a trained checkpoint: load it, embed clean audio, and classify.

``load_trained`` accepts a checkpoint file, a run folder ``checkpoints/<run_id>/`` or a bare run id and
returns a :class:`Trained` whose model and frontend are in eval mode on the chosen device. Nothing here
augments audio: embeddings and predictions are of the clean waveforms given.

Classification uses the model's own classifier where it has one (supervised and CLAR runs give logits).
A SimCLR run has none; ``python -m core eval`` then fits a linear probe on its frozen embeddings and saves it
as ``probe.pt`` next to the checkpoint, and ``predict`` uses it. The probe records which checkpoint (file,
epoch and step) it was fitted on and is only used with that checkpoint.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from core import SAMPLE_RATE
from core.config.build import load_model_from_checkpoint
from core.device import resolve_device
from core.errors import CheckpointError, ConfigError
from core.paths import checkpoints_dir
from core.probes.linear import LinearProbe
from core.regimes.model import forward_batches

PROBE_FILENAME = "probe.pt"
OnBatch = Callable[[int, int], None]
"""A progress callback: ``on_batch(batches done, batches in all)``."""


def data_settings(config: dict) -> dict:
    """The data settings a run was trained with.

    The dataset a run was trained on, from its config (``core.data.config.DataConfig``): name, root, task, version, fold
    (ESC test fold), test_group, validation, num_samples (clip length in samples, or None for the dataset's default),
    label_fraction (of the training split), label_seed and split_seed.
    """
    data = config.get("data") or {}
    return {
        "name": data.get("dataset"),
        "root": data.get("root"),
        "task": data.get("task"),
        "version": data.get("version"),
        "fold": data.get("test_fold", data.get("fold")),
        "test_group": data.get("test_group"),
        "validation": data.get("validation", "auto"),
        "num_samples": None if data.get("num_samples") is None else int(data["num_samples"]),
        "label_fraction": float(data.get("label_fraction", 1.0)),
        "label_seed": int(data.get("label_seed", 0)),
        "split_seed": int(data.get("split_seed", 0)),
    }


def resolve_checkpoint(ref: str | Path, which: str = "best") -> Path:
    """The checkpoint file for ``ref``: a ``.pt`` file, a run folder, or a run id under ``checkpoints_dir()``.

    In a folder, ``which`` picks ``best.pt`` or ``last.pt`` (or any ``<which>.pt``, e.g. ``epoch_0003``).
    A run without a ``best`` checkpoint (no validation split) falls back to ``last`` with a warning.
    """
    ref_path = Path(ref).expanduser()
    if ref_path.is_file():
        return ref_path
    looked = [str(ref_path)]
    folder = None
    if ref_path.is_dir():
        folder = ref_path
    else:
        candidate = checkpoints_dir() / str(ref)
        looked.append(str(candidate))
        if candidate.is_dir():
            folder = candidate
    if folder is None:
        raise CheckpointError(
            f"checkpoint {ref!s}: not a file, a run folder or a run id (looked in {', '.join(looked)})"
        )
    name = which if which.endswith(".pt") else f"{which}.pt"
    path = folder / name
    if path.is_file():
        return path
    if which == "best" and (folder / "last.pt").is_file():
        warnings.warn(f"{folder}: no best.pt (the run had no validation checkpoint); using last.pt", stacklevel=2)
        return folder / "last.pt"
    present = sorted(p.name for p in folder.glob("*.pt") if p.name != PROBE_FILENAME)
    raise CheckpointError(f"{path}: no such checkpoint (present: {', '.join(present) or 'none'})")


def _batches(waveforms, batch_size: int) -> Iterator[np.ndarray | Tensor]:
    for start in range(0, len(waveforms), batch_size):
        yield waveforms[start : start + batch_size]


@dataclass
class Trained:
    """A trained model ready for inference.

    Attributes:
        model: the ClarModel (eval mode), ``model(x)`` -> dict with ``h`` and, where trained, ``z``/``logits``.
        frontend: waveform [B, T] -> encoder input (eval mode).
        class_names: the classes of the run's dataset, indexed like the logits.
        config: the run's config as a plain dict.
        device: where model and frontend live.
        checkpoint_path: the file loaded.
        epoch, global_step: training progress stored in the checkpoint.
        feature_config: the feature settings (dict) or None for waveform encoders.
        probe: a linear probe fitted by ``eval`` on this checkpoint's embeddings, or None.
        probe_note: why no probe is used (missing, or fitted on another checkpoint), for error messages.
        data: the run's dataset settings (see :func:`data_settings`).
        run_id: the run's id (from the checkpoint, else its folder's name).
    """

    model: nn.Module
    frontend: nn.Module
    class_names: list[str]
    config: dict
    device: torch.device
    checkpoint_path: Path
    epoch: int = 0
    global_step: int = 0
    feature_config: dict | None = None
    probe: LinearProbe | None = None
    probe_note: str = ""
    data: dict = field(default_factory=dict)
    run_id: str = ""

    @property
    def regime(self) -> str:
        """``supervised``, ``simclr`` or ``clar``."""
        return str(getattr(self.model, "regime", None) or (self.config.get("model") or {}).get("regime", ""))

    @property
    def num_samples(self) -> int | None:
        """Clip length (samples) the run was trained on, or None if its config does not say."""
        if self.data.get("num_samples"):
            return int(self.data["num_samples"])
        from core.data import DEFAULT_SECONDS

        seconds = DEFAULT_SECONDS.get(self.data.get("name") or "")
        return round(float(seconds) * SAMPLE_RATE) if seconds else None

    @property
    def embed_dim(self) -> int:
        """The size of the representation ``h``, in features."""
        return int(getattr(self.model.encoder, "embed_dim", 512))

    def identity(self) -> dict:
        """JSON-able provenance of this checkpoint (used in reports and probe files)."""
        return {
            "checkpoint": str(self.checkpoint_path),
            "checkpoint_file": self.checkpoint_path.name,
            "run_id": self.run_id,
            "epoch": int(self.epoch),
            "global_step": int(self.global_step),
            "regime": self.regime,
        }

    def _to_device(self, batch) -> Tensor:
        # np.array copies: batches of a read-only memory map become ordinary writable arrays.
        x = batch if isinstance(batch, Tensor) else torch.from_numpy(np.array(batch, dtype=np.float32))
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2:
            raise ConfigError(f"waveforms must be [B, T] or [T], got shape {tuple(x.shape)}")
        return x.to(self.device, dtype=torch.float32, non_blocking=True)

    def outputs(
        self,
        waveforms,
        batch_size: int = 64,
        progress: bool = False,
        desc: str = "embedding",
        on_batch: OnBatch | None = None,
    ) -> dict:
        """Model outputs for clean waveforms, in batches.

        Model outputs for clean ``waveforms`` [B, T]: a dict of CPU float32 tensors (``h`` and, where the model has
        them, ``z`` and ``logits``), computed in batches of ``batch_size`` without gradients. ``on_batch(done,
        total)`` is called before each batch and once at the end (``done == total``), counting batches: the app's
        progress bars read it, as tqdm's does with ``progress``.
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        total = math.ceil(len(waveforms) / batch_size)

        def batches() -> Iterator[Tensor]:
            for k, b in enumerate(_batches(waveforms, batch_size)):
                if on_batch is not None:
                    on_batch(k, total)
                yield self._to_device(b)
            if on_batch is not None:
                on_batch(total, total)

        bar = tqdm(batches(), total=total, desc=desc, disable=not progress, unit="batch")
        out = forward_batches(self.model, self.frontend, bar)
        return out or {"h": torch.zeros(0, self.embed_dim)}

    def embed(self, waveforms, batch_size: int = 64, progress: bool = False, on_batch: OnBatch | None = None) -> Tensor:
        """Representations ``h`` [B, 512] (CPU float32) of clean ``waveforms`` [B, T] (numpy or torch).

        ``on_batch`` as in :meth:`outputs`.
        """
        return self.outputs(waveforms, batch_size, progress, on_batch=on_batch)["h"]

    @property
    def has_classifier(self) -> bool:
        """Whether the model itself gives logits (supervised and CLAR runs)."""
        impl = getattr(self.model, "impl", None)
        return bool(impl.has_classifier) if impl is not None else False

    @property
    def can_classify(self) -> bool:
        """Whether :meth:`predict` has a classifier to use: the model's head, or a probe fitted by ``eval``."""
        return self.has_classifier or self.probe is not None

    def predict(self, waveforms, batch_size: int = 64, source: str = "auto", progress: bool = False) -> Tensor:
        """Class probabilities [B, C] for clean ``waveforms`` [B, T].

        ``source``: ``"head"`` (the model's classifier), ``"probe"`` (``probe.pt`` from ``eval``) or
        ``"auto"`` (the classifier where the model has one, else the probe). Raises ConfigError when the
        chosen source is not available, saying how to make it.
        """
        return self.predict_and_embed(waveforms, batch_size, source, progress)[0]

    def predict_and_embed(
        self,
        waveforms,
        batch_size: int = 64,
        source: str = "auto",
        progress: bool = False,
        on_batch: OnBatch | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Class probabilities [B, C] and representations ``h`` [B, D] of clean ``waveforms`` [B, T], in one pass.

        ``source`` as in :meth:`predict`; ``on_batch`` as in :meth:`outputs`.
        """
        if source not in ("auto", "head", "probe"):
            raise ConfigError(f"predict source {source!r}: choose auto, head or probe")
        use_head = source == "head" or (source == "auto" and self.has_classifier)
        if use_head:
            out = self.outputs(waveforms, batch_size, progress, desc="classifying", on_batch=on_batch)
            if "logits" not in out:
                raise ConfigError(f"{self.checkpoint_path}: this {self.regime or 'model'} run has no classifier head")
            return torch.softmax(out["logits"], dim=1), out["h"]
        if self.probe is None:
            raise ConfigError(
                f"{self.checkpoint_path}: a {self.regime or 'self-supervised'} model has no classifier and "
                f"{self.probe_note or 'no linear probe was found'}; fit one with "
                f"`python -m core eval --checkpoint {self.checkpoint_path}` (it saves {PROBE_FILENAME})"
            )
        h = self.embed(waveforms, batch_size, progress, on_batch)
        return self.probe.predict_proba(h), h

    def probe_path(self) -> Path:
        """Where this checkpoint's ``probe.pt`` lives."""
        return self.checkpoint_path.parent / PROBE_FILENAME

    def attach_probe(self, head: LinearProbe, save: bool = True) -> Path | None:
        """Use ``head`` as this checkpoint's probe; with ``save``, write it to ``probe.pt`` beside the checkpoint."""
        head.meta = {**head.meta, **self.identity()}
        self.probe, self.probe_note = head, ""
        return head.save(self.probe_path()) if save else None


def _match_probe(trained: Trained) -> tuple[LinearProbe | None, str]:
    path = trained.probe_path()
    if not path.is_file():
        return None, f"there is no {path}"
    try:
        head = LinearProbe.load(path)
    except CheckpointError as e:
        return None, f"{PROBE_FILENAME} is unreadable ({e})"
    meta = head.meta
    # Within a run, the weights at a given optimiser step are the same whichever file holds them.
    if meta.get("run_id") != trained.run_id or int(meta.get("global_step", -1)) != trained.global_step:
        return None, (
            f"{path} was fitted on {meta.get('checkpoint_file')} at step {meta.get('global_step')}, "
            f"not on {trained.checkpoint_path.name} at step {trained.global_step}"
        )
    if head.class_names != trained.class_names or head.dim != trained.embed_dim:
        return None, f"{path} does not match this checkpoint's classes or embedding size"
    return head, ""


def load_trained(ref: str | Path, device: str | torch.device = "auto", which: str = "best") -> Trained:
    """Load a checkpoint (file, run folder or run id) for inference, model and frontend in eval mode.

    ``which`` chooses the checkpoint inside a run folder (``best``, ``last`` or e.g. ``epoch_0003``).
    Raises CheckpointError for a missing, truncated or foreign file.
    """
    path = resolve_checkpoint(ref, which)
    dev = resolve_device(device)
    # The shared loader: torch.load(weights_only=True), format checks, weights into the configured model.
    model, frontend, state = load_model_from_checkpoint(path, dev)
    config = state["config"]
    class_names = [str(c) for c in state["class_names"]]
    trained = Trained(
        model=model,
        frontend=frontend,
        class_names=class_names,
        config=config,
        device=dev,
        checkpoint_path=path,
        epoch=int(state.get("epoch") or 0),
        global_step=int(state.get("global_step") or 0),
        feature_config=state.get("feature_config"),
        data=data_settings(config),
        run_id=str(state.get("run_id") or path.parent.name),
    )
    trained.probe, trained.probe_note = _match_probe(trained)
    return trained

"""Fine-tuning evaluation: a copy of the encoder plus a new linear layer, trained end-to-end on clean labels.

The checkpoint's own model is never modified. Training uses only the labelled training clips, without
augmentation; the epoch with the best validation top-1 is kept and scored once on test.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from core.errors import ConfigError
from core.probes import classification_report

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.evaluate.splits import EvalSplits
    from core.inference import Trained


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, start + batch_size)


@torch.no_grad()
def _predict(frontend: nn.Module, encoder: nn.Module, linear: nn.Module, ds: AudioDataset, batch_size: int, device):
    encoder.eval()
    preds = []
    for sl in _batches(len(ds), batch_size):
        x = torch.as_tensor(np.asarray(ds.waveforms[sl], dtype=np.float32), device=device)
        preds.append(linear(encoder(frontend(x))).argmax(1).cpu())
    return torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)


@torch.no_grad()
def _probe_init(frontend, encoder, splits, train_labels, batch_size: int, device) -> dict[str, Tensor]:
    """A linear probe fitted on the frozen encoder (weight decay chosen on validation), as ``nn.Linear`` weights.

    The probe's standardisation is folded in: ``W' = W / std`` and ``b' = b - W' mean``, so the layer takes raw
    embeddings and starts fine-tuning exactly at the probe (LP-FT: Kumar et al., ICLR 2022).
    """
    from core.probes import select_linear_probe

    encoder.eval()

    def embed(ds, rows: np.ndarray) -> Tensor:
        out = []
        for sl in _batches(rows.size, batch_size):
            x = torch.as_tensor(np.asarray(ds.waveforms[np.sort(rows[sl])], dtype=np.float32), device=device)
            out.append(encoder(frontend(x)).float().cpu())
        return torch.cat(out)

    labelled = np.sort(np.flatnonzero(np.asarray(train_labels) >= 0))
    valid = np.arange(len(splits.valid))
    probe, _ = select_linear_probe(
        embed(splits.train, labelled),
        np.asarray(train_labels)[labelled],
        splits.class_names,
        embed(splits.valid, valid) if valid.size else None,
        np.asarray(splits.valid.labels) if valid.size else None,
    )
    weight = probe.linear.weight / probe.std
    return {"weight": weight, "bias": probe.linear.bias - weight @ probe.mean}


def finetune_evaluation(
    trained: Trained,
    splits: EvalSplits,
    train_labels: np.ndarray,
    *,
    epochs: int = 5,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 32,
    seed: int = 0,
    init: str = "random",
    progress: bool = True,
) -> dict:
    """Fine-tune encoder + a new ``Linear(embed_dim, C)`` with cross-entropy on the labelled training clips.

    ``train_labels`` [len(splits.train)] holds -1 for clips not to train on. Adam (encoder at ``lr``, the new
    layer at ``head_lr``, L2 ``weight_decay``), ``epochs`` passes in a seeded order, BatchNorm in training
    mode (a trailing batch of a single clip is skipped). After each epoch the validation top-1 is measured;
    the best epoch (the earliest on ties) is restored and scored on validation and test. Without validation
    clips the last epoch is used and the result says so.

    ``init``: ``random`` (the new layer starts from PyTorch's default initialisation) or ``probe`` (it starts
    as a linear probe fitted on the frozen encoder, LP-FT; the probe itself is then epoch 0, a candidate for the
    best epoch, so fine-tuning is kept only where validation says it helped).
    """
    if init not in ("random", "probe"):
        raise ConfigError(f"finetune init {init!r}: choose random or probe")
    if epochs < 1:
        raise ConfigError(f"finetune epochs must be >= 1, got {epochs}")
    if batch_size < 2:
        raise ConfigError(f"finetune batch_size must be >= 2 (BatchNorm), got {batch_size}")
    device = trained.device
    num_classes = len(splits.class_names)
    torch.manual_seed(seed)
    frontend = copy.deepcopy(trained.frontend).eval()
    encoder = copy.deepcopy(trained.model.encoder)
    for p in encoder.parameters():
        p.requires_grad_(True)
    linear = nn.Linear(trained.embed_dim, num_classes).to(device)
    opt = torch.optim.Adam(
        [{"params": encoder.parameters(), "lr": lr}, {"params": linear.parameters(), "lr": head_lr}],
        weight_decay=weight_decay,
    )
    labelled = np.flatnonzero(np.asarray(train_labels) >= 0)
    if labelled.size < 2:
        raise ConfigError(f"fine-tuning needs at least 2 labelled training clips, got {labelled.size}")
    has_valid = len(splits.valid) > 0
    gen = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    best: tuple | None = None
    if init == "probe":
        linear.load_state_dict(_probe_init(frontend, encoder, splits, train_labels, batch_size * 2, device))
        if has_valid:
            top1 = float((_predict(frontend, encoder, linear, splits.valid, batch_size * 2, device)
                          == np.asarray(splits.valid.labels)).mean())  # fmt: skip
            history.append({"epoch": 0, "train_loss": None, "valid_top1": top1})
            best = (top1, 0, copy.deepcopy(encoder.state_dict()), copy.deepcopy(linear.state_dict()))
    for epoch in range(1, epochs + 1):
        encoder.train()
        order = labelled[torch.randperm(labelled.size, generator=gen).numpy()]
        total, seen = 0.0, 0
        bar = tqdm(
            _batches(order.size, batch_size),
            total=math.ceil(order.size / batch_size),
            desc=f"fine-tune epoch {epoch}/{epochs}",
            disable=not progress,
        )
        for sl in bar:
            idx = np.sort(order[sl])
            if idx.size < 2:
                continue
            x = torch.as_tensor(np.asarray(splits.train.waveforms[idx], dtype=np.float32), device=device)
            y = torch.as_tensor(np.asarray(train_labels)[idx], dtype=torch.int64, device=device)
            with torch.no_grad():
                inputs = frontend(x)
            loss = F.cross_entropy(linear(encoder(inputs)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.size
            seen += idx.size
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        entry: dict = {"epoch": epoch, "train_loss": total / max(1, seen)}
        if has_valid:
            pred = _predict(frontend, encoder, linear, splits.valid, batch_size * 2, device)
            entry["valid_top1"] = float((pred == np.asarray(splits.valid.labels)).mean())
        history.append(entry)
        if best is None or not has_valid or entry["valid_top1"] > best[0]:
            best = (
                entry.get("valid_top1"),
                epoch,
                copy.deepcopy(encoder.state_dict()),
                copy.deepcopy(linear.state_dict()),
            )
    _, best_epoch, encoder_state, linear_state = best
    encoder.load_state_dict(encoder_state)
    linear.load_state_dict(linear_state)
    result: dict = {
        "selection": {
            "epoch": best_epoch,
            "selected_on": "valid" if has_valid else "none (no validation clips: last epoch)",
            "history": history,
            "epochs": epochs,
            "lr": lr,
            "head_lr": head_lr,
            "weight_decay": weight_decay,
            "batch_size": batch_size,
            "init": init,
        }
    }
    for name, ds in (("valid", splits.valid), ("test", splits.test)):
        if len(ds):
            pred = _predict(frontend, encoder, linear, ds, batch_size * 2, device)
            result[name] = classification_report(ds.labels, pred, splits.class_names)
    return result

"""Offline evaluation of a trained checkpoint: linear evaluation on frozen features, or fine-tuning.

Linear evaluation (the paper's protocol):

1. Embed every clip of the dataset with the frozen encoder: 512-d representations ``h`` of the clean audio
   (nothing is augmented).
2. Keep the labelled part of the training split: the run's own label fraction, drawn with the run's seed
   through ``core.data.labelled_fraction`` (so the probe sees the labels the run saw), unless overridden.
3. Fit a logistic-regression probe (``core.evaluate.linear_head``), choosing its weight decay on the
   validation split.
4. Score the test split once: top-1 accuracy, per-class accuracy and the confusion matrix
   (rows = true class, columns = predicted class).

Fine-tuning trains a copy of the encoder plus a new linear layer end-to-end with cross-entropy on the clean,
labelled training clips for a few epochs, keeps the epoch with the best validation top-1 and scores it on
test. The checkpoint itself is never modified.

For datasets with official folds (ESC-10/ESC-50) each fold in turn is the test set (the dataset loader
chooses the validation fold among the others); the report gives each fold and the mean +- sample standard
deviation (ddof=1) of the test top-1 over folds, and the confusion matrix summed over folds.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from core.errors import ConfigError, DatasetError
from core.evaluate.linear_head import DEFAULT_WEIGHT_DECAYS, LinearHead, fit_linear_head

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.inference import Trained

FOLD_DATASETS = ("esc10", "esc50")
"""Datasets evaluated by cross-validation over their official folds."""


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """Top-1 accuracy, per-class accuracy (recall; None for a class absent from ``y_true``) and the
    confusion matrix ``cm[true][pred]`` as nested lists of ints."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    c = len(class_names)
    if y_true.shape != y_pred.shape:
        raise ConfigError(f"labels and predictions differ in shape: {y_true.shape} vs {y_pred.shape}")
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    support = cm.sum(1)
    per_class = {name: (float(cm[i, i] / support[i]) if support[i] else None) for i, name in enumerate(class_names)}
    return {
        "top1": float(np.trace(cm) / max(1, len(y_true))),
        "clips": len(y_true),
        "per_class_accuracy": per_class,
        "confusion_matrix": cm.tolist(),
    }


def training_labels(dataset: AudioDataset, fraction: float, seed: int) -> np.ndarray:
    """Labels [N] of the whole dataset where only the labelled part of the training split is kept:
    a class-stratified ``fraction`` of the training clips (``core.data.labelled_fraction``); every other
    clip (unlabelled, validation, test) gets -1."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"label fraction {fraction}: must be in (0, 1]")
    labels = np.full(len(dataset), -1, dtype=np.int64)
    train_idx = dataset.indices("train")
    if train_idx.size == 0:
        raise DatasetError(f"{dataset.name}: the training split is empty")
    train_labels = np.asarray(dataset.labels[train_idx], dtype=np.int64)
    if fraction < 1.0:
        from core.data import labelled_fraction

        train_labels = np.asarray(labelled_fraction(train_labels, fraction, seed), dtype=np.int64)
    labels[train_idx] = train_labels
    return labels


def _split_counts(dataset: AudioDataset, labels: np.ndarray) -> dict:
    return {
        "train": len(dataset.indices("train")),
        "train_labelled": int((labels >= 0).sum()),
        "valid": len(dataset.indices("valid")),
        "test": len(dataset.indices("test")),
    }


def _default_fraction(trained: Trained, dataset: AudioDataset) -> float:
    """The run's label fraction when evaluating on the run's own dataset, else all labels."""
    same = dataset.name == trained.data.get("name") and list(dataset.class_names) == list(trained.class_names)
    return float(trained.data.get("label_fraction", 1.0)) if same else 1.0


def _linear_fold(
    embeddings: Tensor, dataset: AudioDataset, labels: np.ndarray, weight_decays: Sequence[float], device
) -> tuple[LinearHead, dict]:
    train = labels >= 0
    valid, test = dataset.indices("valid"), dataset.indices("test")
    head, selection = fit_linear_head(
        embeddings[train],
        labels[train],
        dataset.class_names,
        embeddings[valid],
        dataset.labels[valid],
        weight_decays=weight_decays,
        device=device,
    )
    result = {"selection": selection}
    for name, idx in (("valid", valid), ("test", test)):
        if idx.size:
            pred = head.logits(embeddings[idx]).argmax(1).numpy()
            result[name] = classification_report(dataset.labels[idx], pred, dataset.class_names)
    return head, result


def _index_batches(idx: np.ndarray, batch_size: int):
    for start in range(0, len(idx), batch_size):
        yield idx[start : start + batch_size]


@torch.no_grad()
def _predict_finetuned(frontend, encoder, linear, dataset, idx, batch_size, device) -> np.ndarray:
    encoder.eval()
    preds = []
    for b in _index_batches(idx, batch_size):
        x = torch.as_tensor(np.asarray(dataset.waveforms[b], dtype=np.float32), device=device)
        preds.append(linear(encoder(frontend(x))).argmax(1).cpu())
    return torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)


def finetune_fold(
    trained: Trained,
    dataset: AudioDataset,
    labels: np.ndarray,
    *,
    epochs: int = 5,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Fine-tune a copy of the encoder plus a new linear layer on the clean labelled training clips.

    Adam (encoder at ``lr``, the new layer at ``head_lr``), cross-entropy, ``epochs`` passes in a seeded
    order; the epoch with the best validation top-1 (the earliest on ties) is restored and scored on test.
    Without validation clips the last epoch is used and the result says so.
    """
    if epochs < 1:
        raise ConfigError(f"finetune epochs must be >= 1, got {epochs}")
    device = trained.device
    frontend = copy.deepcopy(trained.frontend).eval()
    encoder = copy.deepcopy(trained.model.encoder)
    linear = nn.Linear(trained.embed_dim, dataset.num_classes).to(device)
    opt = torch.optim.Adam(
        [
            {"params": [p for p in encoder.parameters() if p.requires_grad], "lr": lr},
            {"params": linear.parameters(), "lr": head_lr},
        ],
        weight_decay=weight_decay,
    )
    train_idx = np.flatnonzero(labels >= 0)
    valid_idx, test_idx = dataset.indices("valid"), dataset.indices("test")
    gen = torch.Generator().manual_seed(seed)
    history, best = [], None
    for epoch in range(1, epochs + 1):
        encoder.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
        steps = math.ceil(len(order) / batch_size)
        total = 0.0
        bar = tqdm(_index_batches(order, batch_size), total=steps, disable=not progress)
        bar.set_description(f"fine-tune epoch {epoch}/{epochs}")
        for b in bar:
            if len(b) < 2:  # BatchNorm cannot train on a single clip
                continue
            b = np.sort(b)
            x = torch.as_tensor(np.asarray(dataset.waveforms[b], dtype=np.float32), device=device)
            y = torch.as_tensor(labels[b], device=device)
            with torch.no_grad():
                feats = frontend(x)
            loss = F.cross_entropy(linear(encoder(feats)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * len(b)
            bar.set_postfix(loss=f"{float(loss):.3f}")
        entry = {"epoch": epoch, "train_loss": total / max(1, len(order))}
        if valid_idx.size:
            pred = _predict_finetuned(frontend, encoder, linear, dataset, valid_idx, batch_size * 2, device)
            entry["valid_top1"] = float((pred == dataset.labels[valid_idx]).mean())
        history.append(entry)
        score = entry.get("valid_top1", 0.0)
        if best is None or (valid_idx.size and score > best[0]) or not valid_idx.size:
            best = (score, epoch, copy.deepcopy(encoder.state_dict()), copy.deepcopy(linear.state_dict()))
    _, best_epoch, enc_state, lin_state = best
    encoder.load_state_dict(enc_state)
    linear.load_state_dict(lin_state)
    result = {
        "selection": {
            "epoch": best_epoch,
            "selected_on": "valid" if valid_idx.size else "none (no validation clips: last epoch)",
            "history": history,
            "epochs": epochs,
            "lr": lr,
            "head_lr": head_lr,
            "weight_decay": weight_decay,
            "batch_size": batch_size,
        }
    }
    for name, idx in (("valid", valid_idx), ("test", test_idx)):
        if idx.size:
            pred = _predict_finetuned(frontend, encoder, linear, dataset, idx, batch_size * 2, device)
            result[name] = classification_report(dataset.labels[idx], pred, dataset.class_names)
    return result


def linear_evaluation(
    trained: Trained,
    dataset: AudioDataset,
    *,
    label_fraction: float | None = None,
    seed: int | None = None,
    finetune: bool = False,
    finetune_epochs: int = 5,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    batch_size: int = 64,
    embeddings: Tensor | None = None,
    progress: bool = True,
) -> tuple[dict, LinearHead | None]:
    """Evaluate ``trained`` on one split assignment of ``dataset`` (train / valid / test).

    ``label_fraction`` defaults to the run's own fraction on the run's own dataset and to 1.0 on any other;
    ``seed`` (for the labelled subset) defaults to the run's. ``embeddings`` [N, D] may be passed when
    already computed for these clips. Returns ``(result, probe)``: the probe is the fitted linear head
    (None when fine-tuning).
    """
    fraction = _default_fraction(trained, dataset) if label_fraction is None else float(label_fraction)
    seed = int(trained.data.get("seed", 0)) if seed is None else int(seed)
    labels = training_labels(dataset, fraction, seed)
    meta = {
        "fold": dataset.meta.get("fold", dataset.meta.get("test_fold")),
        "label_fraction": fraction,
        "label_seed": seed,
        "clips": _split_counts(dataset, labels),
    }
    if finetune:
        return {**meta, **finetune_fold(trained, dataset, labels, epochs=finetune_epochs, seed=seed)}, None
    if embeddings is None:
        embeddings = trained.embed(dataset.waveforms, batch_size=batch_size, progress=progress)
    if embeddings.shape[0] != len(dataset):
        raise ConfigError(f"embeddings cover {embeddings.shape[0]} clips but the dataset has {len(dataset)}")
    head, result = _linear_fold(embeddings, dataset, labels, weight_decays, "cpu")
    head.meta.update({"dataset": dataset.name, "label_fraction": fraction, "label_seed": seed, "fold": meta["fold"]})
    return {**meta, **result}, head


def _summary(folds: list[dict], class_names: Sequence[str]) -> dict:
    tests = [f["test"]["top1"] for f in folds if "test" in f]
    valids = [f["valid"]["top1"] for f in folds if "valid" in f]
    summary: dict = {"folds": len(folds)}
    if tests:
        summary["test_top1_mean"] = float(np.mean(tests))
        summary["test_top1_std"] = float(np.std(tests, ddof=1)) if len(tests) > 1 else 0.0
    if valids:
        summary["valid_top1_mean"] = float(np.mean(valids))
    if len(folds) > 1 and tests:
        cm = np.sum([np.asarray(f["test"]["confusion_matrix"]) for f in folds if "test" in f], axis=0)
        support = cm.sum(1)
        summary["confusion_matrix"] = cm.tolist()
        summary["per_class_accuracy"] = {
            n: (float(cm[i, i] / support[i]) if support[i] else None) for i, n in enumerate(class_names)
        }
    return summary


def cross_validation(
    trained: Trained,
    fold_datasets: Mapping[int | None, AudioDataset],
    *,
    batch_size: int = 64,
    progress: bool = True,
    **kwargs,
) -> tuple[dict, dict[int | None, LinearHead]]:
    """Run ``linear_evaluation`` once per entry of ``fold_datasets`` (test fold -> dataset with its splits).

    The clips are embedded once (matched by path across folds). Returns ``(report, probes)`` where the
    report holds ``folds`` (one result each) and ``summary`` (mean +- std of test top-1 over folds,
    summed confusion matrix), and ``probes`` the fitted heads by fold.
    """
    if not fold_datasets:
        raise ConfigError("cross-validation needs at least one fold")
    datasets = list(fold_datasets.items())
    class_names = list(datasets[0][1].class_names)
    for _, ds in datasets:
        if list(ds.class_names) != class_names:
            raise DatasetError(f"{ds.name}: the folds disagree on the class names")
    cache, rows = None, {}
    if not kwargs.get("finetune"):
        # Embed each distinct clip once (matched by path); the folds only re-assign the splits.
        first = datasets[0][1]
        cache = trained.embed(first.waveforms, batch_size=batch_size, progress=progress)
        rows = {p: i for i, p in enumerate(first.paths)}
        for _, ds in datasets[1:]:
            missing = [i for i, p in enumerate(ds.paths) if p not in rows]
            if missing:
                extra = trained.embed(ds.waveforms[np.asarray(missing)], batch_size=batch_size, progress=progress)
                for i in missing:
                    rows[ds.paths[i]] = len(rows)
                cache = torch.cat([cache, extra])
    results, probes = [], {}
    for fold, ds in datasets:
        emb = None if cache is None else cache[[rows[p] for p in ds.paths]]
        result, head = linear_evaluation(
            trained, ds, embeddings=emb, batch_size=batch_size, progress=progress, **kwargs
        )
        result["fold"] = fold
        results.append(result)
        if head is not None:
            probes[fold] = head
    return {"folds": results, "summary": _summary(results, class_names)}, probes


def load_fold_datasets(
    name: str,
    *,
    root: str | None = None,
    task: str | None = None,
    version: str | None = None,
    folds: str | int | Sequence[int] | None = None,
    default_fold: int | None = None,
    num_samples: int | None = None,
    progress: bool = True,
) -> dict[int | None, AudioDataset]:
    """Load ``name`` once per test fold: ``folds="all"`` for every official fold, an int for one fold, or
    None for ``default_fold`` (the run's own, else fold 1 on fold datasets; no folds otherwise)."""
    from core.data import load_dataset

    kw = {"root": root, "task": task, "version": version, "num_samples": num_samples, "progress": progress}
    kw = {k: v for k, v in kw.items() if v is not None}
    if name not in FOLD_DATASETS:
        if folds not in (None, "all", "1", 1):
            raise ConfigError(f"--folds {folds}: dataset {name!r} has no official folds")
        return {None: load_dataset(name, **kw)}
    if folds is None:
        chosen = [int(default_fold or 1)]
    elif folds == "all":
        first = load_dataset(name, fold=int(default_fold or 1), **kw)
        if first.folds is None:
            raise DatasetError(f"{name}: the loader returned no fold ids")
        chosen = sorted({int(f) for f in np.unique(first.folds)})
    elif isinstance(folds, str | int):
        try:
            chosen = [int(folds)]
        except ValueError:
            raise ConfigError(f"--folds {folds!r}: give 'all' or a fold number") from None
    else:
        chosen = [int(f) for f in folds]
    return {k: load_dataset(name, fold=k, **kw) for k in chosen}


def evaluate_checkpoint(
    trained: Trained,
    *,
    dataset: str | None = None,
    root: str | None = None,
    task: str | None = None,
    folds: str | int | Sequence[int] | None = None,
    finetune: bool = False,
    finetune_epochs: int = 5,
    label_fraction: float | None = None,
    batch_size: int = 64,
    save_probe: bool = True,
    progress: bool = True,
) -> dict:
    """The whole offline evaluation behind ``python -m core eval``; returns the JSON-able report.

    ``dataset`` defaults to the run's own (with its root, task and clip length). When the evaluation is a
    linear one on the run's own classes, the probe fitted on the run's fold (or the first fold) is saved
    as ``probe.pt`` beside the checkpoint, so that ``classify`` can use it for SimCLR runs.
    """
    run = trained.data
    name = dataset or run.get("name")
    if not name:
        raise ConfigError(f"{trained.checkpoint_path}: the run config names no dataset; pass --dataset")
    own = name == run.get("name")
    fold_sets = load_fold_datasets(
        name,
        root=root or (run.get("root") if own else None),
        task=task or (run.get("task") if own else None),
        version=run.get("version") if own else None,
        folds=folds,
        default_fold=run.get("fold") if own else None,
        num_samples=trained.num_samples if own else None,
        progress=progress,
    )
    report, probes = cross_validation(
        trained,
        fold_sets,
        batch_size=batch_size,
        progress=progress,
        finetune=finetune,
        finetune_epochs=finetune_epochs,
        label_fraction=label_fraction,
    )
    first = next(iter(fold_sets.values()))
    report = {
        "checkpoint": trained.identity(),
        "dataset": {"name": name, "task": first.meta.get("task"), "class_names": list(first.class_names)},
        "mode": "finetune" if finetune else "linear",
        **report,
    }
    report["probe_saved"] = None
    if save_probe and probes and list(first.class_names) == list(trained.class_names):
        fold = run.get("fold") if run.get("fold") in probes else next(iter(probes))
        report["probe_saved"] = str(trained.attach_probe(probes[fold], save=True))
    return report


def format_report(report: dict) -> str:
    """A readable plain-text rendering of an ``evaluate_checkpoint`` report."""
    ck, ds, summary = report["checkpoint"], report["dataset"], report["summary"]
    task = f" ({ds['task']})" if ds.get("task") else ""
    lines = [
        f"checkpoint  {ck['checkpoint']} (run {ck['run_id']}, {ck['regime'] or '?'}, epoch {ck['epoch']})",
        f"dataset     {ds['name']}{task}, {len(ds['class_names'])} classes",
        f"evaluation  {report['mode']}",
    ]
    for f in report["folds"]:
        c = f["clips"]
        fold = f"fold {f['fold']}" if f.get("fold") is not None else "split"
        sel = f["selection"]
        chosen = f"epoch {sel['epoch']}" if "epoch" in sel else f"wd={sel['weight_decay']:g}"
        parts = [f"{fold}: train {c['train_labelled']}/{c['train']} labelled ({f['label_fraction']:.0%})"]
        parts.append(f"valid {c['valid']}, test {c['test']}, {chosen}")
        if "valid" in f:
            parts.append(f"valid top-1 {f['valid']['top1']:.2%}")
        if "test" in f:
            parts.append(f"test top-1 {f['test']['top1']:.2%}")
        lines.append("  " + "; ".join(parts))
    if "test_top1_mean" in summary:
        lines.append(
            f"test top-1  {summary['test_top1_mean']:.2%} +- {summary['test_top1_std']:.2%}"
            f" over {summary['folds']} fold(s)"
        )
    last = report["folds"][-1]
    cm = summary.get("confusion_matrix") or (last.get("test") or {}).get("confusion_matrix")
    per_class = summary.get("per_class_accuracy") or (last.get("test") or {}).get("per_class_accuracy")
    names = ds["class_names"]
    if per_class:
        lines.append("per-class accuracy (test" + (", all folds)" if "confusion_matrix" in summary else ")"))
        width = max(len(n) for n in names)
        for n in names:
            acc = per_class.get(n)
            lines.append(f"  {n:<{width}}  {'  n/a' if acc is None else f'{acc:6.1%}'}")
    if cm and len(names) <= 20:
        lines.append("confusion matrix (rows: true, columns: predicted)")
        w = max(3, len(str(max(max(r) for r in cm))))
        for i, row in enumerate(cm):
            lines.append(f"  {i:>3} " + " ".join(f"{v:>{w}}" for v in row))
    if report.get("probe_saved"):
        lines.append(f"probe saved {report['probe_saved']}")
    return "\n".join(lines)

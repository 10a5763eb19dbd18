"""Summaries over folds, and the readable rendering of an evaluation report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.probes.metrics import recall_by_class


def summarise_folds(folds: list[dict], class_names: Sequence[str]) -> dict:
    """Mean and spread of the scores over folds.

    Mean and sample standard deviation (ddof=1; 0 for one fold) of test and validation top-1 over folds, and, for
    several folds, the test confusion matrix summed over folds with its per-class accuracy.
    """
    summary: dict = {"folds": len(folds)}
    for split in ("test", "valid"):
        scores = [f[split]["top1"] for f in folds if f.get(split) and f[split]["top1"] is not None]
        if scores:
            summary[f"{split}_top1_mean"] = float(np.mean(scores))
            summary[f"{split}_top1_std"] = float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0
    tests = [np.asarray(f["test"]["confusion_matrix"]) for f in folds if f.get("test")]
    if len(tests) > 1:
        cm = np.sum(tests, axis=0)
        summary["confusion_matrix"] = cm.tolist()
        summary["per_class_accuracy"] = recall_by_class(cm, class_names)
    return summary


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def format_report(report: dict) -> str:
    """A readable plain-text rendering of a ``core.evaluate.offline.evaluate_checkpoint`` report."""
    ck, ds, summary = report["checkpoint"], report["dataset"], report["summary"]
    task = f" ({ds['task']})" if ds.get("task") else ""
    lines = [
        f"checkpoint  {ck['checkpoint']} (run {ck['run_id']}, {ck['regime'] or '?'}, epoch {ck['epoch']})",
        f"dataset     {ds['name']}{task}, {len(ds['class_names'])} classes",
        f"evaluation  {report['mode']}",
    ]
    for f in report["folds"]:
        c, sel = f["clips"], f["selection"]
        where = f"fold {f['fold']}" if f.get("fold") is not None else "splits"
        chosen = f"best epoch {sel['epoch']}" if "epoch" in sel else f"weight decay {sel['weight_decay']:g}"
        parts = [
            f"{where}: train {c['train_labelled']}/{c['train']} labelled ({f['label_fraction']:.0%})",
            f"valid {c['valid']}, test {c['test']}, {chosen}",
        ]
        if f.get("valid"):
            parts.append(f"valid top-1 {_pct(f['valid']['top1'])}")
        if f.get("test"):
            parts.append(f"test top-1 {_pct(f['test']['top1'])}")
        lines.append("  " + "; ".join(parts))
    if "test_top1_mean" in summary:
        lines.append(
            f"test top-1  {_pct(summary['test_top1_mean'])} +- {_pct(summary['test_top1_std'])}"
            f" over {summary['folds']} fold(s)"
        )
    last_test = report["folds"][-1].get("test") or {}
    cm = summary.get("confusion_matrix") or last_test.get("confusion_matrix")
    per_class = summary.get("per_class_accuracy") or last_test.get("per_class_accuracy")
    names = ds["class_names"]
    if per_class:
        lines.append("per-class test accuracy" + (" (all folds)" if "confusion_matrix" in summary else ""))
        width = max(len(n) for n in names)
        lines += [f"  {i:>3} {n:<{width}}  {_pct(per_class.get(n)):>7}" for i, n in enumerate(names)]
    if cm and len(names) <= 20:
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
        w = max(3, len(str(max(max(r) for r in cm))))
        lines.append("      " + " ".join(f"{j:>{w}}" for j in range(len(names))))
        lines += [f"  {i:>3} " + " ".join(f"{v:>{w}}" for v in row) for i, row in enumerate(cm)]
    if report.get("probe_saved"):
        lines.append(f"probe saved {report['probe_saved']}")
    return "\n".join(lines)

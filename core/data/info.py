"""Dataset summaries: total source duration and the table of clip counts per class and split (``data info``)."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from core.data.base import SPLITS


def source_seconds(paths: list, progress: bool = True) -> float:
    """Total duration in seconds of the source files, read from their headers (nothing is decoded)."""
    from core.audio import audio_info

    total = 0.0
    for p in tqdm(paths, desc="reading headers", unit="file", disable=not progress or len(paths) < 500, leave=False):
        total += audio_info(p, max_seconds=None).duration
    return total


def format_table(labels: np.ndarray, split: np.ndarray, class_names: list[str]) -> str:
    """A text table of clip counts: one row per class, one column per split, with totals."""
    width = max(8, *(len(c) for c in class_names))
    lines = [f"{'class':<{width}} " + " ".join(f"{s:>7}" for s in (*SPLITS, "total"))]
    for k, c in enumerate(class_names):
        row = [int(((labels == k) & (split == s)).sum()) for s in SPLITS]
        if sum(row) == 0:
            continue
        lines.append(f"{c:<{width}} " + " ".join(f"{n:>7}" for n in (*row, sum(row))))
    totals = [int((split == s).sum()) for s in SPLITS]
    lines.append(f"{'total':<{width}} " + " ".join(f"{n:>7}" for n in (*totals, sum(totals))))
    return "\n".join(lines)

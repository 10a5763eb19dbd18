"""How invariant a trained model is to each augmentation: the invariance report.

For every augmentation on its own (always applied, ``p = 1``) and for the whole chain, each clip is augmented once
with parameters drawn from a fixed seed, and the report gives:

* the cosine similarity between the clean clip's embedding and the augmented clip's (mean, standard deviation,
  and the 10th and 50th percentiles over clips): 1 means the model is blind to that augmentation;
* the accuracy of the model's classifier (its head, or the probe ``eval`` fitted) on the augmented clips, beside
  its accuracy on the clean clips; ``None`` where the model has no classifier (a SimCLR run without a probe).

Every augmentation starts from the same seed, and the clips are augmented in fixed batches, so two reports with
the same seed agree exactly. This answers, for the user's own model, the question the paper's augmentation study
raises: which transformations has the encoder learned to ignore?
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.augment.pairs import build_chain
from core.augment.sets import CANONICAL_ORDER
from core.errors import ConfigError

if TYPE_CHECKING:
    from core.inference import Trained

CHAIN = "all (the chain)"
"""The row name of the whole chain, every chosen augmentation in the canonical order."""
REPORT_JSON, REPORT_CSV = "invariance.json", "invariance.csv"


@dataclass(frozen=True)
class InvarianceRow:
    """One augmentation's effect on the model.

    Attributes:
        augmentation: its name, or :data:`CHAIN`.
        similarity_mean, similarity_std: cosine similarity of clean and augmented embeddings over the clips.
        similarity_p10, similarity_median: its 10th and 50th percentiles.
        accuracy_clean, accuracy_augmented: the classifier's top-1 accuracy (fractions), or None.
        clips: how many clips.
    """

    augmentation: str
    similarity_mean: float
    similarity_std: float
    similarity_p10: float
    similarity_median: float
    accuracy_clean: float | None
    accuracy_augmented: float | None
    clips: int


def _augment(chain: Any, waves: torch.Tensor, seed: int, batch_size: int) -> torch.Tensor:
    """``waves`` [N, T] augmented in batches of ``batch_size``, from one generator seeded with ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.cat([chain(waves[i : i + batch_size], g) for i in range(0, len(waves), batch_size)])


def _cosine(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=1).numpy()


def invariance_report(
    trained: Trained,
    waveforms: Any,
    labels: Sequence[int] | None = None,
    *,
    names: Sequence[str] = CANONICAL_ORDER,
    preset: str = "paper",
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> list[InvarianceRow]:
    """The invariance of ``trained`` to each of ``names`` alone and to their chain, on ``waveforms`` [N, T] (16 kHz).

    Args:
        trained: the model.
        waveforms: the clean clips, [N, T] at 16 kHz, already at the model's input length.
        labels: their class indices (in the model's classes), for the accuracies; None to skip them.
        names: the augmentations (any of :data:`core.augment.sets.CANONICAL_ORDER`).
        preset: their parameter ranges, ``paper`` or ``authors``.
        seed: the seed every augmentation starts from.
        batch_size: clips per augmentation and embedding batch.
        progress: a tqdm bar over the augmentations.
        on_step: called as ``on_step(done, total)`` before each row and once at the end, counting rows (the app's
            progress bar).

    Raises:
        ConfigError: no clips, labels that do not match the clips, an unknown augmentation or preset.
    """
    waves = torch.tensor(np.asarray(waveforms, dtype=np.float32))  # a copy: the input may be a read-only map
    if waves.ndim != 2 or len(waves) == 0:
        raise ConfigError(f"invariance needs clips [N, T] with N >= 1, got shape {tuple(waves.shape)}")
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    if y is not None and y.shape != (len(waves),):
        raise ConfigError(f"{len(waves)} clips but {y.size} labels")
    rows_spec = [(n, build_chain([n], preset, 1.0)) for n in names] + [(CHAIN, build_chain(list(names), preset, 1.0))]

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        """Representations of ``x``, and the classifier's accuracy on it (one pass; None without labels or one)."""
        if y is None or not trained.can_classify:
            return trained.embed(x, batch_size=batch_size), None
        probs, h = trained.predict_and_embed(x, batch_size=batch_size)
        return h, float((probs.argmax(dim=1).numpy() == y).mean())

    clean, acc_clean = forward(waves)
    steps = rows_spec
    if progress:
        from tqdm import tqdm

        steps = tqdm(rows_spec, desc="invariance", unit="augmentation")
    out = []
    for k, (name, chain) in enumerate(steps):
        if on_step is not None:
            on_step(k, len(rows_spec))
        h, acc = forward(_augment(chain, waves, seed, batch_size))
        sim = _cosine(clean, h)
        out.append(
            InvarianceRow(
                augmentation=name,
                similarity_mean=float(sim.mean()),
                similarity_std=float(sim.std()),
                similarity_p10=float(np.percentile(sim, 10)),
                similarity_median=float(np.median(sim)),
                accuracy_clean=acc_clean,
                accuracy_augmented=acc,
                clips=len(waves),
            )
        )
    if on_step is not None:
        on_step(len(rows_spec), len(rows_spec))
    return out


def write_report(rows: Sequence[InvarianceRow], out_dir: str | Path, about: dict[str, Any]) -> dict[str, Path]:
    """Write the rows as ``invariance.csv`` and, with ``about`` (checkpoint, dataset, seed...), ``invariance.json``.

    Each file is written under a temporary name and renamed into place.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fields = list(InvarianceRow.__dataclass_fields__)
    paths = {"csv": out / REPORT_CSV, "json": out / REPORT_JSON}
    tmp = paths["csv"].with_name(REPORT_CSV + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(asdict(r) for r in rows)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(paths["csv"])
    tmp = paths["json"].with_name(REPORT_JSON + ".tmp")
    tmp.write_text(json.dumps({**about, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    tmp.replace(paths["json"])
    return paths


def format_rows(rows: Sequence[InvarianceRow]) -> str:
    """The rows as a plain-text table (similarities and accuracies in %)."""

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    head = f"{'augmentation':<18} {'cos mean':>8} {'std':>6} {'p10':>6} {'acc clean %':>11} {'acc aug %':>9}"
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.augmentation:<18} {r.similarity_mean:>8.3f} {r.similarity_std:>6.3f} {r.similarity_p10:>6.3f} "
            f"{pct(r.accuracy_clean):>11} {pct(r.accuracy_augmented):>9}"
        )
    return "\n".join(lines)

"""The models a user can pick to classify with: the shipped ones, then every finished run, newest first.

A shipped model is ``checkpoints/pretrained/<name>/model.pt`` (with its ``card.json`` and ``neighbours.npz``);
a run is any completed run of the run store whose checkpoint folder still holds ``best.pt`` or ``last.pt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.inference.neighbours import NEIGHBOURS_NAME

REPO = Path(__file__).resolve().parents[2]
PRETRAINED_DIR = REPO / "checkpoints" / "pretrained"
DEFAULT_MODEL = "pretrained:esc10"
MAX_CARD_BYTES = 1_000_000


@dataclass(frozen=True)
class ModelChoice:
    """A model to classify with.

    Attributes:
        key: stable id: ``pretrained:<name>`` or ``run:<run_id>``.
        label: what the user reads.
        path: the checkpoint file.
        neighbours: its neighbour index, or None.
        card: a shipped model's card (``card.json``), or None.
    """

    key: str
    label: str
    path: Path
    neighbours: Path | None = None
    card: dict[str, Any] | None = None


def _card(folder: Path) -> dict[str, Any] | None:
    path = folder / "card.json"
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            return None
        card = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def shipped_models(root: Path = PRETRAINED_DIR) -> list[ModelChoice]:
    """The shipped models present, ESC-10 first (the default), then FSDD, then the rest by name."""
    found = []
    folders = sorted(
        (p for p in root.glob("*") if (p / "model.pt").is_file()),
        key=lambda p: ({"esc10": 0, "fsdd": 1}.get(p.name, 2), p.name),
    )
    for folder in folders:
        card = _card(folder)
        title = (card or {}).get("title", "")
        acc = ((card or {}).get("test") or {}).get("top1")
        extra = f", {100 * acc:.1f} % on held-out clips" if isinstance(acc, int | float) else ""
        index = folder / NEIGHBOURS_NAME
        found.append(
            ModelChoice(
                f"pretrained:{folder.name}",
                f"shipped: {folder.name} ({title.split(' (')[0]}{extra})",
                folder / "model.pt",
                index if index.is_file() else None,
                card,
            )
        )
    return found


def run_models(store: Any) -> list[ModelChoice]:
    """Completed runs of the run store with a checkpoint on disk, newest first."""
    out = []
    for run in store.list_runs(status="completed"):
        folder = Path(run["checkpoint_dir"]) if run.get("checkpoint_dir") else None
        if folder is None:
            continue
        path = next((folder / n for n in ("best.pt", "last.pt") if (folder / n).is_file()), None)
        if path is None:
            continue
        index = folder / NEIGHBOURS_NAME
        out.append(
            ModelChoice(
                f"run:{run['id']}", f"run: {run['name']} ({run['id']})", path, index if index.is_file() else None
            )
        )
    return out


def model_choices(store: Any | None = None, root: Path = PRETRAINED_DIR) -> list[ModelChoice]:
    """Shipped models, then finished runs (when a run store is given)."""
    return shipped_models(root) + (run_models(store) if store is not None else [])

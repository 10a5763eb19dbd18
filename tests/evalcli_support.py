"""Test support for inference, offline evaluation and the eval/embed/classify commands.

``fsdd_csv`` lists a few real FSDD recordings (from ``$CLAR_DATA_DIR``) as a ``csv`` dataset with
train/valid/test splits, so that tests load a small real dataset quickly. ``make_checkpoint`` writes a real
checkpoint of the trainer's format through the trainer's own API (``core.config.build.build_from_config``,
the frontend's ``fit`` on clean training clips, ``core.train.checkpoints.CheckpointManager.save``); the
weights are freshly initialised, not trained, which is all the inference and evaluation code needs.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import torch

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def data_dir() -> Path:
    env = os.environ.get("CLAR_DATA_DIR")
    if not env:
        raise RuntimeError("CLAR_DATA_DIR is not set; point it at the shared data, e.g. CLAR_DATA_DIR=../shared/data")
    return Path(env).expanduser()


def fsdd_clips(speaker: str = "george", takes: range = range(10)) -> list[tuple[Path, str, int]]:
    """(absolute path, digit name, take) of real FSDD clips of one speaker."""
    root = data_dir() / "fsdd"
    out = []
    for digit, name in enumerate(DIGITS):
        for take in takes:
            out.append((root / "audio" / f"{digit}_{speaker}_{take}.flac", name, take))
    return out


def fsdd_csv(folder: Path, train: int = 4, valid: int = 2, test: int = 2) -> Path:
    """A ``path,label,split`` CSV of real FSDD clips (speaker george): per digit, ``train`` training,
    ``valid`` validation and ``test`` test takes. Classes are the digit names (the csv loader sorts them)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fsdd_small.csv"
    n = train + valid + test
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split"])
        for clip, name, take in fsdd_clips(takes=range(n)):
            split = "test" if take < test else ("valid" if take < test + valid else "train")
            w.writerow([str(clip), name, split])
    return path


def make_checkpoint(
    run_dir: Path,
    csv_path: Path,
    *,
    regime: str = "clar",
    encoder: str = "small_cnn_1d",
    label_fraction: float = 0.5,
    seed: int = 0,
    epoch: int = 1,
    global_step: int = 10,
    best: bool = True,
    preset: str = "paper",
) -> Path:
    """Write ``run_dir/last.pt`` (and ``best.pt`` when ``best``) for a model trained on the csv dataset."""
    from core.config import TrainConfig
    from core.config.build import build_from_config
    from core.data import load_dataset
    from core.train.checkpoints import CheckpointManager

    cfg = TrainConfig.from_dict(
        {
            "data": {"dataset": "csv", "root": str(csv_path), "num_samples": 16000, "label_fraction": label_fraction},
            "model": {"regime": regime, "encoder": encoder},
            "features": {"preset": preset},
            "runtime": {"seed": seed},
        }
    )
    ds = load_dataset("csv", str(csv_path), num_samples=16000, progress=False)
    torch.manual_seed(seed)
    model, frontend = build_from_config(cfg.to_dict(), ds.num_classes)
    train = ds.indices("train")
    frontend.fit([torch.as_tensor(np.asarray(ds.waveforms[train]))])
    state = {
        "model": model.state_dict(),
        "frontend": frontend.state_dict(),
        "epoch": epoch,
        "global_step": global_step,
        "config": cfg.to_dict(),
        "class_names": list(ds.class_names),
        "num_classes": ds.num_classes,
        "feature_config": frontend.feature_config_dict(),
        "run_id": run_dir.name,
    }
    CheckpointManager(run_dir).save(state, is_best=best)
    return run_dir

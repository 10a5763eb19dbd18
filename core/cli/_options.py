"""Options shared by the subcommands that read a checkpoint, and the dataset they read.

``classify``, ``eval``, ``embed`` and ``invariance`` take ``--checkpoint``/``--which`` and ``--device``; ``embed`` and
``invariance`` read the run's own dataset or the one asked for.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_checkpoint_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--checkpoint`` and ``--which`` options."""
    p.add_argument("--checkpoint", required=True, help="checkpoint file, run folder, or run id")
    p.add_argument("--which", default="best", help="checkpoint in a run folder: best (default), last or epoch_NNNN")


def add_device_argument(p: argparse.ArgumentParser) -> None:
    """The ``--device`` option."""
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")


def add_dataset_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--dataset``, ``--root``, ``--task`` and ``--fold`` options."""
    p.add_argument("--dataset", help="dataset (default: the run's own)")
    p.add_argument("--root", help="dataset folder (default: the run's, then $CLAR_DATA_DIR/<name>, ./data/<name>)")
    p.add_argument("--task", help="dataset task, e.g. instrument_family or pitch for nsynth")
    p.add_argument("--fold", type=int, help="ESC: test fold that decides the split column (default: the run's)")


def dataset_for(trained: Any, args: argparse.Namespace, progress: bool = True) -> Any:
    """The dataset named by ``args`` (default: the run's own): :func:`core.inference.dataset.model_dataset`."""
    from core.inference.dataset import model_dataset

    return model_dataset(trained, args.dataset, root=args.root, task=args.task, fold=args.fold, progress=progress)

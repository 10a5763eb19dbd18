"""``python -m core data info NAME``: counts per class and split, total duration and the cache state."""

from __future__ import annotations

import argparse

import numpy as np
from tqdm.auto import tqdm

from core import SAMPLE_RATE
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


def main(args: argparse.Namespace) -> int:
    """Print a dataset summary; unless ``--no-cache``, build (or confirm) its waveform cache."""
    from core.data import default_num_samples, list_clips, load_dataset
    from core.data.cache import cache_key, cache_state

    fold = getattr(args, "fold", None)
    version = getattr(args, "version", None)
    clips = list_clips(args.name, args.root, task=args.task, version=version, fold=fold)
    if args.seconds is not None:
        if args.seconds <= 0:
            from core.errors import ConfigError

            raise ConfigError(f"--seconds must be positive, got {args.seconds}")
        num_samples = round(args.seconds * SAMPLE_RATE)
    else:
        num_samples = default_num_samples(clips.name, clips)
    seconds = source_seconds(clips.paths)
    print(f"dataset   {clips.name}  ({clips.meta.get('layout', '?')} layout at {clips.root})")
    for key in ("task", "version", "test_fold", "valid_fold"):
        if key in clips.meta:
            print(f"{key:<9} {clips.meta[key]}")
    print(f"splits    {clips.meta.get('split_source', '?')}")
    print(f"clips     {len(clips)} in {np.unique(clips.labels).size} of {len(clips.class_names)} classes")
    print(f"duration  {seconds:.1f} s ({seconds / 3600:.2f} h) of source audio")
    print(f"length    {num_samples / SAMPLE_RATE:g} s per clip ({num_samples} samples at {SAMPLE_RATE} Hz)")
    print()
    print(format_table(clips.labels, clips.split, clips.class_names))
    print()
    key = cache_key(clips.name, clips.root, clips.paths, num_samples, SAMPLE_RATE)
    state = cache_state(key)
    if state != "hit" and not args.no_cache:
        load_dataset(
            args.name, args.root, task=args.task, version=version, fold=fold, num_samples=num_samples, progress=True
        )
        print(f"cache     built (was {state}): {key.path}")
    elif state == "hit":
        size = key.path.stat().st_size / 2**20
        print(f"cache     hit: {key.path} ({size:.1f} MiB)")
    else:
        print(f"cache     {state} (not built: --no-cache): {key.path}")
    return 0

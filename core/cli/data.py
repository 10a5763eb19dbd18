"""``python -m core data``: dataset information and downloads."""

from __future__ import annotations

import argparse


def _info(args: argparse.Namespace) -> int:
    """Print a dataset summary; unless ``--no-cache``, build (or confirm) its waveform cache."""
    import numpy as np

    from core import SAMPLE_RATE
    from core.data import default_num_samples, list_clips, load_dataset
    from core.data.cache import cache_key, cache_state
    from core.data.info import format_table, source_seconds
    from core.errors import ConfigError

    fold, version = args.fold, args.version
    clips = list_clips(args.name, args.root, task=args.task, version=version, fold=fold)
    if args.seconds is not None:
        if args.seconds <= 0:
            raise ConfigError(f"--seconds must be positive, got {args.seconds}")
        num_samples = round(args.seconds * SAMPLE_RATE)
    else:
        num_samples = default_num_samples(clips.name, clips)
    seconds = source_seconds(clips.paths)
    print(f"dataset   {clips.name}  ({clips.meta.get('layout', '?')} layout at {clips.root})")
    for key in ("task", "version", "test_fold"):
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


def _download(args: argparse.Namespace) -> int:
    from core.data.download import download_dataset

    parts = args.parts.split(",") if args.parts else None
    path = download_dataset(args.name, args.root, mirror=args.mirror, keep_archive=args.keep_archive, parts=parts)
    print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` subcommand and its ``info`` and ``download`` actions."""
    p = subparsers.add_parser("data", help="dataset information and downloads")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    info = sub.add_parser("info", help="counts per class and split, total duration and cache state")
    info.add_argument("name", help="dataset: esc10, esc50, sc09, speech_commands, nsynth, fsdd, folder, csv")
    info.add_argument("--root", help="dataset folder (default: $CLAR_DATA_DIR/<name>, then ./data/<name>)")
    info.add_argument("--task", help="dataset task, e.g. instrument_family or pitch for nsynth")
    info.add_argument("--seconds", type=float, help="clip length in seconds (default: the dataset's own)")
    info.add_argument("--fold", type=int, help="esc10/esc50: the test fold, 1-5 (default 1)")
    info.add_argument("--version", help="speech_commands/sc09: v0.01 or v0.02 (default: detected)")
    info.add_argument("--no-cache", action="store_true", help="report only; do not build the waveform cache")
    info.set_defaults(func=_info)

    dl = sub.add_parser("download", help="download and verify an official dataset archive")
    dl.add_argument("name", help="dataset: esc50, speech_commands, nsynth, fsdd")
    dl.add_argument("--root", required=True, help="folder to download and extract into")
    dl.add_argument("--mirror", help="base URL that replaces the official host (for mirrors and tests)")
    dl.add_argument("--parts", help="comma-separated archive parts, e.g. test or valid,test for nsynth (default: all)")
    dl.add_argument("--keep-archive", action="store_true", help="keep the archive after extraction")
    dl.set_defaults(func=_download)

"""``python -m core data``: dataset information and downloads."""

from __future__ import annotations

import argparse


def _info(args: argparse.Namespace) -> int:
    from core.data.info import main

    return main(args)


def _download(args: argparse.Namespace) -> int:
    from core.data.download import download_dataset

    parts = args.parts.split(",") if args.parts else None
    path = download_dataset(args.name, args.root, mirror=args.mirror, keep_archive=args.keep_archive, parts=parts)
    print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
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

"""``python -m core classify``: top-k labels with probabilities for audio files, as JSON on stdout.

A clip longer than the model's input length is classified in overlapping windows (a hop of half a window) and
the probabilities are averaged (:mod:`core.inference.windows`); the JSON says how many windows were used. A file
that cannot be read gets ``{"file": ..., "error": ...}`` in the JSON and makes the exit status 1; the other files
are still classified.
"""

from __future__ import annotations

import argparse

from core.cli._options import add_checkpoint_arguments, add_device_argument


def classify_files(trained, files: list[str], top_k: int = 5, batch_size: int = 32, source: str = "auto") -> dict:
    """Classify ``files`` with ``trained``; returns the JSON-able result (one entry per file, in order)."""
    import numpy as np

    from core.audio import load_audio
    from core.errors import AudioLoadError, ConfigError
    from core.inference.windows import predict_windows

    if top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    results: list[dict] = []
    for f in files:
        entry: dict = {"file": f}
        results.append(entry)
        try:
            wave = load_audio(f)
        except AudioLoadError as e:
            entry["error"] = str(e)
            continue
        pred = predict_windows(trained, wave, source=source, batch_size=batch_size)
        if not np.isfinite(pred.per_window).all():
            entry["error"] = f"{f}: the model's output is not finite (its weights may be corrupt)"
            continue
        entry["windows"] = pred.windows
        entry["top_k"] = [{"label": c, "probability": round(p, 6)} for c, p in pred.top(top_k)]
    return {
        "checkpoint": trained.identity(),
        "classifier": "head" if source == "head" or (source == "auto" and trained.has_classifier) else "probe",
        "num_samples": trained.num_samples,
        "window_s": None if trained.num_samples is None else trained.num_samples / 16000,
        "hop": "half a window",
        "results": results,
    }


def _handler(args: argparse.Namespace) -> int:
    import json

    from core.inference import load_trained

    trained = load_trained(args.checkpoint, device=args.device, which=args.which)
    out = classify_files(trained, args.files, top_k=args.top_k, batch_size=args.batch_size, source=args.source)
    print(json.dumps(out, indent=2, allow_nan=False))
    return 1 if any("error" in r for r in out["results"]) else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``classify`` subcommand."""
    p = subparsers.add_parser(
        "classify",
        help="top-k labels for audio files (JSON on stdout)",
        description="Top-k labels for audio files. A clip longer than the model's input is scored in windows of "
        "that length with a hop of half a window, and the probabilities are averaged.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, MP3)")
    add_checkpoint_arguments(p)
    p.add_argument("--top-k", type=int, default=5, help="labels per file (default 5)")
    p.add_argument(
        "--source",
        default="auto",
        choices=("auto", "head", "probe"),
        help="the model's classifier, the probe.pt fitted by eval, or auto (the classifier if the model has one)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="windows per batch (default 32)")
    add_device_argument(p)
    p.set_defaults(func=_handler)

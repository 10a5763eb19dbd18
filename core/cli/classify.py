"""``python -m core classify``: top-k labels with probabilities for audio files, as JSON on stdout.

A file that cannot be read gets ``{"file": ..., "error": ...}`` in the JSON and makes the exit status 1;
the other files are still classified.
"""

from __future__ import annotations

import argparse


def classify_files(trained, files: list[str], top_k: int = 5, batch_size: int = 32, source: str = "auto") -> dict:
    """Classify ``files`` with ``trained``; returns the JSON-able result (one entry per file, in order)."""
    import numpy as np
    import torch

    from core.audio import load_audio
    from core.errors import AudioLoadError, ConfigError

    if top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    num_samples = trained.num_samples
    results: list[dict] = [{"file": f} for f in files]
    good, waves = [], []
    for i, f in enumerate(files):
        try:
            x = load_audio(f, num_samples=num_samples)
        except AudioLoadError as e:
            results[i]["error"] = str(e)
            continue
        good.append(i)
        waves.append(np.asarray(x, dtype=np.float32))
    if good:
        if num_samples is None:  # clips of their own lengths: one at a time
            probs = torch.cat([trained.predict(w[None], source=source) for w in waves])
        else:
            probs = trained.predict(np.stack(waves), batch_size=batch_size, source=source)
        k = min(top_k, probs.shape[1])
        values, indices = probs.topk(k, dim=1)
        finite = torch.isfinite(probs).all(dim=1)
        for row, i in enumerate(good):
            if not finite[row]:
                results[i]["error"] = f"{files[i]}: the model's output is not finite (its weights may be corrupt)"
                continue
            results[i]["top_k"] = [
                {"label": trained.class_names[int(c)], "probability": round(float(p), 6)}
                for p, c in zip(values[row], indices[row], strict=True)
            ]
    return {
        "checkpoint": trained.identity(),
        "classifier": "head" if source == "head" or (source == "auto" and trained.has_classifier) else "probe",
        "num_samples": num_samples,
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
    p = subparsers.add_parser("classify", help="top-k labels for audio files (JSON on stdout)")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, MP3)")
    p.add_argument("--checkpoint", required=True, help="checkpoint file, run folder, or run id")
    p.add_argument("--which", default="best", help="checkpoint in a run folder: best (default), last or epoch_NNNN")
    p.add_argument("--top-k", type=int, default=5, help="labels per file (default 5)")
    p.add_argument(
        "--source",
        default="auto",
        choices=("auto", "head", "probe"),
        help="the model's classifier, the probe.pt fitted by eval, or auto (the classifier if the model has one)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="clips per batch (default 32)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.set_defaults(func=_handler)

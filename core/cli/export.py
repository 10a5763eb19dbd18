"""``python -m core export``: a checkpoint as one ONNX or TorchScript file (waveform in, embedding and logits out)."""

from __future__ import annotations

import argparse

from core.cli._options import add_checkpoint_arguments


def _check_clips(trained, n: int):
    """Up to ``n`` clips of the run's own test split, else seeded noise, tones and silence (and which)."""
    import numpy as np
    import torch

    from core.errors import DatasetError
    from core.inference.dataset import model_dataset

    length = int(trained.num_samples or 16000)
    try:
        ds = model_dataset(trained, None, progress=False)
        idx = ds.indices("test")[:n]
        if len(idx):
            return torch.from_numpy(np.asarray(ds.waveforms[idx], dtype=np.float32)), f"{len(idx)} test clips"
    except DatasetError:
        pass
    g = torch.Generator().manual_seed(0)
    t = torch.arange(length) / 16000
    clips = [0.3 * torch.randn(length, generator=g) for _ in range(max(1, n - 2))]
    clips += [0.5 * torch.sin(2 * torch.pi * 440 * t), torch.zeros(length)]
    return torch.stack(clips[:n]), f"{min(n, len(clips))} synthetic clips (noise, a 440 Hz tone, silence)"


def _handler(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from core.export import check_export, export_checkpoint
    from core.inference import load_trained

    trained = load_trained(args.checkpoint, device="cpu", which=args.which)
    suffix = ".onnx" if args.format == "onnx" else ".pt"
    out = Path(args.out) if args.out else trained.checkpoint_path.with_name(trained.checkpoint_path.stem + suffix)
    if out.suffix != suffix:
        out = out.with_suffix(suffix)
    path = export_checkpoint(trained, args.format, out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {path}.json")
    if args.check > 0:
        clips, what = _check_clips(trained, args.check)
        result = check_export(path, trained, clips)
        meta_path = Path(f"{path}.json")
        meta = json.loads(meta_path.read_text())
        meta["check"] = {**result, "clips": what}
        meta_path.write_text(json.dumps(meta, indent=1))
        for name, r in (("the same model in PyTorch", result["vs_module"]),
                        ("the checkpoint's own FFT path", result["vs_checkpoint"])):  # fmt: skip
            print(
                f"check on {what} against {name}: embedding max abs diff {r['embedding_max_abs']:.2e}, "
                f"logits {r['logits_max_abs']:.2e}, top-1 agrees on {r['top1_agree']:.1%}"
            )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="write a checkpoint as ONNX or TorchScript: waveform in, embedding and logits out",
        description="Export the encoder with its feature front end (an FFT-free form, equal to the training "
        "features) and its classifier: input 'waveform' [batch, samples] float32 at 16 kHz, outputs 'embedding' "
        "and 'logits'. A sidecar FILE.json holds the class names and the input length. The file is then run "
        "(onnxruntime or torch.jit) on clips of the run's test split and compared with PyTorch.",
    )
    add_checkpoint_arguments(p)
    p.add_argument("--format", required=True, choices=["onnx", "torchscript"], help="onnx or torchscript")
    p.add_argument("--out", help="output file (default: beside the checkpoint, .onnx or .pt)")
    p.add_argument("--check", type=int, default=64, help="clips to check the file on (default 64; 0: no check)")
    p.set_defaults(func=_handler)

"""Writing an :class:`ExportedModel` as ONNX or TorchScript, and checking the file against PyTorch.

Every file gets a sidecar ``<file>.json``: class names, sample rate, the input length, the tensor names and the
check's figures. The check runs the written file (onnxruntime for ONNX, ``torch.jit.load`` for TorchScript) on
real clips and compares it with the same module in PyTorch and with the checkpoint's own (FFT) path.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.audio import SAMPLE_RATE
from core.errors import CheckpointError, ConfigError
from core.export.model import ExportedModel, reference_outputs

if TYPE_CHECKING:
    from core.inference import Trained

FORMATS = ("onnx", "torchscript")
INPUT, OUTPUTS = "waveform", ("embedding", "logits")


def _write_onnx(model: ExportedModel, example: torch.Tensor, path: Path) -> None:
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as e:
        raise ConfigError("ONNX export needs the onnx and onnxscript packages: pip install onnx onnxscript") from e
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            input_names=[INPUT],
            output_names=list(OUTPUTS),
            dynamic_shapes=({0: batch},),
            optimize=True,
            verbose=False,
        )
    program.save(str(path))


def _write_torchscript(model: ExportedModel, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (example,), check_trace=False)
    traced.save(str(path))


def _run_file(path: Path, fmt: str, waveforms: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    x = waveforms.float().cpu()
    if fmt == "onnx":
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ConfigError("checking an ONNX export needs onnxruntime: pip install onnxruntime") from e
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        h, logits = session.run(list(OUTPUTS), {INPUT: x.numpy()})
        return h, logits
    module = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        h, logits = module(x)
    return h.numpy(), logits.numpy()


def export_checkpoint(trained: Trained, fmt: str, path: str | os.PathLike) -> Path:
    """Write ``trained`` as ``fmt`` (``onnx`` or ``torchscript``) to ``path``, with its sidecar JSON.

    Raises:
        ConfigError: an unknown format, a SimCLR checkpoint without a probe, or a missing exporter package.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"export format {fmt!r}: choose {' or '.join(FORMATS)}")
    model = ExportedModel(trained).cpu()
    example = torch.zeros(2, model.num_samples)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    (_write_onnx if fmt == "onnx" else _write_torchscript)(model, example, out)
    meta = {
        "format": fmt,
        "checkpoint": str(trained.checkpoint_path),
        "run_id": trained.run_id,
        "regime": trained.regime,
        "class_names": model.class_names,
        "sample_rate": SAMPLE_RATE,
        "input": {"name": INPUT, "shape": ["batch", model.num_samples], "dtype": "float32",
                  "note": "mono at 16 kHz in [-1, 1], right-padded with zeros or cropped to this length"},
        "outputs": {"embedding": ["batch", trained.embed_dim], "logits": ["batch", len(model.class_names)]},
        "logits_from": "head" if trained.has_classifier else "linear probe (probe.pt)",
        "features": trained.feature_config,
    }  # fmt: skip
    Path(f"{out}.json").write_text(json.dumps(meta, indent=1))
    return out


def check_export(path: str | os.PathLike, trained: Trained, waveforms: torch.Tensor) -> dict[str, Any]:
    """Run the file at ``path`` on ``waveforms`` [B, num_samples] and compare it with PyTorch.

    Returns ``clips``; ``vs_module``: max abs difference of the embeddings and logits from the same
    :class:`ExportedModel` run eagerly, and whether every top-1 agrees; ``vs_checkpoint``: the same against the
    checkpoint's own path (FFT features), the one training and ``classify`` use.

    Raises:
        CheckpointError: the file cannot be read or run.
    """
    p = Path(path)
    fmt = "onnx" if p.suffix == ".onnx" else "torchscript"
    try:
        h, logits = _run_file(p, fmt, waveforms)
    except (ConfigError, CheckpointError):
        raise
    except Exception as e:  # an unreadable or foreign file: one line naming it
        raise CheckpointError(f"{p}: cannot run this {fmt} file ({type(e).__name__}: {str(e)[:200]})") from e
    model = ExportedModel(trained).cpu()
    with torch.no_grad():
        eh, el = model(waveforms.float().cpu())
    rh, rl = reference_outputs(trained, waveforms.float())
    result: dict[str, Any] = {"clips": len(waveforms)}
    for name, (ref_h, ref_l) in {"vs_module": (eh, el), "vs_checkpoint": (rh, rl)}.items():
        ref_h, ref_l = ref_h.cpu().numpy(), ref_l.cpu().numpy()
        result[name] = {
            "embedding_max_abs": float(np.abs(h - ref_h).max()),
            "logits_max_abs": float(np.abs(logits - ref_l).max()),
            "top1_agree": float((logits.argmax(1) == ref_l.argmax(1)).mean()),
        }
    return result

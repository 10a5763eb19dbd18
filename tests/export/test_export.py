"""Export to ONNX (run by onnxruntime) and TorchScript, checked against PyTorch on real FSDD clips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import CheckpointError, ConfigError
from core.export import ExportedModel, check_export, export_checkpoint
from core.inference import load_trained
from core.probes import select_linear_probe
from tests.evalcli_support import fsdd_csv, make_checkpoint

ROOT = Path(__file__).resolve().parents[2]
FSDD_MODEL = ROOT / "checkpoints" / "pretrained" / "fsdd" / "model.pt"


@pytest.fixture(scope="module")
def fsdd_test(data_dir):
    from core.data import load_dataset

    ds = load_dataset("fsdd", num_samples=16000, progress=False)
    idx = ds.indices("test")[::3]  # 100 of the 300 official test clips, every speaker and digit
    return torch.from_numpy(np.asarray(ds.waveforms[idx], dtype=np.float32))


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, data_dir):
    return fsdd_csv(tmp_path_factory.mktemp("export-csv"))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_the_shipped_fsdd_model_exports_and_matches_pytorch(tmp_path, fsdd_test, fmt):
    trained = load_trained(FSDD_MODEL, device="cpu")
    path = export_checkpoint(trained, fmt, tmp_path / f"fsdd.{'onnx' if fmt == 'onnx' else 'pt'}")
    result = check_export(path, trained, fsdd_test)
    assert result["clips"] == 100
    assert result["vs_module"]["embedding_max_abs"] <= 1e-4
    assert result["vs_module"]["top1_agree"] == 1.0
    # against the checkpoint's own FFT path (float32): the same predictions, embeddings within its rounding
    assert result["vs_checkpoint"]["top1_agree"] == 1.0
    assert result["vs_checkpoint"]["embedding_max_abs"] <= 1e-2  # measured 2.5e-3 here
    meta = json.loads(Path(f"{path}.json").read_text())
    assert meta["class_names"] == trained.class_names and meta["input"]["shape"] == ["batch", 16000]
    assert meta["logits_from"] == "head"


def test_onnx_takes_any_batch_size(tmp_path, fsdd_test):
    import onnxruntime as ort

    trained = load_trained(FSDD_MODEL, device="cpu")
    path = export_checkpoint(trained, "onnx", tmp_path / "fsdd.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 3, 17):
        h, logits = session.run(["embedding", "logits"], {"waveform": fsdd_test[:n].numpy()})
        assert h.shape == (n, trained.embed_dim) and logits.shape == (n, 10) and h.dtype == np.float32


@pytest.mark.parametrize(("encoder", "preset"), [("small_cnn_1d", "paper"), ("small_cnn_2d", "official")])
def test_raw_audio_and_official_preset_checkpoints_export(tmp_path, small_csv, fsdd_test, encoder, preset):
    run = make_checkpoint(tmp_path / "run", small_csv, encoder=encoder, preset=preset)
    trained = load_trained(run, device="cpu")
    result = check_export(export_checkpoint(trained, "onnx", tmp_path / "m.onnx"), trained, fsdd_test[:16])
    assert result["vs_module"]["embedding_max_abs"] <= 1e-4 and result["vs_module"]["top1_agree"] == 1.0
    if encoder == "small_cnn_1d":  # no feature front end: exactly the checkpoint's own computation
        assert result["vs_checkpoint"]["embedding_max_abs"] <= 1e-4


def test_a_simclr_checkpoint_exports_its_probe_and_refuses_without_one(tmp_path, small_csv, fsdd_test):
    run = make_checkpoint(tmp_path / "simclr", small_csv, regime="simclr")
    trained = load_trained(run, device="cpu")
    with pytest.raises(ConfigError, match=r"no classifier to export.*python -m core eval"):
        export_checkpoint(trained, "torchscript", tmp_path / "s.pt")
    from core.data import load_dataset

    ds = load_dataset("csv", str(small_csv), num_samples=16000, progress=False)
    train = ds.indices("train")
    head, _ = select_linear_probe(trained.embed(np.asarray(ds.waveforms[train])), ds.labels[train], ds.class_names)
    trained.attach_probe(head, save=True)
    trained = load_trained(run, device="cpu")
    path = export_checkpoint(trained, "torchscript", tmp_path / "s.pt")
    module = torch.jit.load(str(path))
    with torch.no_grad():
        h, logits = module(fsdd_test[:8])
    torch.testing.assert_close(logits, head.logits(h), rtol=0, atol=1e-5)
    assert json.loads(Path(f"{path}.json").read_text())["logits_from"] == "linear probe (probe.pt)"
    assert isinstance(ExportedModel(trained).classifier, torch.nn.Module)


def test_the_command_writes_the_file_its_sidecar_and_the_check(tmp_path, data_dir):
    out = tmp_path / "fsdd.pt"
    proc = subprocess.run(
        [sys.executable, "-m", "core", "export", "--checkpoint", str(FSDD_MODEL), "--format", "torchscript",
         "--out", str(out), "--check", "8"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "top-1 agrees on 100.0%" in proc.stdout
    check = json.loads(Path(f"{out}.json").read_text())["check"]
    assert check["clips"] == "8 test clips" and check["vs_module"]["embedding_max_abs"] <= 1e-4


def test_a_file_that_is_not_a_model_is_one_line_naming_it(tmp_path, fsdd_test):
    trained = load_trained(FSDD_MODEL, device="cpu")
    for name in ("junk.onnx", "junk.pt"):
        bad = tmp_path / name
        bad.write_bytes(b"\x00not a model" * 100)
        with pytest.raises(CheckpointError, match=f"{name}: cannot run this"):
            check_export(bad, trained, fsdd_test[:2])
    with pytest.raises(ConfigError, match="export format 'tflite'"):
        export_checkpoint(trained, "tflite", tmp_path / "x")

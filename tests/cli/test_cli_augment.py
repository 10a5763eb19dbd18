"""``python -m core augment``: a round trip through real files."""

import json

import numpy as np
import pytest
import soundfile as sf

from core.cli import main

SR = 16000


def _write_input(tmp_path):
    t = np.arange(SR) / SR
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "in.wav"
    sf.write(path, x, SR)
    return path, x


def test_same_seed_same_file_and_json(tmp_path, capsys):
    src, x = _write_input(tmp_path)
    outs, reports = [], []
    for k, seed in enumerate((7, 7, 8)):
        out = tmp_path / f"out{k}.wav"
        args = [str(src), "--aug", "fade,noise,time_shift", "--seed", str(seed), "--p", "1.0", "--out", str(out)]
        assert main(["augment", *args]) == 0
        reports.append(json.loads(capsys.readouterr().out))
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert outs[0].read_bytes() != outs[2].read_bytes()
    y, sr = sf.read(outs[0], dtype="float32")
    assert sr == SR and y.shape == x.shape and not np.allclose(y, x, atol=1e-3)
    rep = reports[0]
    assert rep["steps"] == reports[1]["steps"] and rep["seed"] == 7
    assert rep["steps"] != reports[2]["steps"]
    assert rep["augmentations"] == ["fade", "noise", "time_shift"]
    assert [s["augmentation"] for s in rep["steps"]] == rep["augmentations"]
    assert all(s["applied"] for s in rep["steps"])
    # the reported shift is audible in the file: undo it and the noise-free parts line up with the fade
    shift = rep["steps"][2]["shift"]
    unshifted = np.roll(y, -shift)
    noise_rms = 10 ** (rep["steps"][1]["noise_db"] / 20)
    fin = rep["steps"][0]["fade_in"]
    fout = rep["steps"][0]["fade_out"]
    middle = slice(fin, SR - fout)
    assert np.sqrt(np.mean((unshifted[middle] - x[middle]) ** 2)) < 2 * noise_rms + 1e-4


def test_named_set_authors_preset(tmp_path, capsys):
    src, _ = _write_input(tmp_path)
    out = tmp_path / "o.wav"
    args = ["augment", str(src), "--set", "time_mask+time_shift", "--preset", "authors", "--p", "1", "--out", str(out)]
    assert main(args) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["preset"] == "authors" and rep["augmentations"] == ["time_mask", "time_shift"]
    assert rep["steps"][0]["length"] == SR // 8 and abs(rep["steps"][1]["shift"]) <= 8000


def test_loud_output_scaled_not_clipped(tmp_path, capsys):
    t = np.arange(SR) / SR
    src = tmp_path / "loud.wav"
    sf.write(src, (0.99 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR)
    out = tmp_path / "o.wav"
    args = ["augment", str(src), "--aug", "noise", "--p", "1", "--seed", "1", "--out", str(out)]
    assert main(args) == 0
    rep = json.loads(capsys.readouterr().out)
    y, _ = sf.read(out, dtype="float32")
    assert rep["peak"] > 1.0 and rep["output_gain_db"] < 0
    assert np.abs(y).max() == pytest.approx(1.0, abs=1e-3)
    assert np.mean(np.abs(y) > 0.999) < 0.001  # a peak, not a clipped plateau


def test_errors_are_one_line(tmp_path, capsys):
    src, _ = _write_input(tmp_path)
    out = str(tmp_path / "o.wav")
    assert main(["augment", str(src), "--aug", "reverb", "--out", out]) == 2
    assert "reverb" in capsys.readouterr().err
    assert main(["augment", str(src), "--out", out]) == 2
    assert "--aug" in capsys.readouterr().err
    assert main(["augment", str(tmp_path / "missing.wav"), "--aug", "fade", "--out", out]) == 2
    assert "missing.wav" in capsys.readouterr().err

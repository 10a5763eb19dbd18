"""The Gradio tab's functions, called directly: an augmented pair is core's pair, reproducible; classification
of short and long clips is core's windowed prediction with the right neighbours; and every bad input of the issue
is one readable ``gr.Error`` line."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
import torch

from app import classify_tab, listen_tab, models
from core.audio import load_audio
from core.augment.pairs import draw_pair, parameter_table
from core.data import list_clips
from core.inference import load_trained
from core.inference.windows import predict_windows
from core.runs import RunStore
from tests.evalcli_support import fsdd_csv, make_checkpoint
from tests.hostile import generate

DEMO = Path(__file__).resolve().parents[2] / "checkpoints" / "pretrained" / "demo" / "model.pt"


@pytest.fixture(scope="module")
def demo_clips():
    clips = list_clips("demo")
    test = [i for i, s in enumerate(clips.split) if s == "test"]
    return clips, test


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAR_RUNS_DB", str(tmp_path / "runs.sqlite"))
    return RunStore(tmp_path / "runs.sqlite")


def _as_float(player):
    rate, data = player
    assert rate == 16000 and data.dtype == np.int16
    return data.astype(np.float32) / 32767


def test_augment_pair_is_cores_pair_and_reproducible(demo_clips):
    clips, test = demo_clips
    path = str(clips.paths[test[0]])
    augs = ["pitch_shift", "noise", "time_mask"]
    out = listen_tab.augment_pair(path, augs, ["pink"], "paper", 1.0, 7, listen_tab.NO_MODEL)
    original, v1, _v2, waves_fig, feats_fig, table, similarity = out
    pair = draw_pair(load_audio(path), augs, p=1.0, seed=7, noise_colors=["pink"])
    assert table == parameter_table(pair) and [r[0] for r in table] == ["time_mask", "pitch_shift", "noise"]
    peak = max(float(pair.view1.abs().max()), float(pair.view2.abs().max()), 1.0)  # one gain, only ever down
    np.testing.assert_allclose(_as_float(v1), pair.view1.numpy() / peak, atol=1 / 32767)
    np.testing.assert_allclose(_as_float(original), load_audio(path).numpy() / peak, atol=1 / 32767)
    again = listen_tab.augment_pair(path, augs, ["pink"], "paper", 1.0, 7, listen_tab.NO_MODEL)
    assert again[5] == table and np.array_equal(again[1][1], v1[1])
    other = listen_tab.augment_pair(path, augs, ["pink"], "paper", 1.0, 8, listen_tab.NO_MODEL)
    assert other[5] != table
    assert len(waves_fig.data) == 3 and len(feats_fig.data) == 9 and "Pick a model" in similarity


def test_augment_pair_similarity_under_a_model(demo_clips):
    clips, test = demo_clips
    out = listen_tab.augment_pair(str(clips.paths[test[0]]), ["noise"], None, "paper", 1.0, 0, "pretrained:demo")
    sim = float(out[6].split("**")[-2])
    trained = load_trained(DEMO, device="cpu")
    pair = draw_pair(load_audio(clips.paths[test[0]]), ["noise"], p=1.0, seed=0)
    h = trained.embed(torch.stack([pair.view1, pair.view2]))
    assert sim == pytest.approx(float(torch.nn.functional.cosine_similarity(h[:1], h[1:])), abs=1e-3)


def test_pick_clip_gives_a_clip_of_the_class():
    player, caption = listen_tab.pick_clip("demo", "click train")
    assert "SYNTHETIC" in caption and "click train" in caption
    assert _as_float(player).shape == (16000,)
    with pytest.raises(gr.Error, match="no class 'violin'"):
        listen_tab.pick_clip("demo", "violin")


def test_classify_a_short_clip_is_cores_prediction(demo_clips):
    clips, test = demo_clips
    path = clips.paths[test[3]]
    top, windows, over_time, seen, rows, *players, _note = classify_tab.classify(str(path), "pretrained:demo")
    truth = clips.class_names[int(clips.labels[test[3]])]
    pred = predict_windows(load_trained(DEMO, device="cpu"), load_audio(path))
    assert list(top) == [c for c, _ in pred.top(5)] and next(iter(top)) == truth
    np.testing.assert_allclose(list(top.values()), [p for _, p in pred.top(5)], rtol=1e-5)
    assert "1 window of 1 s" in windows and over_time is None and seen is not None
    assert len(rows) == 5 and rows[0][1] == truth and all(p["visible"] for p in players)


def test_classify_a_long_clip_in_windows(demo_clips, tmp_path):
    clips, test = demo_clips
    waves = [load_audio(clips.paths[i]) for i in test[:3]]
    path = tmp_path / "three.wav"
    sf.write(path, torch.cat(waves).numpy(), 16000)
    _top, windows, over_time, _seen, rows, *_ = classify_tab.classify(str(path), "pretrained:demo")
    assert "5 windows of 1 s, hop 0.5 s" in windows and len(over_time.data) == 5
    trained, index, _ = models.load("pretrained:demo")
    clip = torch.cat(waves)
    mean = trained.embed(torch.stack([clip[s : s + 16000] for s in range(0, 32001, 8000)])).mean(dim=0)
    assert [r[3] for r in rows] == [nb.path for nb in index.nearest(mean, k=5)]  # neighbours of the mean embedding


def test_neighbours_without_the_audio_say_why(demo_clips, tmp_path, monkeypatch):
    clips, test = demo_clips
    index = models.load("pretrained:demo")[1]
    monkeypatch.setattr(index, "dataset", "esc50")  # a dataset that is not on this machine
    *_, rows, p1, p2, p3, p4, p5, note = classify_tab.classify(str(clips.paths[test[0]]), "pretrained:demo")
    assert len(rows) == 5 and not any(p["visible"] for p in (p1, p2, p3, p4, p5))
    assert "esc50 audio is not on this machine" in note


AUDIO_ATTACKS = {
    "text_renamed_wav": "notes.wav: not audio",
    "lying_wav_header": "short.wav:",
    "nan_samples": "nan.wav: 10 NaN or infinite samples",
    "flac_header_bomb": "bomb.flac:",
}


@pytest.mark.parametrize("attack", sorted(AUDIO_ATTACKS))
def test_bad_uploads_are_one_readable_line(attack, tmp_path):
    path = getattr(generate, attack)(tmp_path)
    for fn in (lambda p: classify_tab.classify(p, "pretrained:demo"), lambda p: listen_tab.augment_pair(p)):
        with pytest.raises(gr.Error) as e:
            fn(str(path))
        assert e.value.message.startswith(AUDIO_ATTACKS[attack]) and "\n" not in e.value.message
        assert str(tmp_path) not in e.value.message  # named as the user knows it, not by a temporary folder


def test_empty_silent_too_long_files(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    long = tmp_path / "long.wav"  # 11 minutes declared in a real header (a sparse file)
    frames = 660 * 8000
    header = b"RIFF" + struct.pack("<I", 36 + 2 * frames) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", 2 * frames)
    with open(long, "wb") as f:
        f.write(header)
        f.truncate(len(header) + 2 * frames)
    for path, text in ((empty, "empty.wav:"), (silent, "silent.wav: the clip is silent"), (long, "long.wav:")):
        with pytest.raises(gr.Error) as e:
            classify_tab.classify(str(path), "pretrained:demo")
        assert e.value.message.startswith(text), e.value.message
    with pytest.raises(gr.Error, match="No clip"):
        classify_tab.classify(None, "pretrained:demo")


def test_a_96_khz_stereo_file_simply_works(demo_clips, tmp_path):
    clips, test = demo_clips
    import soxr

    mono = load_audio(clips.paths[test[0]]).numpy()
    hi = soxr.resample(mono, 16000, 96000)
    path = tmp_path / "hires.wav"
    sf.write(path, np.stack([hi, hi], axis=1), 96000, subtype="PCM_24")
    top = classify_tab.classify(str(path), "pretrained:demo")[0]
    assert next(iter(top)) == clips.class_names[int(clips.labels[test[0]])]


def test_bad_models_are_one_readable_line(store_env, tmp_path, demo_clips):
    clips, test = demo_clips
    clip = str(clips.paths[test[0]])
    with pytest.raises(gr.Error, match="model 'pretrained:nope': unknown"):
        classify_tab.classify(clip, "pretrained:nope")
    with pytest.raises(gr.Error, match="run 20990101-000000-dead: not a completed run"):
        classify_tab.classify(clip, "run:20990101-000000-dead")
    csv_path = fsdd_csv(tmp_path / "data", train=2, valid=1, test=1)
    changed = store_env.create_run("changed", {})
    folder = make_checkpoint(tmp_path / changed, csv_path, regime="clar", encoder="small_cnn_2d")
    state = torch.load(folder / "best.pt", weights_only=True)
    state["config"]["model"]["encoder"] = "small_cnn_1d"  # its weights no longer fit its own config
    from core.checkpoint import atomic_save, weights_only

    atomic_save(weights_only(state), folder / "best.pt")
    store_env.claim(changed, checkpoint_dir=folder)
    store_env.finish(changed, "completed")
    with pytest.raises(gr.Error, match="weights do not match"):
        classify_tab.classify(clip, f"run:{changed}")
    deleted = store_env.create_run("deleted", {})
    gone = make_checkpoint(tmp_path / deleted, csv_path)
    store_env.claim(deleted, checkpoint_dir=gone)
    store_env.finish(deleted, "completed")
    shutil.rmtree(gone)
    with pytest.raises(gr.Error, match=f"run {deleted}: not a completed run with a checkpoint"):
        classify_tab.classify(clip, f"run:{deleted}")


def test_a_simclr_run_without_its_probe_explains_how_to_fit_one(store_env, tmp_path, demo_clips):
    clips, test = demo_clips
    csv_path = fsdd_csv(tmp_path / "data", train=2, valid=1, test=1)
    a, b = store_env.create_run("simclr a", {}), store_env.create_run("simclr b", {})
    fa = make_checkpoint(tmp_path / a, csv_path, regime="simclr", label_fraction=1.0)
    fb = make_checkpoint(tmp_path / b, csv_path, regime="simclr", label_fraction=1.0, global_step=99)
    for rid, folder in ((a, fa), (b, fb)):
        store_env.claim(rid, checkpoint_dir=folder)
        store_env.finish(rid, "completed")
    with pytest.raises(gr.Error, match=r"fit one with `python -m core eval --checkpoint"):
        classify_tab.classify(str(clips.paths[test[0]]), f"run:{a}")
    from core.probes.linear import fit_linear_probe

    trained = load_trained(fb / "best.pt", device="cpu")
    probe = fit_linear_probe(torch.randn(20, trained.embed_dim), torch.arange(20) % 10, num_classes=10,
                             class_names=trained.class_names)  # fmt: skip
    trained.attach_probe(probe)  # fitted on b's checkpoint ...
    shutil.copy(fb / "probe.pt", fa / "probe.pt")  # ... and put beside a's
    with pytest.raises(gr.Error, match=r"was fitted on best\.pt at step 99, not on best\.pt at step 10"):
        classify_tab.classify(str(clips.paths[test[0]]), f"run:{a}")

"""Loading checkpoints for inference: resolution, embeddings, predictions and the probe of SimCLR runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import CheckpointError, ConfigError
from core.inference import PROBE_FILENAME, load_trained, resolve_checkpoint
from core.probes import select_linear_probe
from tests.evalcli_support import fsdd_csv, make_checkpoint


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    return fsdd_csv(tmp_path_factory.mktemp("fsdd_csv"))


@pytest.fixture(scope="module")
def clar_run(tmp_path_factory, small_csv):
    return make_checkpoint(tmp_path_factory.mktemp("ck") / "clar-run", small_csv, regime="clar")


@pytest.fixture(scope="module")
def clips(small_csv):
    from core.data import load_dataset

    ds = load_dataset("csv", str(small_csv), num_samples=16000, progress=False)
    return ds


def test_resolves_file_folder_and_run_id(clar_run, monkeypatch, tmp_path):
    by_folder = load_trained(clar_run, device="cpu")
    assert by_folder.checkpoint_path == clar_run / "best.pt"
    assert not by_folder.model.training and not by_folder.frontend.training
    assert by_folder.regime == "clar" and by_folder.class_names[0] == "eight"  # csv classes are sorted
    assert by_folder.num_samples == 16000 and by_folder.run_id == "clar-run"
    assert load_trained(clar_run / "last.pt", device="cpu").checkpoint_path.name == "last.pt"
    assert load_trained(clar_run, device="cpu", which="last").checkpoint_path.name == "last.pt"
    monkeypatch.setenv("CLAR_CHECKPOINT_DIR", str(clar_run.parent))
    assert load_trained("clar-run", device="cpu").checkpoint_path == clar_run / "best.pt"
    with pytest.raises(CheckpointError, match="no-such-run"):
        load_trained("no-such-run", device="cpu")
    with pytest.raises(CheckpointError, match="epoch_0099"):
        resolve_checkpoint(clar_run, which="epoch_0099")
    # A run without best.pt (no validation) falls back to last.pt, with a warning.
    only_last = tmp_path / "only-last"
    only_last.mkdir()
    (only_last / "last.pt").write_bytes((clar_run / "last.pt").read_bytes())
    with pytest.warns(UserWarning, match="no best.pt"):
        assert resolve_checkpoint(only_last) == only_last / "last.pt"


def test_bad_checkpoint_files(clar_run, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((clar_run / "best.pt").read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r"truncated\.pt"):
        load_trained(truncated, device="cpu")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="missing"):
        load_trained(foreign, device="cpu")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=r"garbage\.pt"):
        load_trained(garbage, device="cpu")


def test_embed_is_deterministic_batch_independent_and_clean(clar_run, clips):
    trained = load_trained(clar_run, device="cpu")
    x = np.array(clips.waveforms[:6])
    e = trained.embed(x, batch_size=4)
    assert e.shape == (6, 512) and e.dtype == torch.float32 and torch.isfinite(e).all()
    torch.testing.assert_close(trained.embed(torch.from_numpy(x), batch_size=1), e, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(trained.embed(x, batch_size=4), e, atol=0, rtol=0)
    with torch.no_grad():
        direct = trained.model(trained.frontend(torch.from_numpy(x)))["h"]
    torch.testing.assert_close(e, direct, atol=1e-5, rtol=1e-4)
    # Different clips give different embeddings (the encoder is not constant).
    assert (e[0] - e[1]).abs().max() > 1e-4


def test_predict_with_the_clar_head(clar_run, clips):
    trained = load_trained(clar_run, device="cpu")
    assert trained.has_classifier
    x = np.array(clips.waveforms[:5])
    p = trained.predict(x, batch_size=2)
    assert p.shape == (5, len(trained.class_names))
    torch.testing.assert_close(p.sum(1), torch.ones(5), atol=1e-5, rtol=0)
    with torch.no_grad():
        logits = trained.model(trained.frontend(torch.from_numpy(x)))["logits"]
    torch.testing.assert_close(p, torch.softmax(logits, 1), atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="probe"):
        trained.predict(x, source="probe")


def test_simclr_predict_needs_the_probe_of_this_checkpoint(tmp_path, small_csv, clips):
    run = make_checkpoint(tmp_path / "simclr-run", small_csv, regime="simclr", global_step=7)
    trained = load_trained(run, device="cpu")
    x = np.array(clips.waveforms[:4])
    assert not trained.has_classifier
    with pytest.raises(ConfigError, match="python -m core eval"):
        trained.predict(x)
    train = clips.indices("train")
    head, _ = select_linear_probe(
        trained.embed(np.array(clips.waveforms[train])), clips.labels[train], clips.class_names
    )
    saved = trained.attach_probe(head, save=True)
    assert saved == run / PROBE_FILENAME
    again = load_trained(run, device="cpu")
    assert again.probe is not None
    torch.testing.assert_close(again.predict(x), head.predict_proba(again.embed(x)))
    # A probe fitted on another checkpoint (another step) is not used.
    make_checkpoint(tmp_path / "simclr-run", small_csv, regime="simclr", global_step=8)
    stale = load_trained(run, device="cpu")
    assert stale.probe is None
    with pytest.raises(ConfigError, match=r"fitted on best\.pt at step 7"):
        stale.predict(x)


@pytest.mark.gpu
@pytest.mark.parametrize("encoder", ["small_cnn_1d", "small_cnn_2d"])
def test_cuda_embeddings_and_predictions_match_the_cpu(tmp_path, small_csv, clips, encoder):
    run = make_checkpoint(tmp_path / f"gpu-{encoder}", small_csv, regime="clar", encoder=encoder)
    cpu, gpu = load_trained(run, device="cpu"), load_trained(run, device="cuda")
    assert next(gpu.model.parameters()).is_cuda
    x = np.array(clips.waveforms[:8])
    e_cpu, e_gpu = cpu.embed(x), gpu.embed(x, batch_size=3)
    assert e_gpu.device.type == "cpu"  # results come back to the CPU
    torch.testing.assert_close(e_gpu, e_cpu, atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(gpu.predict(x), cpu.predict(x), atol=1e-4, rtol=1e-3)

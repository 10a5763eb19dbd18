"""The embeddings cache: a miss computes what the model gives (checked against embed and predict), a hit returns
the same arrays from disk, a changed checkpoint or a touched audio file misses, and a corrupt or foreign cache file
is recomputed with a note."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import atomic_save, state_checksum
from core.data import list_clips, load_dataset
from core.evaluate.embedding_cache import dataset_embeddings, embeddings_key, embeddings_path
from core.inference import load_trained

DEMO = Path(__file__).resolve().parents[2] / "checkpoints" / "pretrained" / "demo" / "model.pt"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache folder of this test's own: other tests (the Embeddings page's) fill the session's with the same keys."""
    monkeypatch.setenv("CLAR_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def folder(tmp_path):
    """A folder dataset of 12 demo clips (copies, so that a test may touch them)."""
    clips = list_clips("demo")
    for i in range(0, len(clips.paths), len(clips.paths) // 12)[:12]:
        name = clips.class_names[int(clips.labels[i])].replace(" ", "_")
        (tmp_path / "sounds" / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(clips.paths[i], tmp_path / "sounds" / name / f"{i}.wav")
    return tmp_path / "sounds"


def test_a_miss_computes_the_models_outputs_and_a_hit_reads_them_back():
    trained = load_trained(DEMO, device="cpu")
    data = load_dataset("demo", num_samples=trained.num_samples, progress=False)
    first = dataset_embeddings(trained, data)
    assert not first.from_cache and first.note == ""
    assert np.allclose(first.embeddings, trained.embed(data.waveforms).numpy(), atol=1e-5)
    assert np.allclose(first.probs, trained.predict(data.waveforms).numpy(), atol=1e-5)
    assert first.same_classes and list(first.split) == list(data.split)
    again = dataset_embeddings(trained, data)
    assert again.from_cache and again.note == ""
    for a in ("embeddings", "probs", "labels", "split", "paths"):
        assert np.array_equal(getattr(again, a), getattr(first, a)), a
    assert again.class_names == first.class_names and again.model_classes == first.model_classes


def test_a_changed_checkpoint_or_a_touched_file_misses(folder, tmp_path):
    trained = load_trained(DEMO, device="cpu")
    data = load_dataset("folder", root=str(folder), num_samples=trained.num_samples, progress=False)
    key = embeddings_key(trained, data)
    assert embeddings_key(trained, data) == key
    state = torch.load(DEMO, weights_only=True)
    name = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][name] = state["model"][name] + 0.01  # a retrained model under the same structure
    state["checksum"] = state_checksum(state)
    other = atomic_save(state, tmp_path / "retrained" / "model.pt")  # the same file name
    assert embeddings_key(load_trained(other, device="cpu"), data) != key
    wav = Path(data.paths[0])
    os.utime(wav, ns=(wav.stat().st_atime_ns, wav.stat().st_mtime_ns + 10**9))
    assert embeddings_key(trained, load_dataset("folder", root=str(folder), num_samples=trained.num_samples,
                                                progress=False)) != key  # fmt: skip


def test_a_corrupt_or_foreign_cache_file_is_recomputed_with_a_note(folder):
    trained = load_trained(DEMO, device="cpu")
    data = load_dataset("folder", root=str(folder), num_samples=trained.num_samples, progress=False)
    good = dataset_embeddings(trained, data)
    assert not good.same_classes  # the folder's classes are sorted names, not the model's order
    path = embeddings_path(good.key)
    path.write_bytes(b"PK\x03\x04 not a zip at all")
    bad = dataset_embeddings(trained, data)
    assert not bad.from_cache and "could not be used" in bad.note and "recomputed" in bad.note
    assert np.allclose(bad.embeddings, good.embeddings, atol=1e-6)
    assert dataset_embeddings(trained, data).from_cache  # rewritten
    demo = load_dataset("demo", num_samples=trained.num_samples, progress=False)
    shutil.copy(embeddings_path(dataset_embeddings(trained, demo).key), path)  # another dataset's file
    foreign = dataset_embeddings(trained, data)
    assert "another checkpoint or dataset" in foreign.note and len(foreign.embeddings) == len(data)
    path.unlink()
    assert dataset_embeddings(trained, data).note == ""  # deleted: simply computed again

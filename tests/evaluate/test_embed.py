"""Embeddings of a dataset written to disk, with their metadata, and their record in the run store."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.evaluate.embed import embed_dataset, load_embeddings
from core.inference import load_trained
from tests.evalcli_support import fsdd_csv, make_checkpoint


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from core.data import load_dataset

    folder = tmp_path_factory.mktemp("embed")
    csv_path = fsdd_csv(folder, train=2, valid=1, test=1)
    trained = load_trained(make_checkpoint(folder / "run-embed", csv_path, regime="clar"), device="cpu")
    return trained, load_dataset("csv", str(csv_path), num_samples=16000, progress=False)


def test_embeddings_and_metadata_match_the_dataset(setup, tmp_path, monkeypatch):
    from core.runs import RunStore

    trained, ds = setup
    # A run store that knows the run gets the embeddings as an artifact.
    monkeypatch.setenv("CLAR_RUNS_DB", str(tmp_path / "runs.sqlite"))
    store = RunStore()
    store.create_run("embed test", trained.config, run_id=trained.run_id)
    meta = embed_dataset(trained, ds, tmp_path / "all", progress=False)
    emb, rows, saved = load_embeddings(tmp_path / "all")
    assert emb.shape == (len(ds), 512) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, trained.embed(np.array(ds.waveforms)).numpy(), atol=1e-5, rtol=1e-4)
    assert [r["path"] for r in rows] == list(ds.paths)
    assert [int(r["label"]) for r in rows] == ds.labels.tolist()
    assert [r["class_name"] for r in rows] == [ds.class_names[i] for i in ds.labels]
    assert [r["split"] for r in rows] == ds.split.tolist()
    assert saved == meta and saved["count"] == len(ds) and saved["dim"] == 512
    assert saved["checkpoint"]["run_id"] == trained.run_id and saved["class_names"] == ds.class_names
    (artifact,) = store.artifacts(trained.run_id)
    assert artifact["kind"] == "embeddings" and artifact["path"].endswith("embeddings.npy")


def test_one_split_only(setup, tmp_path):
    trained, ds = setup
    embed_dataset(trained, ds, tmp_path / "test", split="test", progress=False, register=False)
    emb, rows, meta = load_embeddings(tmp_path / "test")
    assert meta["split"] == "test" and meta["count"] == len(rows)
    test = ds.indices("test")
    assert emb.shape == (len(test), 512) and {r["split"] for r in rows} == {"test"}
    assert [r["path"] for r in rows] == [ds.paths[i] for i in test]
    torch.testing.assert_close(torch.from_numpy(emb), trained.embed(np.array(ds.waveforms[test])))
    with pytest.raises(ConfigError, match="split"):
        embed_dataset(trained, ds, tmp_path / "bad", split="training")

"""The Embeddings page's logic, run by Streamlit's test runner: the shipped demo model on its own dataset (a map,
its separation scores, the cache on the second view), a folder of a few clips whose classes are not the model's
(the prediction colouring is off and the page says why; n_neighbors is lowered to the clips there are), a corrupt
embeddings cache (rebuilt, with a note), and an upload that ``core`` rejects (one line naming the file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import list_clips
from core.errors import AudioLoadError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache folder of each test's own, so that "computed" and "from the cache" do not depend on test order."""
    import streamlit as st

    monkeypatch.setenv("CLAR_CACHE_DIR", str(tmp_path / "cache"))
    st.cache_resource.clear()  # the page keeps datasets in memory: the demo's files live in the cache folder


def _texts(at) -> str:
    kinds = ("markdown", "caption", "error", "warning", "info", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def _embeddings_page(model: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "embeddings.py"), default_timeout=180)
    at.query_params["model"] = model
    at.run()
    return at


def test_the_demo_model_maps_its_dataset_and_a_second_view_comes_from_the_caches(app_env):
    at = _embeddings_page("pretrained:demo")
    assert not at.exception, at.exception
    text = _texts(at)
    assert "320 of 320 clips, 8 classes" in text
    assert "UMAP of 320 clips, computed" in text
    assert [m.label for m in at.metric] == ["kNN accuracy (leave one out, k = 10)", "Silhouette (cosine)"]
    assert at.selectbox(key="emb:model:box").value == "pretrained:demo"
    at.run()
    text = _texts(at)
    assert "embeddings from the cache" in text and "UMAP of 320 clips, from the cache" in text
    at.radio(key="emb:method").set_value("PCA").run()
    assert "PCA of 320 clips" in _texts(at) and "of the variance" in _texts(at)
    assert "These include training clips" in _texts(at)  # the separation scores say when they are flattered
    at.pills(key="emb:splits:pretrained:demo:demo (the model's own, with its run's splits)").set_value(["test"]).run()
    assert "48 of 320 clips" in _texts(at) and "These include training clips" not in _texts(at)


def test_a_small_folder_with_other_classes_turns_prediction_colouring_off_and_says_why(app_env, tmp_path):
    from app.datasets import add_user_dataset
    from app.ui import open_store

    clips = list_clips("demo")
    for i in range(6):
        folder = tmp_path / "mine" / ("dogs" if i % 2 else "cats")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(clips.paths[i * 40], folder / f"{i}.wav")
    add_user_dataset(open_store(), "folder", str(tmp_path / "mine"))
    at = AppTest.from_file(str(REPO / "pages" / "embeddings.py"), default_timeout=180)
    at.query_params["model"] = "pretrained:demo"
    at.run()
    box = at.selectbox(key="emb:dataset:pretrained:demo")
    box.set_value(next(o for o in box.options if "mine" in o)).run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "6 of 6 clips, 2 classes" in text
    assert "are not this dataset's 2" in text and "colouring by prediction" in text
    assert "n_neighbors 15 is more than the 5 other clips: 5 used" in text
    assert at.selectbox(key="emb:colour").options == ["label", "split"]


def test_a_corrupt_embeddings_cache_is_rebuilt_with_a_note(app_env):
    at = _embeddings_page("pretrained:demo")
    assert not at.exception
    from core.evaluate.embedding_cache import embeddings_key, embeddings_path
    from core.inference import load_trained
    from core.inference.dataset import model_dataset

    trained = load_trained(REPO / "checkpoints" / "pretrained" / "demo" / "model.pt", device="cpu")
    cached = embeddings_path(embeddings_key(trained, model_dataset(trained, progress=False)))
    assert cached.is_file()
    cached.write_bytes(b"PK\x03\x04 not really a zip")
    at = _embeddings_page("pretrained:demo")
    assert "could not be used" in _texts(at) and "recomputed" in _texts(at)
    assert "320 of 320 clips" in _texts(at)


class _Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self._data = name, len(data), data

    def getvalue(self) -> bytes:
        return self._data


def test_an_upload_core_rejects_is_one_line_naming_the_file():
    from app.upload import clip_from_upload

    with pytest.raises(AudioLoadError) as e:
        clip_from_upload(_Upload("notes.wav", b"this is text, not audio\n" * 10))
    assert str(e.value).startswith("notes.wav: ") and "\n" not in str(e.value) and "clar-upload" not in str(e.value)
    with pytest.raises(AudioLoadError, match="over the 50 MB upload limit"):
        clip_from_upload(type("Big", (), {"name": "big.wav", "size": 60 * 1024**2, "getvalue": lambda s: b""})())

"""The Gradio functions as an API: ``gradio_client`` against the tab served on a loopback port. Every endpoint has
a stable name, every parameter but the audio a default, ``classify``'s first output is the label-to-probability
map, and a bad file is an error whose text is the UI's."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from app import classify_tab, gradio_app
from core.audio import load_audio
from core.data import list_clips
from core.inference.catalog import DEFAULT_MODEL
from tests.hostile import generate


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    demo = gradio_app.build()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()


def test_the_endpoints_have_stable_names(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/classify", "/augment_pair", "/pick_clip", "/class_choices"} <= set(named)
    params = {p["parameter_name"]: p for p in named["/classify"]["parameters"]}
    assert params["model"]["parameter_has_default"] and params["model"]["parameter_default"] == DEFAULT_MODEL


def test_classify_with_nothing_but_the_audio(client, data_dir):
    clip = data_dir / "esc10" / "audio" / "5-200334-A-1.flac"  # a fold-5 (held-out) rooster
    out = client.predict(handle_file(str(clip)), api_name="/classify")
    label = out[0]
    expect = classify_tab.classify(str(clip), DEFAULT_MODEL)[0]
    assert label["label"] == next(iter(expect))
    got = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert list(got) == list(expect) and np.allclose(list(got.values()), list(expect.values()), atol=1e-6)
    assert "window" in out[1]


def test_augment_pair_with_nothing_but_the_audio(client):
    clips = list_clips("demo")
    out = client.predict(handle_file(str(clips.paths[0])), api_name="/augment_pair")
    table = out[5]
    assert table["headers"] == ["augmentation", "view 1", "view 2"]
    assert [r[0] for r in table["data"]] == ["time_stretch", "pitch_shift", "noise"]  # the defaults
    again = client.predict(handle_file(str(clips.paths[0])), api_name="/augment_pair")
    assert again[5] == table  # seed 0 by default: the same pair


def test_pick_clip(client):
    audio, caption = client.predict("demo", "beep", api_name="/pick_clip")
    assert "beep" in caption and load_audio(audio).shape == (16000,)


def test_a_bad_file_is_an_error_with_the_uis_text(client, tmp_path):
    path = generate.text_renamed_wav(tmp_path)
    with pytest.raises(Exception) as e:
        client.predict(handle_file(str(path)), api_name="/classify")
    assert "notes.wav: not audio" in str(e.value)


def test_the_readme_example_runs_as_written(client, data_dir, tmp_path, capsys):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) == 5
    dog = tmp_path / "dog.wav"
    shutil.copy(data_dir / "esc10" / "audio" / "5-9032-A-0.flac", tmp_path / "dog.flac")  # a held-out dog
    sf.write(dog, sf.read(tmp_path / "dog.flac")[0], 16000)
    code = code.replace("http://127.0.0.1:8501/gradio/", client.src).replace('"dog.wav"', repr(str(dog)))
    exec(compile(code, "README.md", "exec"), {})
    label, rest = capsys.readouterr().out.strip().splitlines()[-1].split(" ", 1)  # after "Loaded as API: ..."
    assert label == "dog" and "Cosine similarity of the two views' embeddings" in rest

"""The Gradio "Classify" tab: drop a clip on a model and see what it hears, and why.

The result, for any clip length: the top-5 classes (``classify``'s first output is a label-to-probability mapping,
what ``gr.Label`` shows and an API client reads), how many windows of the model's input length were scored and the
top classes over time, the features the model saw, and the five nearest training clips in its embedding space with
their labels and, where the audio is on this machine, players. The maths is ``core.inference``'s.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app import models
from app.audio_figures import features_figure, probabilities_figure
from app.gradio_io import as_players, clip_from_upload, gradio_errors
from app.upload import UPLOAD_HINT
from core.audio import load_audio
from core.inference.catalog import DEFAULT_MODEL
from core.inference.windows import predict_windows

NEIGHBOURS = 5


def _neighbour_outputs(index, embedding) -> tuple[list[list[Any]], list[Any], str]:
    if index is None:
        note = (
            "This model has no index of its training clips (`neighbours.npz` beside the checkpoint), so no "
            "nearest clips are shown."
        )
        return [], [gr.update(value=None, visible=False)] * NEIGHBOURS, note
    found = index.nearest(embedding, k=NEIGHBOURS)  # the mean of the windows' embeddings
    rows = [[i + 1, nb.label, round(nb.similarity, 3), nb.path] for i, nb in enumerate(found)]
    players = []
    for i, nb in enumerate(found):
        if nb.audio is None:
            players.append(gr.update(value=None, visible=False))
        else:
            players.append(
                gr.update(
                    value=as_players([load_audio(nb.audio)])[0],
                    visible=True,
                    label=f"{i + 1}. {nb.label} ({nb.similarity:.2f})",
                )
            )
    missing = {nb.missing for nb in found if nb.missing}
    note = "" if not missing else "No players: " + "; ".join(sorted(missing)) + "."
    return rows, players, note


@gradio_errors
def classify(audio: str, model: str = DEFAULT_MODEL) -> tuple:
    """Classify a clip of any length with a model (default: the shipped ESC-10 model).

    Returns the top-5 as ``{label: probability}``, a line about the windows, the top classes over time (None for
    one window), the features the model saw, the nearest training clips (table and players) and a note.
    """
    wave = clip_from_upload(audio)
    trained, index, choice = models.load(model)
    pred = predict_windows(trained, wave)
    top = dict(pred.top(5))
    windows = (
        f"**{choice.label}**: {pred.windows} window{'s' if pred.windows > 1 else ''} of "
        f"{pred.window_s:g} s"
        + (f", hop {pred.hop_s:g} s, probabilities averaged" if pred.windows > 1 else "")
        + f"; the clip is {len(wave) / 16000:.3f} s."
    )
    over_time = (
        probabilities_figure(pred.starts_s, pred.window_s, pred.per_window, pred.class_names)
        if pred.windows > 1
        else None
    )
    settings = trained.feature_config
    seen = features_figure([wave], ["the clip"], feature_settings=settings) if settings else None
    rows, players, note = _neighbour_outputs(index, pred.embedding)
    if settings is None:
        note = ("This model reads the raw waveform (no spectrogram features). " + note).strip()
    return (top, windows, over_time, seen, rows, *players, note)


def build() -> gr.Dropdown:
    """The tab's components and events (inside a ``gr.Blocks``); returns its model dropdown."""
    keys = models.dropdown_choices()
    default = models.default_key()
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.Audio(
                sources=["upload", "microphone"],
                type="filepath",
                label=f"A clip (upload or record: {UPLOAD_HINT})",
                elem_id="classify-clip",
            )
            model = gr.Dropdown(
                keys, value=default, label="Model", info="shipped models first, then your finished runs, newest first"
            )
            go = gr.Button("Classify", variant="primary", elem_id="classify-go")
        with gr.Column(scale=1):
            top = gr.Label(num_top_classes=5, label="Top 5", elem_id="classify-top")
            windows = gr.Markdown(elem_id="classify-windows")
    over_time = gr.Plot(label="Top classes over time (long clips)")
    seen = gr.Plot(label="The features the model saw")
    gr.Markdown("#### The nearest training clips in the model's embedding space")
    table = gr.Dataframe(headers=["rank", "label", "cosine similarity", "file"], interactive=False)
    with gr.Row():
        players = [gr.Audio(visible=False, interactive=False) for _ in range(NEIGHBOURS)]
    note = gr.Markdown()
    go.click(classify, [audio, model], [top, windows, over_time, seen, table, *players, note], api_name="classify")
    return model

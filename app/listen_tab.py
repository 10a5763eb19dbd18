"""The Gradio "Listen" tab: pick or upload a clip, draw an augmented pair, see and hear what CLAR trains on.

The callbacks are thin: the pair is :func:`core.augment.pairs.draw_pair`, the clip is read by
:func:`core.audio.load_audio`, the similarity is :func:`core.inference.neighbours.embedding_similarity`. Every
failure reaches the user (and an API client) as one ``gr.Error`` line.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import torch

from app import models
from app.audio_figures import features_figure, waveforms_figure
from app.gradio_io import as_players, clip_from_upload, gradio_errors
from app.upload import UPLOAD_HINT
from core.augment import CANONICAL_ORDER
from core.augment.noise import NOISE_COLORS
from core.augment.pairs import draw_pair, parameter_table
from core.data import family, list_clips
from core.inference.neighbours import embedding_similarity

DEFAULT_AUGMENTATIONS = ["pitch_shift", "time_stretch", "noise"]
NO_MODEL = "(none)"


def dataset_names() -> list[str]:
    """The datasets this server has (the synthetic demo always)."""
    from app.datasets import builtin_states

    return [s.name for s in builtin_states() if s.problem is None]


@gradio_errors
def class_choices(dataset: str) -> Any:
    """The classes of ``dataset``, for the class dropdown (``any`` first)."""
    names = list(list_clips(dataset).class_names) if dataset else []
    return gr.update(choices=["(any)", *names], value="(any)")


@gradio_errors
def pick_clip(dataset: str, class_name: str = "(any)") -> tuple[tuple[int, np.ndarray], str]:
    """A random clip of ``dataset`` (of ``class_name`` unless ``(any)``): the audio, and which file it is."""
    from core.audio import load_audio

    clips = list_clips(dataset)
    pool = np.arange(len(clips.paths))
    if class_name and class_name != "(any)":
        if class_name not in clips.class_names:
            raise gr.Error(f"{dataset} has no class {class_name!r}")
        pool = pool[np.asarray(clips.labels) == list(clips.class_names).index(class_name)]
    i = int(np.random.default_rng().choice(pool))
    path = clips.paths[i]
    wave = load_audio(path)
    kind = "SYNTHETIC demo sound" if family(dataset).synthetic else dataset
    caption = f"{kind} · {clips.class_names[int(clips.labels[i])]} · `{path.name}`"
    return as_players([wave])[0], caption


@gradio_errors
def augment_pair(
    audio: str,
    augmentations: list[str] | None = None,
    noise_colours: list[str] | None = None,
    preset: str = "paper",
    p: float = 1.0,
    seed: float = 0,
    model: str = NO_MODEL,
) -> tuple:
    """Draw an augmented pair of the clip.

    Returns players for the original and the two views, their waveforms and features, the parameters each view
    drew, and (with a model) the cosine similarity of the two views' embeddings.
    """
    wave = clip_from_upload(audio)
    chosen = DEFAULT_AUGMENTATIONS if augmentations is None else list(augmentations)
    pair = draw_pair(wave, chosen, preset=preset, p=float(p), seed=int(seed), noise_colors=noise_colours or None)
    names = ["original", "view 1", "view 2"]
    waves = [wave, pair.view1, pair.view2]
    table = parameter_table(pair)
    similarity = "Pick a model to see how alike it finds the two views."
    if model and model != NO_MODEL:
        trained, _, choice = models.load(model)
        n = trained.num_samples or len(wave)
        fit = [torch.nn.functional.pad(w[:n], (0, max(0, n - len(w)))) for w in (pair.view1, pair.view2)]
        sim = embedding_similarity(trained, *fit)
        similarity = (
            f"**Cosine similarity of the two views' embeddings** under {choice.label}: **{sim:.3f}** "
            "(1: the model hears them as the same sound)."
        )
    original, v1, v2 = as_players(waves)
    return original, v1, v2, waveforms_figure(waves, names), features_figure(waves, names), table, similarity


def build() -> gr.Dropdown:
    """The tab's components and events (inside a ``gr.Blocks``); returns its model dropdown."""
    datasets = dataset_names()
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown("#### A clip")
            with gr.Row():
                dataset = gr.Dropdown(datasets, value="demo" if "demo" in datasets else None, label="Dataset")
                first = list(list_clips("demo").class_names) if "demo" in datasets else []
                klass = gr.Dropdown(["(any)", *first], value="(any)", label="Class")
            pick = gr.Button("Random clip from the dataset", elem_id="listen-pick")
            caption = gr.Markdown()
            audio = gr.Audio(
                sources=["upload", "microphone"],
                type="filepath",
                label=f"Clip (or upload / record: {UPLOAD_HINT})",
                elem_id="listen-clip",
            )
        with gr.Column(scale=1):
            gr.Markdown("#### Augmentations")
            augs = gr.CheckboxGroup(list(CANONICAL_ORDER), value=DEFAULT_AUGMENTATIONS, label="Augmentations")
            colours = gr.CheckboxGroup(list(NOISE_COLORS), value=list(NOISE_COLORS), label="Noise colours")
            with gr.Row():
                preset = gr.Radio(["paper", "authors"], value="paper", label="Preset")
                p = gr.Slider(0, 1, value=1.0, step=0.05, label="p (each augmentation)")
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, elem_id="listen-seed")
                model = gr.Dropdown(
                    [(NO_MODEL, NO_MODEL), *models.dropdown_choices()], value=NO_MODEL, label="Similarity under a model"
                )
            with gr.Row():
                draw = gr.Button("Draw pair", variant="primary", elem_id="listen-draw")
                again = gr.Button("New pair (next seed)", elem_id="listen-again")
    similarity = gr.Markdown(elem_id="listen-similarity")
    with gr.Row():
        original = gr.Audio(label="original", interactive=False, elem_id="listen-original")
        view1 = gr.Audio(label="view 1", interactive=False, elem_id="listen-view1")
        view2 = gr.Audio(label="view 2", interactive=False, elem_id="listen-view2")
    table = gr.Dataframe(
        headers=["augmentation", "view 1", "view 2"],
        label="What each view drew",
        wrap=True,
        interactive=False,
        elem_id="listen-table",
    )
    waves = gr.Plot(label="Waveforms", elem_id="listen-waves")
    feats = gr.Plot(label="CLAR features: log-power STFT, phase, log-power Mel", elem_id="listen-features")

    dataset.change(class_choices, dataset, klass, api_name="class_choices")
    pick.click(pick_clip, [dataset, klass], [audio, caption], api_name="pick_clip")
    inputs = [audio, augs, colours, preset, p, seed, model]
    outputs = [original, view1, view2, waves, feats, table, similarity]
    draw.click(augment_pair, inputs, outputs, api_name="augment_pair")
    again.click(lambda s: int(s or 0) + 1, seed, seed, api_name=False).then(
        augment_pair, inputs, outputs, api_name=False
    )
    return model

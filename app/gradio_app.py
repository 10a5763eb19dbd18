"""The Gradio app: the Listen and Classify tabs, mounted at ``/gradio`` on the same server as the Streamlit pages.

Its functions are an API as well as a page: ``augment_pair``, ``classify``, ``pick_clip`` and ``class_choices``,
each callable with ``gradio_client`` (``Client("http://localhost:8501/gradio/")``); every parameter but the audio
has a default, and ``classify``'s first output is a label-to-probability mapping.
"""

from __future__ import annotations

import gradio as gr

from app import classify_tab, listen_tab, models

TITLE = "CLAR Studio: listen and classify"


def build() -> gr.Blocks:
    """The Blocks of both tabs (uploads go to Gradio's temporary folder, cleared hourly of files over an hour old)."""
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "Hear what CLAR's augmentations do to a sound, and drop a clip on a trained model to see what it hears. "
            "Uploads stay in a temporary folder that is cleaned up; nothing leaves this machine."
        )
        with gr.Tab("Listen", id="listen"):
            listen_model = listen_tab.build()
        with gr.Tab("Classify", id="classify"):
            classify_model = classify_tab.build()
        demo.load(_refresh_models, None, [listen_model, classify_model], api_name=False)
    return demo


def _refresh_models() -> tuple:
    """The model lists as they are now (a run that finished since the page was built appears)."""
    keys = models.dropdown_choices()
    return gr.update(choices=[(listen_tab.NO_MODEL, listen_tab.NO_MODEL), *keys]), gr.update(choices=keys)

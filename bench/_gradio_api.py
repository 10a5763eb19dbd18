"""The Gradio tab's speed through its API (``gradio_client`` against the tab on a loopback port), for bench/app.py.

Each row times one call end to end (upload, the function, the outputs' encoding, the download of the result) with
a loaded model, median and best of ``REPEATS`` after one warm-up call, beside the part of it that is ``core``'s
work alone (the floor the app's overhead sits on): the model's forward pass over the windows, or drawing the pair.
"""

from __future__ import annotations

import socket
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench._report import time_calls

REPEATS = 7
CLIP_5S = "5-200334-A-1.flac"  # an ESC-10 fold-5 rooster (held out from the shipped model)


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    times = time_calls(fn, repeat=REPEATS)
    return statistics.median(times), min(times)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_times(data_dir: Path, tmp: Path) -> list[list[object]]:
    """Rows: call, clip, end-to-end median and best (ms), core's part (ms), target."""
    from gradio_client import Client, handle_file

    from app import gradio_app, listen_tab
    from core.audio import load_audio
    from core.augment.pairs import draw_pair
    from core.inference import load_trained
    from core.inference.catalog import PRETRAINED_DIR
    from core.inference.windows import predict_windows

    audio = data_dir / "esc10" / "audio"
    short = audio / CLIP_5S
    long = tmp / "sixty_seconds.flac"  # twelve fold-5 clips end to end
    sf.write(long, np.concatenate([load_audio(p).numpy() for p in sorted(audio.glob("5-*.flac"))[:12]]), 16000)
    trained = load_trained(PRETRAINED_DIR / "esc10" / "model.pt", device="cpu")
    waves = {"5 s": load_audio(short), "60 s": load_audio(long)}

    demo = gradio_app.build()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    rows: list[list[object]] = []
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for clip, path in (("5 s", short), ("60 s", long)):
            med, best = _timed(lambda p=path: client.predict(handle_file(str(p)), api_name="/classify"))
            floor, _ = _timed(lambda c=clip: predict_windows(trained, waves[c]))
            windows = predict_windows(trained, waves[clip]).windows
            rows.append([f"classify (`pretrained:esc10`, {windows} window{'s' * (windows > 1)})", clip,
                         f"{1e3 * med:.0f}", f"{1e3 * best:.0f}", f"{1e3 * floor:.0f} (forward pass)",
                         "< 300 ms" if clip == "5 s" else "-"])  # fmt: skip
        names = listen_tab.DEFAULT_AUGMENTATIONS
        med, best = _timed(lambda: client.predict(handle_file(str(short)), api_name="/augment_pair"))
        floor, _ = _timed(lambda: draw_pair(waves["5 s"], names, seed=0))
        rows.append([f"augment_pair ({', '.join(names)}; p = 1)", "5 s", f"{1e3 * med:.0f}", f"{1e3 * best:.0f}",
                     f"{1e3 * floor:.0f} (drawing the pair)", "< 300 ms"])  # fmt: skip
    finally:
        demo.close()
    return rows

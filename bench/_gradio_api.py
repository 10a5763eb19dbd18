"""The Gradio tab's speed through its API (``gradio_client`` against the tab on a loopback port), for bench/app.py.

Each row times one call end to end with a loaded model (upload, the function, the outputs' encoding, the result),
median and best of ``REPEATS`` after one warm-up call: first as ``gradio_client`` does by default, downloading the
audio files of the result (the pair's three players, the five nearest clips), then leaving them on the server
(``download_files=False``, what a client that wants only the label does); beside the Gradio function called in
process, and the part of it that is ``core``'s work alone (the floor the app's overhead sits on): the model's
forward pass over the windows, or drawing the pair.
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
    """Rows: call, clip, end to end with and without the files (median, best; ms), the function, core's part, target."""
    from gradio_client import Client, handle_file

    from app import classify_tab, gradio_app, listen_tab
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
        url = f"http://127.0.0.1:{port}/"
        client, bare = Client(url, verbose=False), Client(url, verbose=False, download_files=False)

        def cells(call, fn, floor) -> list[str]:
            med, best = _timed(lambda: call(client))
            med_bare, _ = _timed(lambda: call(bare))
            return [f"{1e3 * med:.0f} (best {1e3 * best:.0f})", f"{1e3 * med_bare:.0f}", f"{1e3 * _timed(fn)[0]:.0f}",
                    f"{1e3 * _timed(floor)[0]:.0f}"]  # fmt: skip

        for clip, path in (("5 s", short), ("60 s", long)):
            windows = predict_windows(trained, waves[clip]).windows
            rows.append([f"classify (`pretrained:esc10`, {windows} window{'s' * (windows > 1)})", clip,
                         *cells(lambda c, p=path: c.predict(handle_file(str(p)), api_name="/classify"),
                                lambda p=path: classify_tab.classify(str(p)),
                                lambda c=clip: predict_windows(trained, waves[c])),
                         "< 300 ms" if clip == "5 s" else "-"])  # fmt: skip
        names = listen_tab.DEFAULT_AUGMENTATIONS
        rows.append([f"augment_pair ({', '.join(names)}; p = 1)", "5 s",
                     *cells(lambda c: c.predict(handle_file(str(short)), api_name="/augment_pair"),
                            lambda: listen_tab.augment_pair(str(short)),
                            lambda: draw_pair(waves["5 s"], names, seed=0)),
                     "< 300 ms"])  # fmt: skip
    finally:
        demo.close()
    return rows

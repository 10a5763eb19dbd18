"""The Embeddings page's costs (``bench/app.py`` section 5): embeddings of FSDD's 3000 clips, UMAP of them cold
(numba compiling, in a fresh interpreter with an empty numba cache), warm and from the map cache, and the time from a
real box drag in chromium to the audio players of the selection."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._report import wait_for_port

REPO = Path(__file__).resolve().parent.parent
FSDD_MODEL = REPO / "checkpoints" / "pretrained" / "fsdd" / "model.pt"
UMAP_PROBE = """
import sys, time, numpy as np
from core.evaluate.projection import MapParams, embedding_map
x = np.load(sys.argv[1])
t = time.perf_counter(); embedding_map(x, MapParams(), use_cache=False); cold = time.perf_counter() - t
t = time.perf_counter(); embedding_map(x, MapParams(), use_cache=False); warm = time.perf_counter() - t
embedding_map(x, MapParams())
t = time.perf_counter(); m = embedding_map(x, MapParams()); hit = time.perf_counter() - t
assert m.from_cache
print(cold, warm, hit)
"""


def _embeddings(env: dict[str, str], out: Path) -> list[list[object]]:
    probe = f"""
import time, numpy as np, torch
torch.set_num_threads({torch_threads()})
from core.inference import load_trained
from core.inference.dataset import model_dataset
from core.evaluate.embedding_cache import dataset_embeddings
trained = load_trained(r"{FSDD_MODEL}", device="cpu")
t = time.perf_counter(); data = model_dataset(trained, progress=False); decode = time.perf_counter() - t
t = time.perf_counter(); emb = dataset_embeddings(trained, data); miss = time.perf_counter() - t
t = time.perf_counter(); hit = dataset_embeddings(trained, data); hit_s = time.perf_counter() - t
assert hit.from_cache
np.save(r"{out}", emb.embeddings)
print(len(data), decode, miss, hit_s)
"""
    n, decode, miss, hit = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    n = int(n)
    return [
        [f"decode {n} FSDD clips into the waveform cache (first time only)", f"{float(decode):.1f}", "-"],
        [f"embeddings of {n} clips (shipped `fsdd` model), computed and cached", f"{float(miss):.1f}",
         f"{n / float(miss):.0f} clips/s"],
        ["the same from the embeddings cache", f"{float(hit):.2f}", "-"],
    ]  # fmt: skip


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _umap(env: dict[str, str], emb: Path) -> list[list[object]]:
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as numba:
        out = subprocess.run([sys.executable, "-c", UMAP_PROBE, str(emb)], env={**env, "NUMBA_CACHE_DIR": numba},
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    cold, warm, hit = (float(v) for v in out)
    return [
        ["UMAP of 3000 embeddings, cold (fresh interpreter, empty numba cache: import and compile included)",
         f"{cold:.1f}", "-"],
        ["UMAP of 3000 embeddings, warm (the same process again)", f"{warm:.1f}", "-"],
        ["UMAP of 3000 embeddings, from the map cache", f"{hit:.3f}", "met" if hit < 1.0 else "MISSED"],
    ]  # fmt: skip


def _selection(env: dict[str, str], root: Path, chromium: str, flags: list[str]) -> list[list[object]]:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)], env=env, cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    rows = []
    try:
        wait_for_port(port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=flags)
            for model, clips in (("pretrained:demo", 320), ("pretrained:fsdd", 3000)):
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                page.goto(f"http://127.0.0.1:{port}/embeddings?model={model}")
                plot = page.locator(".js-plotly-plot").first
                plot.wait_for(timeout=300_000)
                page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
                times = []
                for k in range(3):
                    plot.scroll_into_view_if_needed()
                    box = plot.locator(".nsewdrag").first.bounding_box()
                    x0, y0 = box["x"] + box["width"] * (0.1 + 0.25 * k), box["y"] + box["height"] * 0.1
                    page.mouse.move(x0, y0)
                    page.mouse.down()
                    page.mouse.move(x0 + box["width"] * 0.3, y0 + box["height"] * 0.8, steps=8)
                    t0 = time.perf_counter()
                    page.mouse.up()
                    page.get_by_text("Selected:").wait_for(timeout=60_000)
                    page.wait_for_function(
                        "() => !document.querySelector('[data-testid=stStatusWidget]') && "
                        "document.querySelectorAll('audio').length > 0", timeout=60_000)  # fmt: skip
                    times.append(time.perf_counter() - t0)
                    page.mouse.dblclick(box["x"] + 5, box["y"] + 5)  # clear the selection
                    page.wait_for_timeout(1500)
                rows.append([f"box drag to the players, {clips} clips (median of 3)", f"{statistics.median(times):.2f}",
                             "-"])  # fmt: skip
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    return rows


def explorer_times(base_env: dict[str, str], root: Path, chromium: str, flags: list[str]) -> list[list[object]]:
    """Rows [measure, seconds, rate or target] for the Embeddings page."""
    env = {**base_env, "CLAR_CACHE_DIR": str(root / "cache")}
    env.setdefault("CLAR_DATA_DIR", str(REPO.parent / "shared" / "data"))
    emb = root / "fsdd_embeddings.npy"
    rows = _embeddings(env, emb)
    rows += _umap(env, emb)
    if os.path.exists(chromium):
        rows += _selection(env, root, chromium, flags)
    return rows

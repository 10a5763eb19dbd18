"""The Gradio tab in headless chromium, on the session's served app: a real held-out ESC-10 clip is classified by
the shipped model with its class first; a text file renamed .wav gets the message; on Listen, a picked clip gives
a pair with three players and the parameter table, and the same seed gives the same parameters. The Streamlit
page "Listen & classify" embeds the tab, and the served app refuses an upload over 50 MB saying so."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from conftest import save_screenshot
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.audio import load_audio
from core.inference import load_trained
from core.inference.catalog import PRETRAINED_DIR
from core.inference.windows import predict_windows

pytestmark = pytest.mark.browser

CLIP = "5-200334-A-1.flac"
"""A rooster of ESC-10's fold 5, which the shipped model never trained on or was selected on."""


def _open(page, served_app, tab: str) -> None:
    page.goto(served_app.url + "/gradio/")
    page.get_by_role("tab", name=tab).click()


def test_a_real_clip_is_classified_with_its_class_first(page, served_app, data_dir):
    clip = data_dir / "esc10" / "audio" / CLIP
    expect = predict_windows(load_trained(PRETRAINED_DIR / "esc10" / "model.pt", device="cpu"), load_audio(clip))
    assert expect.top(1)[0][0] == "rooster"  # the shipped model gets this held-out clip right
    _open(page, served_app, "Classify")
    page.locator("#classify-clip input[type=file]").set_input_files(str(clip))
    page.locator("#classify-go").click()
    top = page.locator("#classify-top")
    top.get_by_text("%").first.wait_for(timeout=60_000)
    lines = [ln for ln in top.inner_text().splitlines() if ln.strip() and ln.strip() != "Top 5"]
    assert lines[0] == "rooster"
    assert "windows of 5 s" in page.locator("#classify-windows").inner_text()
    assert page.console.errors() == []


def test_a_text_file_named_wav_gets_the_message(page, served_app, tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio\n" * 20)
    _open(page, served_app, "Classify")
    page.locator("#classify-clip input[type=file]").set_input_files(str(fake))
    page.locator("#classify-go").click()
    page.get_by_text("notes.wav: not audio").first.wait_for(timeout=30_000)


def _params(page) -> str:
    table = page.locator("#listen-table")
    table.get_by_text("semitones").first.wait_for(timeout=60_000)
    return table.inner_text()


def _draw_until(page, seed: str, condition: str, arg: str) -> None:
    """Set and commit the seed (Tab), press Draw, and wait for ``condition``; press Draw again up to twice.

    The same seed must give the same parameters. Here the third Draw at times left the table as it was (seen in
    CI, then here): the seed typed just before may not be committed yet, or the event stays pending as with the
    first event of a fresh page. Pressing again sends the same request, so the condition still decides: a pair
    that is not reproducible fails all three times.
    """
    box = page.locator("#listen-seed input")
    box.fill(seed)
    box.press("Tab")
    for attempt in range(3):
        page.locator("#listen-draw").click()
        try:
            page.wait_for_function(condition, arg=arg, timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def test_listen_draws_a_pair_with_three_players_and_the_parameters(page, served_app, artifacts):
    page.set_viewport_size({"width": 1400, "height": 1500})
    for attempt in range(3):  # one CI run saw the first event of a fresh page stay pending (its SSE stream?)
        _open(page, served_app, "Listen")
        page.locator("#listen-pick").click()
        try:
            page.locator("#listen-clip audio[src]").wait_for(state="attached", timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    box = page.locator("#listen-seed input")
    box.fill("5")
    box.press("Tab")  # commit the seed before drawing (a Draw pressed first can read the old value)
    page.locator("#listen-draw").click()
    first = _params(page)
    for player in ("#listen-original", "#listen-view1", "#listen-view2"):  # a player with its audio
        page.locator(f"{player} audio[src]").wait_for(state="attached", timeout=30_000)
        assert page.locator(f"{player} [data-testid=waveform-controls]").count() == 1
    assert "pitch_shift" in first and "time_stretch" in first and "noise" in first
    page.locator("#listen-features .js-plotly-plot").first.wait_for(timeout=30_000)
    assert save_screenshot(page, "listen", artifacts).stat().st_size > 20_000  # the README's image
    _draw_until(page, "6", "(before) => document.querySelector('#listen-table').innerText !== before", first)
    # the same seed gives the same parameters
    _draw_until(page, "5", "(before) => document.querySelector('#listen-table').innerText === before", first)
    assert page.console.errors() == []


def test_the_listen_and_classify_page_embeds_the_tab(page, served_app):
    page.goto(served_app.url + "/listen")
    page.get_by_role("heading", name="Listen & classify", level=1).wait_for()
    frame = page.frame_locator("iframe")
    frame.get_by_role("tab", name="Classify").wait_for(timeout=30_000)
    frame.get_by_role("tab", name="Listen").wait_for()
    assert page.console.errors() == []


def test_an_upload_over_the_limit_is_refused_saying_the_limit(served_app):
    boundary = "clarboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + bytes(51 * 2**20)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        served_app.url + "/gradio/gradio_api/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=60)
    assert e.value.code == 413
    assert "maximum allowed size of 52428800 bytes" in e.value.read().decode()

"""The Embeddings page in headless chromium, on the demo dataset with the shipped ``demo`` model: a real box drag on
the map lists the selected clips with audio players; a click on a confusion cell lists its clips; the invariance
panel runs and draws its bars; a clip flagged in the data-issues panel plays. And from a finished run: its test
report's confusion cell opens its clips, and its map opens from the run. Real widgets, real mouse."""

from __future__ import annotations

import re
import time

import pytest
from conftest import TinyRuns, save_screenshot, wait_for_app

pytestmark = pytest.mark.browser


def _open(page, served_app, model: str = "pretrained:demo") -> None:
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(f"{served_app.url}/embeddings?model={model}")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)  # the first UMAP compiles numba
    wait_for_app(page)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_for_app(page)


def _click_cell(page, true: int, predicted: int, classes: int) -> None:
    """Click the centre of a confusion cell (rows: true class, columns: predicted)."""
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    box = plot.locator(".nsewdrag").first.bounding_box()
    x = box["x"] + box["width"] * (predicted + 0.5) / classes
    y = box["y"] + box["height"] * (true + 0.5) / classes
    page.mouse.move(x, y, steps=3)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)


def test_a_box_drag_on_the_map_lists_and_plays_the_selected_clips(page, served_app, artifacts):
    _open(page, served_app)
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    area = plot.locator(".nsewdrag").first.bounding_box()
    x0, y0 = area["x"] + 5, area["y"] + 5  # a box over the whole map selects every clip
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + area["width"] - 10, y0 + area["height"] - 10, steps=12)
    page.mouse.up()
    started = time.perf_counter()
    page.get_by_text("Selected: 320 clip(s)").wait_for(timeout=60_000)
    page.locator("audio").first.wait_for(timeout=60_000)
    print(f"box selection to players: {time.perf_counter() - started:.2f} s")
    wait_for_app(page)  # the players render one by one: count them once the page has finished
    assert page.locator("audio").count() == 6  # players for the first six; the table lists them all
    assert page.get_by_role("button", name="Selection (CSV)").is_visible()
    page.get_by_text("Selected: 320 clip(s)").scroll_into_view_if_needed()
    plot.scroll_into_view_if_needed()
    save_screenshot(page, "embeddings-map", artifacts)


def test_a_confusion_cell_lists_its_clips(page, served_app, artifacts):
    _open(page, served_app)
    _tab(page, "Confusion")
    page.get_by_text("Click a cell").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _click_cell(page, 2, 2, 8)  # true falling chirp, predicted falling chirp
    page.get_by_text("(right): 40 clip(s)").wait_for(timeout=60_000)
    page.locator("audio").first.wait_for()
    page.locator("strong", has_text="falling_chirp_00.wav").first.wait_for()  # its player's caption
    save_screenshot(page, "embeddings-confusion", artifacts)


def test_the_invariance_panel_runs_and_draws_its_bars(page, served_app, artifacts):
    _open(page, served_app)
    _tab(page, "Invariance")
    page.get_by_role("button", name="Run the invariance report").click()
    page.get_by_text("As text").wait_for(timeout=120_000)
    figure = page.locator(".js-plotly-plot").first
    figure.wait_for()
    assert figure.get_by_text("cosine similarity, clean vs augmented").is_visible()
    page.get_by_role("button", name="Report (JSON)").wait_for()
    save_screenshot(page, "embeddings-invariance", artifacts)


def test_a_flagged_clip_in_the_data_issues_panel_plays(page, served_app, artifacts):
    _open(page, served_app)
    _tab(page, "Data issues")
    page.get_by_text("Outliers").first.wait_for()
    audio = page.locator("audio").first
    audio.wait_for()
    audio.scroll_into_view_if_needed()
    played = audio.evaluate(
        "a => a.play().then(() => new Promise(r => setTimeout(() => r([a.paused, a.currentTime, a.duration]), 600)))"
    )
    paused, position, duration = played
    assert not paused and position > 0 and duration > 0
    save_screenshot(page, "embeddings-issues", artifacts)


def test_a_finished_runs_confusion_cell_lists_its_test_clips_and_its_map_opens(
    page, served_app, tiny_runs: TinyRuns, artifacts
):
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(served_app.url + "/runs")
    wait_for_app(page)
    page.get_by_label("Run", exact=True).click()
    page.keyboard.type(tiny_runs.finished)
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_text("List the clips behind each cell").click()
    page.get_by_text("of the test split").wait_for(timeout=120_000)
    matrices = page.locator(".js-plotly-plot")
    plot = matrices.last
    plot.scroll_into_view_if_needed()
    box = plot.locator(".nsewdrag").first.bounding_box()
    x, y = box["x"] + box["width"] / 16, box["y"] + box["height"] / 16
    page.mouse.move(x, y, steps=3)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    page.get_by_text(re.compile(r"True beep, predicted beep \(right\): \d+ clip")).wait_for(timeout=60_000)
    page.get_by_role("button", name="Open its map (Embeddings)").click()
    page.wait_for_url(f"**/embeddings?model=run%3A{tiny_runs.finished}*", timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    assert page.get_by_label("Model").input_value().endswith(f"({tiny_runs.finished})")  # the run's own model

"""In Chromium against the real server: Draw explains a drawn digit, Train compares two runs."""

from __future__ import annotations

import pytest

from tests.kit.dashboard_browser import (
    EXCEPTION,
    exception_count,
    one_points,
    timed_prediction,
    wait_for_script,
)
from tests.kit.dashboard_server import serve
from tests.kit.runs import second_run

pytest.importorskip("tensorflow")


def pick_first_option(page, picker, attempts: int = 5) -> None:
    """Open a multiselect and pick its first option; a rerun landing meanwhile closes the list, so retry."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        wait_for_script(page)
        picker.locator("input").click()
        try:
            page.get_by_role("option").first.click(timeout=5_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        page.keyboard.press("Escape")
        return
    raise AssertionError(f"the multiselect's options never opened in {attempts} attempts")


def test_draw_page_shows_the_heatmap_runner_up_and_neighbours_after_the_answer(store_copy, page, tmp_path):
    from playwright.sync_api import expect

    with serve(store_copy.root) as url:
        page.goto(f"{url}/draw")
        wait_for_script(page, 120_000)
        timed_prediction(page, one_points(), 120_000)
        explained = page.locator(".st-key-draw_explain_canvas")
        expect(explained.get_by_text("Runner-up:")).to_be_visible(timeout=60_000)
        expect(explained.get_by_text("Where it looks")).to_be_visible(timeout=60_000)
        heatmap = explained.get_by_role("img").first
        expect(heatmap).to_be_visible(timeout=60_000)
        assert heatmap.bounding_box()["width"] == pytest.approx(224, abs=2)  # 28 pixels, each 8×8
        expect(explained.get_by_text("Occlusion sensitivity")).to_be_visible()
        # It looks like these: 8 training digits, 44 px each (one row), with their one-line caption.
        neighbours = page.locator(".st-key-draw_neighbours_canvas")
        expect(neighbours.get_by_text("It looks like these")).to_be_visible(timeout=60_000)
        expect(neighbours.get_by_role("img")).to_have_count(8, timeout=30_000)
        for image in neighbours.get_by_role("img").all():
            expect(image).to_be_visible()
            assert image.bounding_box()["width"] == pytest.approx(44, abs=2)
        boxes = [image.bounding_box() for image in neighbours.get_by_role("img").all()]
        assert len({round(box["y"]) for box in boxes}) == 1  # one row
        expect(neighbours.get_by_text("MNIST training digits nearest to this drawing")).to_be_visible()
        explained.get_by_text("What each layer sees").click()
        for caption in ("conv1 → relu1 · 28×28×16", "conv2 → relu2 · 14×14×64", "conv3 → relu3 · 7×7×128"):
            expect(explained.get_by_text(caption)).to_be_visible(timeout=30_000)
        wait_for_script(page)
        assert exception_count(page) == 0
        page.screenshot(path=str(tmp_path / "draw-explain.png"), full_page=True)


def test_train_page_compares_two_runs(store_copy, page, tmp_path):
    from playwright.sync_api import expect

    second_run(store_copy)
    with serve(store_copy.root) as url:
        page.goto(url)
        wait_for_script(page, 120_000)
        expect(page.get_by_text("Most confused pairs")).to_be_visible(timeout=60_000)
        page.get_by_text("Compare runs").click()
        picker = page.locator(".st-key-train_compare_runs")
        for _ in (1, 2):  # the first run still on offer, twice
            pick_first_option(page, picker)
            wait_for_script(page)
        compare = page.get_by_test_id("stExpander").filter(has_text="Compare runs")
        # Accuracy and loss overlaid, per-digit accuracy side by side, then the table.
        expect(compare.get_by_test_id("stVegaLiteChart")).to_have_count(3, timeout=60_000)
        expect(compare.get_by_test_id("stDataFrame")).to_be_visible()
        expect(compare.get_by_text("Pick two or more runs")).to_have_count(0)
        assert page.locator(EXCEPTION).count() == 0
        compare.get_by_test_id("stDataFrame").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "train-compare.png"), full_page=True)

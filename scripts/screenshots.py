"""Screenshots of the dashboard's pages for the docs: `python -m scripts.screenshots`.

Serves the dashboard against a model store (the given one, else a quick model trained into a
temporary store), opens each page in headless Chromium and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tests.kit.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.kit.dashboard_server import ROOT, serve
from training.runs.store import ModelStore

TIMEOUT_MS = 90_000


def quick_store(folder: Path) -> ModelStore:
    """A store holding one CNN trained for a few seconds: 3 epochs on 6,000 images."""
    from training.core.config import TrainConfig
    from training.learn.train import train

    store = ModelStore(folder)
    print("No saved run: training a quick model (3 epochs on 6,000 images)…", file=sys.stderr)
    config = TrainConfig(architecture="cnn", epochs=3, batch_size=64, learning_rate=3e-3, augment=False,
                         train_limit=6000, eval_limit=2000)
    result = train(config)
    store.save(result.model, result.record)
    return store


SEVEN = [(0.28, 0.22), (0.72, 0.22), (0.62, 0.45), (0.48, 0.82)]
DASH = [(0.25, 0.5), (0.75, 0.52)]  # a horizontal dash: the page should say it is no digit
PHONE = {"width": 420, "height": 800}


def draw(page, points: list[tuple[float, float]] = SEVEN) -> None:
    """One stroke through `points` (fractions of the canvas) on the Draw page, then wait for the
    answer and its chart."""
    from playwright.sync_api import expect

    canvas = page.locator(".st-key-draw_canvas canvas").last
    expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=12)
    page.mouse.up()
    prediction = page.locator(".st-key-draw_prediction_canvas")
    expect(prediction.get_by_test_id("stVegaLiteChart")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=TIMEOUT_MS)
    page.mouse.move(0, 0)  # no hover toolbar over the canvas


def train_live(page) -> None:
    """A quick training (2,000 images, not made active) with two epochs of curves drawn."""
    from playwright.sync_api import expect

    page.get_by_role("combobox", name="Training images").click()
    page.get_by_role("option", name="2,000 (seconds)").click()
    page.get_by_text("Make it the active model when done").click()
    page.get_by_role("button", name="Train", exact=True).click()
    progress = page.get_by_test_id("stProgress").get_by_text("Epoch 3/")
    expect(progress).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] .mark-symbol.role-mark path')"
        ".length > 0", timeout=TIMEOUT_MS)


def stop_and_discard(page) -> None:
    """Leave the store as it was: stop the screenshot's training and discard it."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Stop").first.click()
    expect(page.get_by_text("Keep it?")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Discard it").click()
    expect(page.get_by_text("Discarded the partial model")).to_be_visible(timeout=TIMEOUT_MS)


def compare_two_runs(page) -> bool:
    """Open "Compare runs" and pick the first two runs; False when the store has fewer than two."""
    from playwright.sync_api import expect

    expander = page.get_by_test_id("stExpander").filter(has_text="Compare runs")
    if not expander.count():
        return False
    expander.get_by_text("Compare runs").click()
    expect(expander.get_by_role("combobox")).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # the expander opens with an animation
    for _ in range(2):
        expander.get_by_role("combobox").scroll_into_view_if_needed()
        expander.get_by_role("combobox").click()
        expect(page.get_by_role("option").first).to_be_attached(timeout=TIMEOUT_MS)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("stApp")).to_have_attribute(
            "data-test-script-state", "notRunning", timeout=TIMEOUT_MS)
    expect(expander.get_by_test_id("stVegaLiteChart")).to_have_count(3, timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # Vega draws the lines a moment after the charts appear
    return True


def take_screenshots(url: str, out: Path) -> list[Path]:
    """Open Train (curves drawn; two runs compared when there are two), Draw (with a 7 drawn, wide
    and on a phone, and with a dash that is no digit) and Export; a PNG each."""
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def open_page(path: str) -> None:
            page.goto(f"{url}/{path}")
            expect(page.get_by_test_id("stApp")).to_have_attribute(
                "data-test-script-state", "notRunning", timeout=TIMEOUT_MS)

        def save(name: str) -> None:
            # Streamlit scrolls inside its main container, so a "full page" screenshot would stop
            # at the window: grow the window to the content first.
            height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
            page.set_viewport_size({"width": 1280, "height": max(900, min(int(height), 4000))})
            expect(page.get_by_test_id("stApp")).to_have_attribute(
                "data-test-script-state", "notRunning", timeout=TIMEOUT_MS)
            path = out / f"{name}.png"
            page.screenshot(path=path)
            written.append(path)
            page.set_viewport_size({"width": 1280, "height": 900})

        open_page("")
        expect(page.get_by_test_id("stVegaLiteChart").nth(2)).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=TIMEOUT_MS)
        # Vega draws the curves' points a moment after the chart elements appear.
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] .mark-symbol.role-mark path')"
            ".length > 0", timeout=TIMEOUT_MS)
        save("train")
        if compare_two_runs(page):
            height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
            page.set_viewport_size({"width": 1280, "height": max(900, min(int(height), 6000))})
            path = out / "train-compare.png"
            page.get_by_test_id("stExpander").filter(has_text="Compare runs").screenshot(path=path)
            written.append(path)
            page.set_viewport_size({"width": 1280, "height": 900})

        open_page("draw")
        draw(page)
        save("draw")
        open_page("draw")
        draw(page, DASH)
        save("draw-unsure")

        # A phone: what is in view right after the stroke, without scrolling.
        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{url}/draw")
        expect(phone.get_by_test_id("stApp")).to_have_attribute(
            "data-test-script-state", "notRunning", timeout=TIMEOUT_MS)
        draw(phone)
        phone.screenshot(path=out / "draw-phone.png")
        written.append(out / "draw-phone.png")
        phone.close()

        open_page("export")
        expect(page.get_by_role("button", name="Download the web page")).to_be_visible(timeout=TIMEOUT_MS)
        save("export")
        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{url}/export")
        expect(phone.get_by_role("button", name="Download the web page")).to_be_visible(timeout=TIMEOUT_MS)
        phone.screenshot(path=out / "export-phone.png")
        written.append(out / "export-phone.png")
        phone.close()

        open_page("")
        train_live(page)
        save("train-live")
        stop_and_discard(page)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None,
                        help="model store to show (default: $MNIST_STUDIO_MODELS or ./models)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing (make browser installs it)", file=sys.stderr)
        return 1
    store = ModelStore(args.models or os.environ.get("MNIST_STUDIO_MODELS") or ROOT / "models")
    with tempfile.TemporaryDirectory() as scratch:
        if not store.runs():
            store = quick_store(Path(scratch) / "store")
        with serve(store.root) as url:
            for path in take_screenshots(url, args.out):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

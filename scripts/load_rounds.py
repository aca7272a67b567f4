"""One round on the Draw page for `scripts.bench_load`, with Playwright's async API: open the page,
draw a stroke, time its answer and chart, and Clear, each step bounded in time."""

from __future__ import annotations

import time

from tests.kit import dashboard_browser as browser_kit

ROUND_TIMEOUT_MS = 30_000  # one stroke's answer, or one Clear, under load
OPEN_TIMEOUT_MS = 180_000  # opening a session while the others open too


async def wait_for_script(page, timeout_ms: int) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=timeout_ms
    )


async def stroke(page, points: list[tuple[float, float]], timeout_ms: int) -> None:
    """Stepped mouse moves between down and up over the last canvas of the canvas widget."""
    canvas = page.locator(browser_kit.CANVAS_WIDGET).locator(browser_kit.DRAWING_SURFACE).last
    await canvas.wait_for(state="visible", timeout=timeout_ms)
    box = await canvas.bounding_box()
    await page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    await page.mouse.down()
    for fx, fy in points[1:]:
        await page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=4)
    await page.mouse.up()


async def predict_round(page, index: int) -> float:
    """Draw, wait for the answer and chart (the timed part), wait for the run to end, clear."""
    points = browser_kit.one_points() if index % 2 else browser_kit.zero_points()
    await stroke(page, points, ROUND_TIMEOUT_MS)
    started = time.perf_counter()
    # Polled every 10 ms rather than per animation frame: twenty pages share one browser.
    try:
        await page.wait_for_function(browser_kit.PREDICTION_SHOWN_JS, polling=10, timeout=ROUND_TIMEOUT_MS)
    except Exception as error:
        raise RoundError("no answer after the stroke") from error
    round_trip = time.perf_counter() - started
    try:
        await wait_for_script(page, ROUND_TIMEOUT_MS)
        await clear(page)
    except Exception as error:
        raise RoundError("Clear did not empty the canvas") from error
    return round_trip


async def clear(page) -> None:
    """Press Clear; wait for the hint, an empty canvas (as a user would) and the end of the run."""
    await page.locator(".st-key-draw_clear").get_by_role("button").click(timeout=ROUND_TIMEOUT_MS)
    await page.wait_for_function(browser_kit.PREDICTION_CLEARED_JS, polling=10, timeout=ROUND_TIMEOUT_MS)
    widget = page.locator(browser_kit.CANVAS_WIDGET)
    painted = await widget.locator(browser_kit.PAINTED_CANVAS).last.element_handle()
    await page.wait_for_function(browser_kit.CANVAS_EMPTY_JS, arg=painted, polling=10,
                                 timeout=ROUND_TIMEOUT_MS)
    await wait_for_script(page, ROUND_TIMEOUT_MS)


class RoundError(RuntimeError):
    """A round that did not complete within ROUND_TIMEOUT_MS; the message says which step."""


async def open_draw_page(browser, url: str):
    context = await browser.new_context(viewport=browser_kit.VIEWPORT)
    page = await context.new_page()
    await page.goto(f"{url}/draw", timeout=OPEN_TIMEOUT_MS)
    await wait_for_script(page, OPEN_TIMEOUT_MS)
    surface = page.locator(browser_kit.CANVAS_WIDGET).locator(browser_kit.DRAWING_SURFACE).last
    await surface.wait_for(state="visible", timeout=OPEN_TIMEOUT_MS)
    return context, page

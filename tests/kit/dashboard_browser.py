"""Driving the running dashboard from Playwright: wait for a script run, draw a stroke, time a prediction.

Shared by the browser tests and the dashboard and load benchmarks. Follows Streamlit's
own e2e suite: a script run is over when the app root says `data-test-script-state="notRunning"`;
every wait has a timeout; the drawing surface is the last `<canvas>` of the canvas widget.
"""

from __future__ import annotations

import math
import time

from tests.kit.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: F401 - re-exported

VIEWPORT = {"width": 1280, "height": 900}

PREDICTION = ".st-key-draw_prediction_canvas"
CANVAS_WIDGET = ".st-key-draw_canvas"
NUMBER_CANVAS = ".st-key-draw_number_canvas"  # number mode's wide canvas
# Fabric.js adds its event layer (the last canvas) once the drawing surface is set up.
DRAWING_SURFACE = 'canvas[data-fabric="top"]'
# True once the prediction panel shows an answer and its chart has been drawn by Vega.
PREDICTION_SHOWN_JS = """() => {
  const panel = document.querySelector('.st-key-draw_prediction_canvas');
  if (!panel) return false;
  // The answer's heading: a digit, or doubt in words (training/reading/doubt.py).
  const answers = ['Predicted digit:', 'Not sure — it could be', 'This does not look like a digit'];
  const heading = [...panel.querySelectorAll('h3')].some(h => answers.some(a => h.textContent.includes(a)));
  const chart = panel.querySelector('[data-testid="stVegaLiteChart"]');
  return heading && !!chart && !!chart.querySelector('canvas, svg');
}"""
# True once the panel is back to the hint (the canvas was cleared) and no chart is left.
PREDICTION_CLEARED_JS = """() => {
  const panel = document.querySelector('.st-key-draw_prediction_canvas');
  return !!panel && /Draw (a|the next) digit/.test(panel.textContent)
    && !panel.querySelector('[data-testid="stVegaLiteChart"]');
}"""
# The canvas Fabric.js paints the finished strokes on (the drawing surface sits above it).
PAINTED_CANVAS = 'canvas[data-fabric="main"]'
# True when the painted canvas holds no ink: what a user sees once Clear has emptied it. Clear
# goes through the server, so the canvas empties a moment after the button is pressed; a stroke
# drawn before that is wiped with the rest.
CANVAS_EMPTY_JS = """(painted) => {
  const pixels = painted.getContext('2d').getImageData(0, 0, painted.width, painted.height).data;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) return false;
  return true;
}"""
EXCEPTION = '[data-testid="stException"]'


def one_points() -> list[tuple[float, float]]:
    """A vertical bar (a "1"), as fractions of the canvas."""
    return [(0.5, 0.15 + 0.07 * i) for i in range(11)]


def zero_points() -> list[tuple[float, float]]:
    """An oval (a "0"), as fractions of the canvas."""
    return [
        (0.5 + 0.22 * math.sin(2 * math.pi * i / 24), 0.5 - 0.32 * math.cos(2 * math.pi * i / 24))
        for i in range(26)
    ]


def wait_for_script(page, timeout_ms: int = 60_000) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=timeout_ms
    )


def set_epochs(page, epochs: int, timeout_ms: int = 60_000) -> None:
    """Type the sidebar's Epochs and wait until the page has taken it."""
    from playwright.sync_api import expect

    field = page.get_by_label("Epochs")
    field.fill(str(epochs))
    field.press("Enter")
    wait_for_script(page, timeout_ms)
    expect(field).to_have_value(str(epochs))


def start_training(page, epochs: int, timeout_ms: int = 60_000) -> None:
    """Train from the sidebar for `epochs` epochs, as a person does."""
    set_epochs(page, epochs, timeout_ms)
    page.get_by_role("button", name="Train", exact=True).click()


def drawing_canvas(page, timeout_ms: int = 60_000, widget: str = CANVAS_WIDGET):
    """The drawing surface: the last <canvas> inside the canvas widget (number mode's: NUMBER_CANVAS)."""
    from playwright.sync_api import expect

    canvas = page.locator(widget).locator(DRAWING_SURFACE).last
    expect(canvas).to_be_visible(timeout=timeout_ms)
    return canvas


def stroke(page, points: list[tuple[float, float]], timeout_ms: int = 60_000,
           widget: str = CANVAS_WIDGET) -> None:
    """One pen stroke through `points` (fractions of the canvas), with stepped moves; ends on mouse up."""
    box = drawing_canvas(page, timeout_ms, widget).bounding_box()
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=4)
    page.mouse.up()


def timed_prediction(page, points: list[tuple[float, float]], timeout_ms: int = 60_000) -> float:
    """Draw a stroke on a cleared canvas; seconds from mouse up to the answer and its chart on screen."""
    stroke(page, points, timeout_ms)
    started = time.perf_counter()
    page.wait_for_function(PREDICTION_SHOWN_JS, polling="raf", timeout=timeout_ms)
    return time.perf_counter() - started


def painted_canvas(page):
    return page.locator(CANVAS_WIDGET).locator(PAINTED_CANVAS).last


def clear(page, timeout_ms: int = 60_000) -> None:
    """Press Clear; wait for the hint, an empty canvas and the end of the script run."""
    page.locator(".st-key-draw_clear").get_by_role("button").click(timeout=timeout_ms)
    wait_for_cleared(page, timeout_ms)


def wait_for_cleared(page, timeout_ms: int = 60_000) -> None:
    """Until the panel shows the hint, the canvas is empty and the script run is over."""
    page.wait_for_function(PREDICTION_CLEARED_JS, polling="raf", timeout=timeout_ms)
    page.wait_for_function(CANVAS_EMPTY_JS, arg=painted_canvas(page).element_handle(), polling="raf",
                           timeout=timeout_ms)
    wait_for_script(page, timeout_ms)


def exception_count(page) -> int:
    return page.locator(EXCEPTION).count()

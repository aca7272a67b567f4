"""Driving the Draw page's number mode from Playwright: switch to it, write a number stroke by stroke,
wait for its answer (the number, its boxes, each digit's view and the chart), Clear.

Shared by the number-mode benchmark rows in `scripts.bench_dashboard`.
"""

from __future__ import annotations

import math

from tests.kit import dashboard_browser as browser_kit
from tests.kit.drawn_digits import TEMPLATES

READING = ".st-key-draw_number_reading_canvas"
CLEAR = ".st-key-draw_number_clear"
# A digit on the wide canvas (840×280): 60% of its height.
DIGIT_HEIGHT = 0.6
# Points kept of a template's stroke: enough for its shape, few mouse moves to send.
STROKE_POINTS = 16
# The boxed drawing is the first picture of the answer: a new stroke, a new picture.
BOXED_SRC_JS = f"() => document.querySelector('{READING} img')?.src ?? null"
NEW_BOXED_JS = f"(before) => {{ const now = ({BOXED_SRC_JS})(); return !!now && now !== before; }}"
# True once the answer to a new drawing is on screen: the number in large type, a boxed picture other
# than `before`, every picture loaded, the digits' views, a chart Vega has drawn, and nothing in the
# panel still greyed out as left over from the run before (Streamlit marks those data-stale).
NUMBER_ANSWERED_JS = f"""(before) => {{
  const panel = document.querySelector('{READING}');
  if (!panel || !panel.querySelector('h1')) return false;
  const pictures = [...panel.querySelectorAll('img')];
  if (!pictures.length || pictures[0].src === before) return false;
  if (!pictures.every(picture => picture.complete && picture.naturalWidth > 0)) return false;
  const views = panel.querySelector('.st-key-draw_number_views_canvas');
  if (!views || !views.querySelector('img')) return false;
  const chart = panel.querySelector('[data-testid="stVegaLiteChart"]');
  if (!chart || !chart.querySelector('canvas, svg')) return false;
  return !panel.querySelector('[data-stale="true"]');
}}"""
# True once the panel is back to the hint (the canvas was cleared).
NUMBER_CLEARED_JS = f"""() => {{
  const panel = document.querySelector('{READING}');
  return !!panel && /Write (a|the next) number/.test(panel.textContent) && !panel.querySelector('h1');
}}"""

Strokes = list[list[tuple[float, float]]]


def number_strokes(text: str, left: float, width: float, gap: float, variant: int = 0) -> Strokes:
    """The strokes of `text` written left to right from `left` (fractions of the canvas), each digit
    `width` wide with `gap` between digits, in its `variant`-th way of writing (`TEMPLATES`)."""
    top = (1 - DIGIT_HEIGHT) / 2
    strokes: Strokes = []
    for place, character in enumerate(text):
        ways = TEMPLATES[int(character)]
        x = left + place * (width + gap)
        strokes += [[(x + fx * width, top + fy * DIGIT_HEIGHT) for fx, fy in thinned(stroke)]
                    for stroke in ways[variant % len(ways)]]
    return strokes


def thinned(stroke: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """About STROKE_POINTS of the stroke's points, evenly taken, with its ends and every corner (a turn
    of more than 30°) kept: the shape a person draws, in fewer mouse moves."""
    if len(stroke) <= STROKE_POINTS:
        return stroke
    step = (len(stroke) - 1) / (STROKE_POINTS - 1)
    kept = {round(index * step) for index in range(STROKE_POINTS)}
    for index in range(1, len(stroke) - 1):
        (x0, y0), (x1, y1), (x2, y2) = stroke[index - 1], stroke[index], stroke[index + 1]
        turn = abs(math.remainder(math.atan2(y2 - y1, x2 - x1) - math.atan2(y1 - y0, x1 - x0), math.tau))
        if turn > math.radians(30):
            kept.add(index)
    return [stroke[index] for index in sorted(kept)]


def open_number_mode(page, url: str, timeout_ms: int) -> None:
    """Open the Draw page (single-digit mode, as always) and switch to number mode."""
    page.goto(f"{url}/draw", timeout=timeout_ms)
    browser_kit.wait_for_script(page, timeout_ms)
    page.get_by_text("A number", exact=True).click(timeout=timeout_ms)
    page.wait_for_function(NUMBER_CLEARED_JS, polling="raf", timeout=timeout_ms)
    browser_kit.wait_for_script(page, timeout_ms)


def stroke_read(page, points: list[tuple[float, float]], timeout_ms: int) -> None:
    """One stroke on the wide canvas, waited for until its drawing was read and the run is over."""
    before = page.evaluate(BOXED_SRC_JS)
    browser_kit.stroke(page, points, timeout_ms, browser_kit.NUMBER_CANVAS)
    page.wait_for_function(NEW_BOXED_JS, arg=before, polling="raf", timeout=timeout_ms)
    browser_kit.wait_for_script(page, timeout_ms)


def number_shown(page) -> str:
    return page.locator(READING).locator("h1").inner_text().strip()


def clear_number(page, timeout_ms: int) -> None:
    """Press number mode's Clear; wait for the hint, an empty canvas and the end of the script run."""
    page.locator(CLEAR).get_by_role("button").click(timeout=timeout_ms)
    page.wait_for_function(NUMBER_CLEARED_JS, polling="raf", timeout=timeout_ms)
    painted = page.locator(browser_kit.NUMBER_CANVAS).locator(browser_kit.PAINTED_CANVAS).last
    page.wait_for_function(browser_kit.CANVAS_EMPTY_JS, arg=painted.element_handle(), polling="raf",
                           timeout=timeout_ms)
    browser_kit.wait_for_script(page, timeout_ms)

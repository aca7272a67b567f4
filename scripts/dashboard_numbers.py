"""Number mode's latency for `scripts.bench_dashboard`: numbers written stroke by stroke on the wide
canvas, timed to the number on screen, and their rows set against single-digit mode's p95."""

from __future__ import annotations

import time

import numpy as np

from scripts.dashboard_timing import TIMEOUT_MS, log
from tests.kit import dashboard_browser as browser_kit
from tests.kit import number_page

NUMBERS = 20  # numbers written in number mode, of each length
# Number mode: a 2-digit and a 5-digit number, digits apart, as (text, digit width, gap) on the wide
# canvas; each is written a little further right every time, so that no drawing repeats.
WRITTEN_NUMBERS = (("42", 0.12, 0.08), ("30617", 0.1, 0.06))


def number_latencies(page, text: str, width: float, gap: float) -> tuple[list[float], int]:
    """Number mode, on an open page: NUMBERS times, `text` written stroke by stroke on the cleared wide
    canvas (each stroke read before the next); seconds from the last stroke's mouse up to the number,
    its boxes, the digits' views and the chart on screen; and how many were read as `text`."""
    shown, right = [], 0
    for index in range(NUMBERS):
        strokes = number_page.number_strokes(text, 0.05 + 0.005 * index, width, gap)
        for points in strokes[:-1]:
            number_page.stroke_read(page, points, TIMEOUT_MS)
        before = page.evaluate(number_page.BOXED_SRC_JS)
        browser_kit.stroke(page, strokes[-1], TIMEOUT_MS, browser_kit.NUMBER_CANVAS)
        mouse_up = time.perf_counter()
        page.wait_for_function(number_page.NUMBER_ANSWERED_JS, arg=before, polling="raf", timeout=TIMEOUT_MS)
        shown.append(time.perf_counter() - mouse_up)
        browser_kit.wait_for_script(page, TIMEOUT_MS)
        right += number_page.number_shown(page) == text
        number_page.clear_number(page, TIMEOUT_MS)
    return shown, right


def number_rows(browser, store: str, digit_p95_ms: float, command: str) -> tuple[list[dict], dict, int]:
    """Rows for number mode's latencies beside single-digit mode's p95; the samples; exceptions."""
    from tests.kit.dashboard_server import serve

    rows, samples = [], {}
    with serve(store) as url:
        context = browser.new_context(viewport=browser_kit.VIEWPORT)
        try:
            page = context.new_page()
            number_page.open_number_mode(page, url, TIMEOUT_MS)
            # The first reading loads the model into the server's cache; not timed.
            number_page.stroke_read(page, browser_kit.one_points(), TIMEOUT_MS)
            number_page.clear_number(page, TIMEOUT_MS)
            for text, width, gap in WRITTEN_NUMBERS:
                log(f"{NUMBERS} numbers {text} in number mode …")
                shown, right = number_latencies(page, text, width, gap)
                samples[text] = [round(sample * 1000, 1) for sample in shown]
                log(f"{text}: {right} read right, ms {samples[text]}")
                rows.append(number_row(text, width, gap, shown, right, digit_p95_ms, command))
            exceptions = browser_kit.exception_count(page)
        finally:
            context.close()
    return rows, samples, exceptions


def number_row(text: str, width: float, gap: float, shown: list[float], right: int, digit_p95_ms: float,
               command: str) -> dict:
    """The row for one number's latencies, with the goal: single-digit mode's p95 (+10%)."""
    p50, p95 = (float(np.percentile(shown, q)) * 1000 for q in (50, 95))
    # 10%: the spread of p95 between two runs of the same code (as for Explain in scripts.bench_dashboard).
    met = "met" if p95 <= 1.1 * digit_p95_ms else "missed"
    strokes = len(number_page.number_strokes(text, 0, width, gap))
    return {
        "measure": f"number mode: last stroke (mouse up) → the number, its boxes, views and chart, "
                   f"{len(text)} digits (\"{text}\", {strokes} "
                   f"strokes, digits apart), p50 / p95 over {NUMBERS} numbers ({right} read right)",
        "value": f"{p50:.0f} / {p95:.0f} ms",
        "goal": f"p95 ≤ single-digit mode's p95 (+10%: {1.1 * digit_p95_ms:.0f} ms): {met}",
        "command": command,
    }


NUMBER_NOTE = (
    "Number mode: the page is switched to \"A number\"; each number is written stroke by stroke on "
    "the cleared wide canvas, each stroke read before the next as a person writes, and timed from the "
    "last stroke's mouse up until the page shows the number in large type, the drawing with its boxes "
    "(a new picture, loaded), the digits' 28×28 views and the chart drawn by Vega, with nothing left "
    "greyed out from the run before (polled every animation frame). Clear between numbers."
)

"""Dashboard in a browser: cold start to a Draw page that answers, and stroke → chart latency.

`python -m scripts.bench_dashboard STORE_DIR RUN_ID` (an empty RUN_ID means the active run)
starts `streamlit run` against the store three times (a fresh server each time, headless
Chromium through Playwright) and prints one JSON line for `scripts.bench_report.render_generic`.
Progress goes to stderr. Every number in the output is measured here.

`--strokes` measures only the drawing latencies, single-digit mode beside number mode (a few
minutes, not the whole benchmark); its JSON line has the same form.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import time

import numpy as np

from tests.kit import dashboard_browser as browser_kit
from tests.kit import number_page
from tests.kit import served_dashboard as served

COLD_STARTS = 3
STROKES = 30
NUMBERS = 20  # numbers written in number mode, of each length
# Number mode: a 2-digit and a 5-digit number, digits apart, as (text, digit width, gap) on the wide
# canvas; each is written a little further right every time, so that no drawing repeats.
WRITTEN_NUMBERS = (("42", 0.12, 0.08), ("30617", 0.1, 0.06))
# Trainings running at once for the busy measurement (two people training, on two cores).
BUSY_TRAININGS = 2
GOAL_COLD_START_S = 10.0
GOAL_STROKE_P95_MS = 300.0
TIMEOUT_MS = 120_000
WATCHDOG_S = 15 * 60


def log(message: str) -> None:
    print(f"bench_dashboard: {message}", file=sys.stderr, flush=True)


def cold_start(browser, store: str) -> dict:
    """Seconds from `streamlit run` to a drawn stroke's answer on the Draw page, in a fresh context."""
    from tests.kit.dashboard_server import serve

    started = time.perf_counter()
    with serve(store) as url:
        healthy = time.perf_counter() - started
        context = browser.new_context(viewport=browser_kit.VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{url}/draw", timeout=TIMEOUT_MS)
            browser_kit.timed_prediction(page, browser_kit.one_points(), TIMEOUT_MS)
            answered = time.perf_counter() - started
            errors = browser_kit.exception_count(page)
        finally:
            context.close()
    return {"healthy_s": healthy, "answered_s": answered, "exceptions": errors}


@contextlib.contextmanager
def trainings_running(store: str, count: int):
    """`count` training jobs started as the Train page starts them, stopped afterwards."""
    from training.core.config import TrainConfig
    from training.jobs.store import JobStore
    from training.runs.store import ModelStore

    jobs = JobStore(ModelStore(store))
    specs = [jobs.create(TrainConfig.for_architecture("cnn", epochs=50, train_limit=20_000),
                         activate=False, source="dashboard") for _ in range(count)]
    processes = [jobs.launch(spec) for spec in specs]
    deadline = time.monotonic() + 180
    while count and not all(jobs.view(spec.job_id).progress for spec in specs):
        if time.monotonic() > deadline:
            raise TimeoutError("the trainings did not start within 180 s")
        time.sleep(0.5)  # until both train (TensorFlow loaded, batches counting)
    try:
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def stroke_latencies(browser, store: str, trainings: int = 0, explain: bool = True
                     ) -> tuple[list[float], list[float], int]:
    """For each of STROKES strokes: seconds from mouse up to the updated answer and chart, and from
    mouse up to the drawing leaving the browser (the websocket frame the canvas sends), while
    `trainings` training jobs run against the same store; with the page's Explain toggle off when
    not `explain` (the answer alone, for comparison)."""
    from tests.kit.dashboard_server import serve

    with serve(store) as url, trainings_running(store, trainings):
        context = browser.new_context(viewport=browser_kit.VIEWPORT)
        try:
            page = context.new_page()
            sent: list[float] = []
            page.on(
                "websocket", lambda socket: socket.on("framesent", lambda _: sent.append(time.perf_counter()))
            )
            page.goto(f"{url}/draw", timeout=TIMEOUT_MS)
            browser_kit.wait_for_script(page, TIMEOUT_MS)
            if not explain:
                page.locator(".st-key-draw_explain").get_by_text("Explain").click(timeout=TIMEOUT_MS)
                browser_kit.wait_for_script(page, TIMEOUT_MS)
                if page.locator(".st-key-draw_explain input").is_checked():
                    raise RuntimeError("the Explain toggle did not turn off")
            # The first prediction loads the model into the server's cache; not timed.
            browser_kit.timed_prediction(page, browser_kit.zero_points(), TIMEOUT_MS)
            browser_kit.wait_for_script(page, TIMEOUT_MS)
            browser_kit.clear(page, TIMEOUT_MS)
            shown, sending = [], []
            for index in range(STROKES):
                points = browser_kit.one_points() if index % 2 else browser_kit.zero_points()
                browser_kit.stroke(page, points, TIMEOUT_MS)
                mouse_up = time.perf_counter()
                page.wait_for_function(browser_kit.PREDICTION_SHOWN_JS, polling="raf", timeout=TIMEOUT_MS)
                shown.append(time.perf_counter() - mouse_up)
                first_sent = next((moment for moment in sent if moment >= mouse_up), None)
                if first_sent is not None:
                    sending.append(first_sent - mouse_up)
                browser_kit.wait_for_script(page, TIMEOUT_MS)
                browser_kit.clear(page, TIMEOUT_MS)
            return shown, sending, browser_kit.exception_count(page)
        finally:
            context.close()


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
    # 10%: the spread of p95 between two runs of the same code (as for Explain above).
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


def strokes_only(browser, store: str, command: str) -> dict:
    """`--strokes`: single-digit mode's stroke latency and number mode's, in one run."""
    log(f"{STROKES} strokes in single-digit mode …")
    samples, _, errors = stroke_latencies(browser, store)
    log(f"single-digit mode, ms {[round(sample * 1000, 1) for sample in samples]}")
    p50, p95 = (float(np.percentile(samples, q)) * 1000 for q in (50, 95))
    rows = [{
        "measure": f"single-digit mode: stroke (mouse up) → updated answer and chart, p50 / p95 over "
                   f"{STROKES} strokes",
        "value": f"{p50:.0f} / {p95:.0f} ms",
        "goal": "",
        "command": command,
    }]
    numbers, number_samples, number_errors = number_rows(browser, store, p95, command)
    rows += numbers
    rows.append({"measure": "exceptions shown on the page (`stException`)",
                 "value": str(errors + number_errors), "goal": "0", "command": command})
    return {
        "title": "Dashboard: drawing latency, single-digit mode and number mode",
        "intro": "A real `streamlit run` server on loopback and headless Chromium (Playwright), "
                 "against a saved model.",
        "rows": rows,
        "notes": [NUMBER_NOTE],
        "stroke_ms": [round(sample * 1000, 1) for sample in samples],
        "number_ms": number_samples,
    }


NUMBER_NOTE = (
    "Number mode: the page is switched to \"A number\"; each number is written stroke by stroke on "
    "the cleared wide canvas, each stroke read before the next as a person writes, and timed from the "
    "last stroke's mouse up until the page shows the number in large type, the drawing with its boxes "
    "(a new picture, loaded), the digits' 28×28 views and the chart drawn by Vega, with nothing left "
    "greyed out from the run before (polled every animation frame). Clear between numbers."
)


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    only_strokes = "--strokes" in argv
    argv = [arg for arg in argv if arg != "--strokes"]
    if len(argv) != 2:
        print("usage: python -m scripts.bench_dashboard STORE_DIR RUN_ID [--strokes]", file=sys.stderr)
        return 2
    served.start_watchdog(WATCHDOG_S)
    command = "python -m scripts.bench_dashboard STORE RUN_ID"
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder, sync_playwright() as playwright:
        store = served.store_with_active(argv[0], argv[1], folder)
        browser = playwright.chromium.launch(
            executable_path=browser_kit.CHROMIUM, args=browser_kit.CHROMIUM_ARGS
        )
        if only_strokes:
            report = strokes_only(browser, store, f"{command} --strokes")
            browser.close()
            print(json.dumps(report))
            return 0
        starts = []
        for attempt in range(COLD_STARTS):
            log(f"cold start {attempt + 1}/{COLD_STARTS} …")
            starts.append(cold_start(browser, store))
        log(f"{STROKES} strokes …")
        samples, sending, stroke_errors = stroke_latencies(browser, store)
        log(f"{STROKES} strokes with Explain off …")
        plain_samples, _, plain_errors = stroke_latencies(browser, store, explain=False)
        log(f"{STROKES} strokes while {BUSY_TRAININGS} trainings run …")
        busy_samples, _, busy_errors = stroke_latencies(browser, store, trainings=BUSY_TRAININGS)
        p95 = float(np.percentile(samples, 95)) * 1000
        numbers, number_samples, number_errors = number_rows(browser, store, p95, command)
        browser.close()

    answered = statistics.median(start["answered_s"] for start in starts)
    healthy = statistics.median(start["healthy_s"] for start in starts)
    p50, p95 = (float(np.percentile(samples, q)) * 1000 for q in (50, 95))
    send_p50 = float(np.percentile(sending, 50)) * 1000 if sending else float("nan")
    exceptions = (sum(start["exceptions"] for start in starts) + stroke_errors + plain_errors + busy_errors
                  + number_errors)
    plain_p50, plain_p95 = (float(np.percentile(plain_samples, q)) * 1000 for q in (50, 95))
    # "Stroke → answer stays where it is" with the explanations on; 10%: the spread of p95 over 30
    # strokes between two runs of the same code.
    explained_ok = p95 <= 1.1 * plain_p95
    busy_p50, busy_p95 = (float(np.percentile(busy_samples, q)) * 1000 for q in (50, 95))
    rows = [
        {
            "measure": f"cold start: `streamlit run` → Draw page answers a stroke (median of {COLD_STARTS})",
            "value": f"{answered:.1f} s",
            "goal": f"≤ {GOAL_COLD_START_S:.0f} s",
            "command": command,
        },
        {
            "measure": "… of which until `/_stcore/health` answers ok",
            "value": f"{healthy:.1f} s",
            "goal": "",
            "command": command,
        },
        {
            "measure": "cold starts, each",
            "value": ", ".join(f"{s['answered_s']:.1f} s" for s in starts),
            "goal": "",
            "command": command,
        },
        {
            "measure": f"stroke (mouse up) → updated answer and chart, p50 over {STROKES} strokes",
            "value": f"{p50:.0f} ms",
            "goal": "",
            "command": command,
        },
        {
            "measure": f"stroke → updated answer and chart, p95 over {STROKES} strokes",
            "value": f"{p95:.0f} ms",
            "goal": f"≤ {GOAL_STROKE_P95_MS:.0f} ms",
            "command": command,
        },
        {
            "measure": "… the same strokes with Explain off (the answer alone: no heatmap, neighbours or "
                       "layers computed), p50 / p95",
            "value": f"{plain_p50:.0f} / {plain_p95:.0f} ms",
            "goal": f"with explanations, p95 within 10% of this: {'met' if explained_ok else 'missed'}",
            "command": command,
        },
        {
            "measure": f"… while {BUSY_TRAININGS} trainings run (jobs, as from the Train page), p50 / p95",
            "value": f"{busy_p50:.0f} / {busy_p95:.0f} ms",
            "goal": f"p95 ≤ 2 × quiet ({2 * p95:.0f} ms)",
            "command": command,
        },
        {
            "measure": "… of which mouse up → drawing sent by the canvas component (its own wait), p50",
            "value": f"{send_p50:.0f} ms",
            "goal": "",
            "command": command,
        },
        *numbers,
        {
            "measure": "exceptions shown on the page (`stException`)",
            "value": str(exceptions),
            "goal": "0",
            "command": command,
        },
    ]
    notes = [
        "Each cold start is a new `streamlit run` process and a new browser context: TensorFlow, the "
        "app and the model load from scratch; the browser itself is started once, before timing.",
        "A stroke is timed from Playwright's mouse up to the moment the page shows "
        '"Predicted digit" and Vega has drawn the probability chart (polled every animation frame); '
        "the canvas is cleared between strokes, so every answer is a new one. The canvas component "
        "(streamlit-drawable-canvas) holds each drawing back before sending it (a debounce in its "
        "JavaScript); the row above measures that wait, which the dashboard cannot shorten.",
        NUMBER_NOTE,
        f"Goals met: cold start {'yes' if answered <= GOAL_COLD_START_S else 'no'}, "
        f"stroke p95 {'yes' if p95 <= GOAL_STROKE_P95_MS else 'no'}.",
    ]
    print(
        json.dumps(
            {
                "title": "Dashboard: cold start and drawing latency",
                "intro": "A real `streamlit run` server on loopback and headless Chromium (Playwright), "
                "against a saved model.",
                "rows": rows,
                "notes": notes,
                "cold_starts": starts,
                "stroke_ms": [round(sample * 1000, 1) for sample in samples],
                "sent_ms": [round(sample * 1000, 1) for sample in sending],
                "number_ms": number_samples,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

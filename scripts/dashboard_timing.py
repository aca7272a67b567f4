"""Timing the Draw page in a browser for `scripts.bench_dashboard`: a cold start to the first answer,
and stroke → answer latencies, quiet, with Explain off or while training jobs run."""

from __future__ import annotations

import contextlib
import sys
import time

from tests.kit import dashboard_browser as browser_kit

STROKES = 30
TIMEOUT_MS = 120_000


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

"""Dashboard under load: 20 browser sessions drawing at once, and memory over many predictions.

`python -m scripts.bench_load STORE_DIR RUN_ID` (an empty RUN_ID means the active run) starts
`streamlit run` on loopback against the store, then
  1. opens 20 browser contexts (one headless Chromium) on the Draw page; each draws a stroke,
     waits for the answer and its chart, clears and repeats for 60 s; every round trip, error
     and `stException` is recorded, and the server's RSS is sampled every second;
  2. in one fresh session, repeats that round up to 1,000 times (bounded in time), with the
     server's RSS at the start and the end.
It prints one JSON line for `scripts.bench_report.render_generic`; progress goes to stderr.
Every number in the output is measured here. Loops are bounded; a watchdog ends the process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import numpy as np

from scripts.load_rounds import ROUND_TIMEOUT_MS, open_draw_page, predict_round, wait_for_script
from tests.kit import dashboard_browser as browser_kit
from tests.kit import served_dashboard as served

SESSIONS = int(os.environ.get("BENCH_LOAD_SESSIONS", "20"))
LOAD_S = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
MEMORY_PREDICTIONS = 1000
MEMORY_BUDGET_S = float(os.environ.get("BENCH_LOAD_MEMORY_SECONDS", "150"))
WATCHDOG_S = 15 * 60


def log(message: str) -> None:
    print(f"bench_load: {message}", file=sys.stderr, flush=True)


async def session_loop(page, deadline: float, results: dict) -> None:
    """Rounds until the deadline; a failed round is counted, then the page is reloaded."""
    index = 0
    while time.perf_counter() < deadline:
        try:
            results["round_trips"].append(await predict_round(page, index))
        except Exception as error:
            results["errors"].append(f"round {index}: " + str(error).splitlines()[0][:160])
            try:
                await page.reload(timeout=ROUND_TIMEOUT_MS)
                await wait_for_script(page, ROUND_TIMEOUT_MS)
            except Exception as reload_error:
                results["errors"].append("reload failed: " + type(reload_error).__name__)
                return
        if await page.locator(browser_kit.EXCEPTION).count():
            results["exceptions"] += 1
        index += 1


async def concurrent_load(browser, url: str, server) -> dict:
    rss_idle = served.tree_rss_mb(server)
    log(f"opening {SESSIONS} sessions …")
    opened = await asyncio.gather(
        *(open_draw_page(browser, url) for _ in range(SESSIONS)), return_exceptions=True
    )
    pages = [item[1] for item in opened if not isinstance(item, BaseException)]
    open_errors = [type(item).__name__ for item in opened if isinstance(item, BaseException)]
    # One prediction first, so the model is loaded into the server's cache before timing.
    if pages:
        await predict_round(pages[0], 0)
    rss_before = served.tree_rss_mb(server)
    log(f"{len(pages)} sessions open; drawing for {LOAD_S:.0f} s …")
    results = [{"round_trips": [], "errors": [], "exceptions": 0} for _ in pages]
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(served.sample_rss(server, samples, stop))
    cpu_before = served.cpu_seconds(server)
    started = time.perf_counter()
    deadline = started + LOAD_S
    await asyncio.gather(
        *(session_loop(page, deadline, result) for page, result in zip(pages, results, strict=True))
    )
    elapsed = time.perf_counter() - started
    server_cpu_s = served.cpu_seconds(server) - cpu_before
    stop.set()
    await sampler
    rss_after = served.tree_rss_mb(server)
    for item in opened:
        if not isinstance(item, BaseException):
            await item[0].close()
    round_trips = [sample for result in results for sample in result["round_trips"]]
    errors = [error for result in results for error in result["errors"]]
    return {
        "sessions": len(pages),
        "open_errors": open_errors,
        "elapsed_s": round(elapsed, 1),
        "predictions": len(round_trips),
        "per_session": [len(result["round_trips"]) for result in results],
        "errors": errors,
        "exceptions": sum(result["exceptions"] for result in results),
        "p50_ms": round(float(np.percentile(round_trips, 50)) * 1000) if round_trips else None,
        "p95_ms": round(float(np.percentile(round_trips, 95)) * 1000) if round_trips else None,
        "max_ms": round(max(round_trips) * 1000) if round_trips else None,
        "server_cpu_s": round(server_cpu_s, 1),
        "rss_idle_mb": rss_idle,
        "rss_before_mb": rss_before,
        "rss_peak_mb": max(samples, default=rss_after),
        "rss_after_mb": rss_after,
    }


async def memory_run(browser, url: str, server) -> dict:
    """One session predicting up to MEMORY_PREDICTIONS times within MEMORY_BUDGET_S seconds.

    Each prediction is a full round: a stroke on an empty canvas, its answer, then Clear. (Strokes
    drawn over each other were quicker, but the preprocessing often reduces two such drawings to
    the same 28×28 image, so the page has no visible change that tells the answer arrived.)
    """
    context, page = await open_draw_page(browser, url)
    await predict_round(page, 0)  # warm-up: this session's first run and widgets
    rss_start = served.tree_rss_mb(server)
    log(f"one session, up to {MEMORY_PREDICTIONS} predictions or {MEMORY_BUDGET_S:.0f} s …")
    deadline = time.perf_counter() + MEMORY_BUDGET_S
    round_trips, errors, middle = [], [], None
    started = time.perf_counter()
    while len(round_trips) < MEMORY_PREDICTIONS and time.perf_counter() < deadline:
        try:
            round_trips.append(await predict_round(page, len(round_trips) + len(errors)))
        except Exception as error:
            errors.append(f"round {len(round_trips) + len(errors)}: " + str(error).splitlines()[0][:160])
            if len(errors) > 5:
                break
        if middle is None and time.perf_counter() - started > MEMORY_BUDGET_S / 2:
            middle = (len(round_trips), served.tree_rss_mb(server))
    rss_end = served.tree_rss_mb(server)
    exceptions = await page.locator(browser_kit.EXCEPTION).count()
    await context.close()
    return {
        "predictions": len(round_trips),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "errors": errors,
        "exceptions": exceptions,
        "rss_start_mb": rss_start,
        "rss_middle": middle,
        "rss_end_mb": rss_end,
        "p50_ms": round(float(np.percentile(round_trips, 50)) * 1000) if round_trips else None,
    }


async def measure(url: str, server) -> tuple[dict, dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=browser_kit.CHROMIUM, args=browser_kit.CHROMIUM_ARGS
        )
        try:
            load = await concurrent_load(browser, url, server)
            memory = await memory_run(browser, url, server)
        finally:
            await browser.close()
    return load, memory


def report(load: dict, memory: dict) -> dict:
    command = "python -m scripts.bench_load STORE RUN_ID"
    per_session = load["per_session"]
    growth = memory["rss_end_mb"] - memory["rss_start_mb"]
    rows = [
        {
            "measure": f"concurrent sessions drawing and predicting for {LOAD_S:.0f} s",
            "value": f"{load['sessions']} open ({len(load['open_errors'])} failed to open)",
            "goal": str(SESSIONS),
            "command": command,
        },
        {
            "measure": "predictions answered (all sessions)",
            "value": f"{load['predictions']} ({load['predictions'] / load['elapsed_s']:.1f}/s; per session "
            f"{min(per_session, default=0)}–{max(per_session, default=0)})",
            "goal": "",
            "command": command,
        },
        {
            "measure": "errors (timeouts, failed clicks) / `stException` shown",
            "value": f"{len(load['errors'])} / {load['exceptions']}",
            "goal": "0 / 0",
            "command": command,
        },
        {
            "measure": "round trip mouse up → answer and chart, p50 / p95 / max",
            "value": f"{load['p50_ms']} / {load['p95_ms']} / {load['max_ms']} ms",
            "goal": "",
            "command": command,
        },
        {
            "measure": "server CPU time while loaded (all cores; a round is 3 script runs: stroke, Clear, "
            "the emptied canvas)",
            "value": f"{load['server_cpu_s']:.1f} s in {load['elapsed_s']:.0f} s "
            f"({load['server_cpu_s'] / load['elapsed_s']:.0%} of one core; "
            f"{load['server_cpu_s'] / max(load['predictions'], 1) * 1000:.0f} ms per round)",
            "goal": "",
            "command": command,
        },
        {
            "measure": "server RSS (streamlit process tree): idle → sessions open → peak → after",
            "value": f"{load['rss_idle_mb']:.0f} → {load['rss_before_mb']:.0f} → {load['rss_peak_mb']:.0f} → "
            f"{load['rss_after_mb']:.0f} MB",
            "goal": "",
            "command": command,
        },
        {
            "measure": "one session: predictions made (of 1,000, within the time bound)",
            "value": f"{memory['predictions']} in {memory['elapsed_s']:.0f} s (p50 {memory['p50_ms']} ms)",
            "goal": "",
            "command": command,
        },
        {
            "measure": "one session: server RSS at start → end",
            "value": f"{memory['rss_start_mb']:.0f} → {memory['rss_end_mb']:.0f} MB ({growth:+.1f} MB, "
            f"{growth / max(memory['predictions'], 1) * 1000:+.0f} KB per prediction)",
            "goal": "",
            "command": command,
        },
        {
            "measure": "one session: errors / `stException` shown",
            "value": f"{len(memory['errors'])} / {memory['exceptions']}",
            "goal": "0 / 0",
            "command": command,
        },
    ]
    notes = [
        "One `streamlit run` server on loopback and one headless Chromium (Playwright), each session "
        'its own browser context. A round is: a stepped stroke on the canvas, wait for "Predicted '
        'digit" and the drawn chart (timed from mouse up), wait for the script run to end, Clear.',
        f"The one-session run repeats the same round (stroke, answer, Clear); it stops at "
        f"{MEMORY_PREDICTIONS:,} predictions or after {MEMORY_BUDGET_S:.0f} s.",
        "The browser and the server share this machine's cores, so round trips include the browser's "
        "own rendering of twenty pages.",
    ]
    if load["errors"]:
        notes.append("First errors: " + "; ".join(sorted(set(load["errors"]))[:3]))
    return {
        "title": f"Dashboard under load: {SESSIONS} sessions at once",
        "intro": "Concurrent browser sessions drawing against one server, and the server's memory over "
        "many predictions in one session.",
        "rows": rows,
        "notes": notes,
        "load": load,
        "memory": memory,
    }


def main(argv: list[str]) -> int:
    return served.serve_and_measure("scripts.bench_load", argv, WATCHDOG_S, measure, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Dashboard under load without a browser: many websocket sessions drawing on the Draw page at once.

`python -m scripts.bench_ws_load STORE_DIR RUN_ID` (an empty RUN_ID means the active run) starts
`streamlit run` on loopback against the store and opens BENCH_WS_SESSIONS (20) sessions that speak
Streamlit's own protocol (`tests.kit.streamlit_ws`), so the server, not a browser, is what saturates.
A round is the three runs a browser causes: a stroke (the canvas's state with the PNG of a drawn
digit, sent with the fragment's id; timed until its `script_finished`), Clear, and the emptied
canvas the component sends back. Every session repeats rounds for BENCH_WS_SECONDS (60).
First one session sends every test drawing once with nothing else running: those answers are the
reference, so an answer under load with another digit or another "What it sees" image than the
quiet answer for the same drawing was meant for another drawing (another session's, or a stale one).
Then one fresh session makes BENCH_WS_PREDICTIONS (1,000) predictions in a row, with the server's
RSS measured every 100. It prints one JSON line for `scripts.bench_report.render_generic`;
progress goes to stderr. Loops are bounded; a watchdog ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import psutil

from tests.kit import served_dashboard as served
from tests.kit.draw_page_ws import (
    ROUND_ERRORS,
    ROUND_TIMEOUT_S,
    Page,
    RoundError,
    canvas_state,
    draw_round,
    open_page,
)
from tests.kit.drawn_digits import make_drawn_digits

SESSIONS = int(os.environ.get("BENCH_WS_SESSIONS", "20"))
LOAD_S = float(os.environ.get("BENCH_WS_SECONDS", "60"))
MEMORY_PREDICTIONS = int(os.environ.get("BENCH_WS_PREDICTIONS", "1000"))
DRAWINGS = 100  # drawn digits with known labels; sessions start at different ones
WATCHDOG_S = LOAD_S + 1200


def log(message: str) -> None:
    print(f"bench_ws_load: {message}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    round_trips: list[float] = field(default_factory=list)
    correct: int = 0
    exceptions: int = 0
    errors: list[str] = field(default_factory=list)
    other_drawing: list[str] = field(default_factory=list)


async def session_loop(url: str, page: Page, number: int, deadline: float, drawings: list[dict],
                       labels: np.ndarray, reference: list[tuple[int | None, str]], tally: Tally) -> Page:
    """Rounds until the deadline; after a failed one the session is replaced, as a reload would."""
    owner = {seen: index for index, (_, seen) in enumerate(reference)}
    rounds = 0
    while time.perf_counter() < deadline:
        which = (number * 7 + rounds) % len(drawings)
        rounds += 1
        try:
            round_trip, answer = await draw_round(page, drawings[which])
        except (RoundError, *ROUND_ERRORS) as error:
            why = str(error)[:120] or f"no script_finished within {ROUND_TIMEOUT_S:.0f} s"
            tally.errors.append(f"session {number}: {type(error).__name__}: {why}")
            with contextlib.suppress(Exception):
                await page.session.close()
            page = await open_page(url)  # if this fails too, the session is reported lost
            continue
        tally.round_trips.append(round_trip)
        tally.exceptions += len(answer.exceptions)
        tally.correct += int(answer.digit == labels[which])
        if (answer.digit, answer.seen) != reference[which]:
            tally.other_drawing.append(f"drawing {which} got {answer.digit} {answer.seen} (quiet: "
                                       f"{reference[which][0]}; that image is drawing "
                                       f"{owner.get(answer.seen)})")
    return page


def percentile_ms(values: list[float], q: float) -> int | None:
    return round(float(np.percentile(values, q)) * 1000) if values else None


async def measure(url: str, server: psutil.Process) -> tuple[dict, dict]:
    images, labels = make_drawn_digits(DRAWINGS, seed=0)
    drawings = [canvas_state(image) for image in images]
    load = await concurrent_load(url, server, drawings, labels)
    memory = await memory_run(url, server, drawings)
    return load, memory


async def concurrent_load(url: str, server: psutil.Process, drawings: list[dict], labels: np.ndarray) -> dict:
    """SESSIONS sessions drawing at once for LOAD_S seconds, after a quiet pass for the reference."""
    rss_idle = served.tree_rss_mb(server)
    log(f"opening {SESSIONS} sessions …")
    opened = await asyncio.gather(*(open_page(url) for _ in range(SESSIONS)), return_exceptions=True)
    pages = [item for item in opened if isinstance(item, Page)]
    open_errors = [f"{type(item).__name__}: {item}"[:160] for item in opened if not isinstance(item, Page)]
    if not pages:
        raise RuntimeError(f"no session opened: {open_errors[:3]}")
    log(f"{len(pages)} sessions open; the quiet pass over {DRAWINGS} drawings …")
    # One session alone: the reference answers (and the model is loaded before anything is timed).
    reference = []
    for drawing in drawings:
        _, answer = await draw_round(pages[0], drawing)
        reference.append((answer.digit, answer.seen))
    quiet_correct = sum(digit == label for (digit, _), label in zip(reference, labels, strict=True))
    rss_before = served.tree_rss_mb(server)
    log(f"drawing for {LOAD_S:.0f} s …")
    tallies = [Tally() for _ in pages]
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(served.sample_rss(server, samples, stop))
    cpu_before, own_before = served.cpu_seconds(server), sum(psutil.Process().cpu_times()[:2])
    started = time.perf_counter()
    loops = [session_loop(url, page, number, started + LOAD_S, drawings, labels, reference, tally)
             for number, (page, tally) in enumerate(zip(pages, tallies, strict=True))]
    ended = await asyncio.gather(*loops, return_exceptions=True)
    elapsed = time.perf_counter() - started
    server_cpu_s = served.cpu_seconds(server) - cpu_before
    own_cpu_s = sum(psutil.Process().cpu_times()[:2]) - own_before
    stop.set()
    await sampler
    refs = 0
    for page in ended:
        if isinstance(page, Page):
            refs += page.session.refs_resolved
            await page.session.close()
    round_trips = [sample for tally in tallies for sample in tally.round_trips]
    predictions = len(round_trips)
    return {
        "sessions": len(pages), "open_errors": open_errors, "elapsed_s": round(elapsed, 1),
        "predictions": predictions, "per_session": [len(tally.round_trips) for tally in tallies],
        "errors": [error for tally in tallies for error in tally.errors]
        + [f"session lost: {item!r}"[:160] for item in ended if not isinstance(item, Page)],
        "exceptions": sum(tally.exceptions for tally in tallies),
        "other_drawing": [item for tally in tallies for item in tally.other_drawing],
        "correct": sum(tally.correct for tally in tallies), "quiet_correct": int(quiet_correct),
        "p50_ms": percentile_ms(round_trips, 50), "p95_ms": percentile_ms(round_trips, 95),
        "max_ms": round(max(round_trips) * 1000) if round_trips else None,
        "server_cpu_s": round(server_cpu_s, 1), "client_cpu_s": round(own_cpu_s, 1), "refs_resolved": refs,
        "rss_idle_mb": rss_idle, "rss_before_mb": rss_before,
        "rss_peak_mb": max(samples, default=rss_before), "rss_after_mb": served.tree_rss_mb(server),
    }


async def memory_run(url: str, server: psutil.Process, drawings: list[dict]) -> dict:
    """One fresh session making MEMORY_PREDICTIONS predictions; the server's RSS every 100 of them."""
    page = await open_page(url)
    await draw_round(page, drawings[0])  # this session's first round: widgets and caches made
    rss = [served.tree_rss_mb(server)]
    log(f"one session, {MEMORY_PREDICTIONS} predictions …")
    errors: list[str] = []
    exceptions = 0
    started = time.perf_counter()
    for number in range(MEMORY_PREDICTIONS):
        try:
            _, answer = await draw_round(page, drawings[number % len(drawings)])
            exceptions += len(answer.exceptions)
        except (RoundError, *ROUND_ERRORS) as error:
            errors.append(f"prediction {number}: {type(error).__name__}: {str(error)[:120]}")
            await page.session.close()
            page = await open_page(url)
        if (number + 1) % 100 == 0:
            rss.append(served.tree_rss_mb(server))
    elapsed = time.perf_counter() - started
    await page.session.close()
    return {"predictions": MEMORY_PREDICTIONS, "elapsed_s": round(elapsed, 1), "errors": errors,
            "exceptions": exceptions, "rss_mb": rss}


def report(load: dict, memory: dict) -> dict:
    command = "python -m scripts.bench_ws_load STORE RUN_ID"
    per_session, elapsed, predictions = load["per_session"], load["elapsed_s"], load["predictions"]
    growth = memory["rss_mb"][-1] - memory["rss_mb"][0]
    values = [
        (f"websocket sessions drawing and predicting for {LOAD_S:.0f} s", SESSIONS,
         f"{load['sessions']} open ({len(load['open_errors'])} failed to open)"),
        ("predictions answered (all sessions)", "",
         f"{predictions} ({predictions / elapsed:.1f}/s; per session "
         f"{min(per_session, default=0)}–{max(per_session, default=0)})"),
        ("errors (timeouts, lost or out-of-order runs, no hint after Clear) / exception elements",
         "0 / 0", f"{len(load['errors'])} / {load['exceptions']}"),
        ("answers meant for another drawing (digit or seen image differs from the quiet answer)", "0",
         str(len(load["other_drawing"]))),
        ("round trip stroke sent → its run's script_finished, p50 / p95 / max", "",
         f"{load['p50_ms']} / {load['p95_ms']} / {load['max_ms']} ms"),
        ("answers right on the drawn digits' labels: under load / quiet pass", "",
         f"{load['correct'] / max(predictions, 1):.1%} of {predictions} / "
         f"{load['quiet_correct'] / DRAWINGS:.1%} of {DRAWINGS}"),
        ("server CPU time while loaded (all cores; a round is 3 script runs: stroke, Clear, the emptied "
         "canvas)", "", f"{load['server_cpu_s']:.1f} s in {elapsed:.0f} s "
         f"({load['server_cpu_s'] / elapsed:.0%} of one core; "
         f"{load['server_cpu_s'] / max(predictions, 1) * 1000:.0f} ms per round)"),
        ("load generator CPU time (this process)", "",
         f"{load['client_cpu_s']:.1f} s ({load['client_cpu_s'] / elapsed:.0%} of one core)"),
        ("server RSS (streamlit process tree): idle → sessions open → peak → after", "",
         f"{load['rss_idle_mb']:.0f} → {load['rss_before_mb']:.0f} → {load['rss_peak_mb']:.0f} → "
         f"{load['rss_after_mb']:.0f} MB"),
        (f"one session, {memory['predictions']:,} predictions in a row: time, errors / exception "
         "elements", "0 / 0",
         f"{memory['elapsed_s']:.0f} s; {len(memory['errors'])} / {memory['exceptions']}"),
        ("… server RSS at the start, then after every 100 predictions", "no growth",
         " → ".join(f"{value:.0f}" for value in memory["rss_mb"]) + f" MB ({growth:+.1f} MB, "
         f"{growth / max(memory['predictions'], 1) * 1000:+.1f} KB per prediction)"),
    ]
    notes = [
        "One `streamlit run` server on loopback; each session is a websocket client speaking Streamlit's "
        "protobuf protocol (tests/kit/streamlit_ws.py), no browser. The stroke's state carries a 280×280 PNG "
        f"of a digit from tests.kit.drawn_digits ({DRAWINGS} drawings, seed 0).",
        "The round trip leaves out what a browser adds: the canvas's 200 ms debounce before it sends, and "
        "rendering the answer.",
        f"ForwardMsgs that came as references to the client's message cache: {load['refs_resolved']}.",
    ]
    errors = load["errors"] + load["open_errors"] + memory["errors"]
    for label, items in (("Errors", errors), ("Answers for another drawing", load["other_drawing"])):
        if items:
            notes.append(f"{label} ({len(items)}), first: " + "; ".join(items[:3]))
    return {
        "title": f"Dashboard under load over websockets: {SESSIONS} sessions at once",
        "intro": "Browserless sessions drawing against one server, to find what the server alone can take.",
        "rows": [{"measure": measure, "value": value, "goal": str(goal), "command": command}
                 for measure, goal, value in values],
        "notes": notes,
        "load": load,
        "memory": memory,
    }


def main(argv: list[str]) -> int:
    return served.serve_and_measure("scripts.bench_ws_load", argv, WATCHDOG_S, measure, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The Draw page driven over Streamlit's websocket protocol: draw a digit, read the answer, Clear.

What a browser tab does on that page, without the browser (`tests.kit.streamlit_ws` speaks the
protocol). Used by the load benchmark and the load test.
"""

from __future__ import annotations

import base64
import io
import re
import time
from dataclasses import dataclass

import numpy as np
import websockets
from PIL import Image

from tests.kit import streamlit_ws

ROUND_TIMEOUT_S = 30.0  # one run's answer under load
OPEN_TIMEOUT_S = 120.0  # a session's first full run, while the others open too
FABRIC_VERSION = "7.4.0"  # what the canvas's Fabric.js writes into its JSON
# The digit answered: plainly, or under a doubt ("Not sure — …", then "Best guess: 4, …").
PREDICTED = re.compile(r"(?:Predicted digit|Best guess): (\d)")
HINT = "Draw a digit"
# What a round can fail with, besides RoundError: the session is then replaced, as a reload would.
ROUND_ERRORS = (TimeoutError, streamlit_ws.ProtocolError, websockets.ConnectionClosed, LookupError)


def canvas_state(ink: np.ndarray) -> dict:
    """The canvas widget's state after drawing `ink`, as the component sends it with setStateValue.

    `data` is what `canvas.toDataURL("png")` gives: opaque RGBA with the black background. `raw` is
    Fabric's JSON; the page never reads it, so one path through some inked pixels stands in for the
    strokes (the browser's message has about that size).
    """
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., :3] = ink[..., None]
    rgba[..., 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    ys, xs = np.nonzero(ink > 128)
    step = max(1, len(xs) // 60)
    points = zip(xs[::step], ys[::step], strict=True)
    path = [["M" if i == 0 else "L", int(x), int(y)] for i, (x, y) in enumerate(points)]
    objects = [{"type": "Path", "stroke": "#FFFFFF", "strokeWidth": 20, "strokeLineCap": "round",
                "fill": None, "path": path}] if path else []
    return {"drawing": {"raw": {"version": FABRIC_VERSION, "objects": objects, "background": "#000000"},
                        "data": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}}


EMPTY_CANVAS = canvas_state(np.zeros((280, 280), np.uint8))


@dataclass
class Page:
    """A session on the Draw page and the ids its first run gave it."""

    session: streamlit_ws.Session
    canvas: str
    fragment: str
    clear: str


@dataclass
class Answer:
    """What the page shows after one run."""

    digit: int | None
    seen: str  # the "What it sees" image's media URL: a content hash, the same in every session
    hint: bool
    exceptions: list[str]


class RoundError(RuntimeError):
    """A round whose runs came back without what the page shows at that step."""


async def open_page(url: str) -> Page:
    """A new session on the Draw page, its first run read for the canvas, fragment and Clear ids."""
    session = await streamlit_ws.Session.open(url, "draw")
    try:
        first = await session.rerun([], timeout_s=OPEN_TIMEOUT_S)
        canvas, fragment = first.element_with_key("bidi_component", "draw_canvas")
        clear, _ = first.element_with_key("button", "draw_clear")
    except BaseException:
        await session.close()
        raise
    return Page(session, canvas, fragment, clear)


def answer_of(run: streamlit_ws.Run) -> Answer:
    """The predicted digit, the "What it sees" image, the hint and exceptions that a run shows."""
    found = [int(m.group(1)) for m in map(PREDICTED.search, (e.body for e in run.elements("markdown"))) if m]
    seen = [image.url for imgs in run.elements("imgs") for image in imgs.imgs]
    hint = any(HINT in alert.body for alert in run.elements("alert"))
    return Answer(found[0] if found else None, seen[0] if seen else "", hint, run.exceptions())


async def draw_round(page: Page, drawing: dict) -> tuple[float, Answer]:
    """Stroke (timed), Clear, emptied canvas; the stroke's answer, with every run's exceptions."""
    stroke = streamlit_ws.json_state(page.canvas, drawing)
    started = time.perf_counter()
    answer = answer_of(await page.session.rerun([stroke], page.fragment, ROUND_TIMEOUT_S))
    round_trip = time.perf_counter() - started
    # The browser sends every widget's state with the press, so the drawing goes along unchanged.
    clear = [stroke, streamlit_ws.trigger(page.clear)]
    cleared = answer_of(await page.session.rerun(clear, page.fragment, ROUND_TIMEOUT_S))
    empty = [streamlit_ws.json_state(page.canvas, EMPTY_CANVAS)]
    emptied = answer_of(await page.session.rerun(empty, page.fragment, ROUND_TIMEOUT_S))
    answer.exceptions += cleared.exceptions + emptied.exceptions
    if answer.digit is None and not answer.exceptions:
        raise RoundError("no answer after the stroke")
    if not (cleared.hint and emptied.hint) and not answer.exceptions:
        raise RoundError("Clear did not bring the hint back")
    return round_trip, answer

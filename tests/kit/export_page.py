"""Driving the exported page (web_export) in headless Chromium: serving its folder over http, opening
it and logging what it requests, predicting in the page, painting its 28×28 grid with the mouse."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

LOAD_TIMEOUT_MS = 60_000
TOLERANCE = 1e-4  # tf.js probabilities vs Keras's, float32 export


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass  # test output stays readable


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`python -m http.server` in `folder`, on a free localhost port, in a thread; yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def keras_probabilities(predictor, images: np.ndarray) -> np.ndarray:
    """Calibrated probabilities, as the Draw page and `predict --json` show them."""
    return predictor.probabilities_batch(images.astype(np.float32))


class PageLog:
    """Every request the page makes and every error it reports (CSP violations included)."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))


def open_page(page, url: str) -> PageLog:
    from playwright.sync_api import expect

    log = PageLog(page)
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=LOAD_TIMEOUT_MS)
    return log


def requests_elsewhere(page, log: PageLog, folder: str) -> list[str]:
    """What the page asked for outside `folder`; blob: URLs of its own origin are memory, not requests.

    model.js hands the wasm backend its binary (inlined in tf-backend-wasm-simd.js) as a blob: URL.
    """
    own_blobs = f"blob:{page.evaluate('window.origin')}/"
    return [url for url in log.requests if not url.startswith((folder, own_blobs))]


def predict_in_page(page, images: np.ndarray) -> np.ndarray:
    """Pixels go in as 0..1 floats, exactly as the page's own grid feeds them."""
    flat = images.reshape(len(images), 784).astype(np.float32).tolist()
    return np.array(page.evaluate("images => window.mnistStudio.predictBatch(images)", flat))


def paint(page, cells: np.ndarray) -> None:
    """Press and drag along each row's runs of ink, with stepped mouse moves, like a person would."""
    box = page.locator("#grid").bounding_box()
    cell_w, cell_h = box["width"] / 28, box["height"] / 28

    def centre(row: int, col: int) -> tuple[float, float]:
        return box["x"] + (col + 0.5) * cell_w, box["y"] + (row + 0.5) * cell_h

    for row in range(28):
        cols = np.flatnonzero(cells[row])
        # Split the row into runs of adjacent ink cells.
        for run in np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1):
            if run.size == 0:
                continue
            page.mouse.move(*centre(row, run[0]))
            page.mouse.down()
            page.mouse.move(*centre(row, run[-1]), steps=max(1, run.size))
            page.mouse.up()


def grid_in_page(page) -> np.ndarray:
    return np.array(page.evaluate("window.mnistStudio.grid()")).reshape(28, 28)

"""Timing the exported page in headless Chromium for `scripts.bench_export`: fresh pages opened until
the model is ready, single predictions and predictBatch, occlusion maps and Chromium's CPU time, and
the occlusion row set against training.reading.explain's maps."""

from __future__ import annotations

import base64
import os
import statistics

import numpy as np
import psutil

from scripts.export_page_js import (
    INIT_SCRIPT,
    LOAD_IMAGES_JS,
    PREDICT_BATCH_JS,
    TIME_FULL_BATCH_JS,
    TIME_OCCLUSION_JS,
    TIME_ON_CPU_JS,
    TIME_PREDICTIONS_JS,
)

PAGE_LOADS = 5  # fresh browser contexts per export; the median is reported
WARMUP = 20  # predictions before timing
TIMED = 200  # single predictions timed, one MNIST test digit each
ACCURACY_IMAGES = 2000  # first N MNIST test images, through predictBatch
BATCH = 250  # images per predictBatch call

OCCLUSION_WARMUP = 5  # occlusion maps before timing
OCCLUSION_TIMED = 100  # occlusion maps timed, one MNIST test digit each (float32 export)
OCCLUSION_COMPARED = 30  # of those, compared with training.reading.explain's map

GOAL_OCCLUSION_MS = 50.0
OCCLUSION_TOLERANCE = 1e-3  # max |Δ| between the page's and training.reading.explain's normalised maps

PAGE_TIMEOUT_MS = 60_000  # any single page operation


def as_b64(images: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).decode("ascii")


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


class PageProblems:
    """Uncaught errors and console errors of one page, so a broken page is reported, not timed."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))


def open_ready(browser, url: str) -> tuple[object, object, dict]:
    """A fresh context and page at `url`, once `mnistStudio.ready` has settled: (context, page, ready)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        problems = PageProblems(page)
        page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function("window.__benchReady !== undefined", timeout=PAGE_TIMEOUT_MS)
        ready = page.evaluate(
            "ms => window.__benchWithin(window.__benchReady, ms, 'mnistStudio.ready')", PAGE_TIMEOUT_MS
        )
        if not ready["ok"]:
            raise RuntimeError(f"the page did not load its model: {ready.get('error')}")
        if problems.errors:
            raise RuntimeError(f"the page reported an error: {problems.errors[0]}")
        return context, page, ready
    except BaseException:
        context.close()
        raise


def measure_ready(browser, url: str) -> list[float]:
    """Navigation start → mnistStudio.ready resolved, in ms, for PAGE_LOADS fresh contexts."""
    times = []
    for _ in range(PAGE_LOADS):
        context, _page, ready = open_ready(browser, url)
        context.close()
        times.append(float(ready["at"]))
    return times


def measure_in_page(browser, url: str, x_test: np.ndarray) -> dict:
    """Timed single predictions, then predictBatch over ACCURACY_IMAGES, in one fresh page."""
    context, page, _ = open_ready(browser, url)
    try:
        timed = page.evaluate(
            TIME_PREDICTIONS_JS,
            {"b64": as_b64(x_test[:TIMED]), "count": TIMED, "warmup": WARMUP, "timeoutMs": PAGE_TIMEOUT_MS},
        )
        loaded = page.evaluate(
            LOAD_IMAGES_JS, {"b64": as_b64(x_test[:ACCURACY_IMAGES]), "count": ACCURACY_IMAGES}
        )
        assert loaded == ACCURACY_IMAGES, loaded
        probabilities, batch_ms = [], []
        for start in range(0, ACCURACY_IMAGES, BATCH):
            end = min(start + BATCH, ACCURACY_IMAGES)
            answer = page.evaluate(
                PREDICT_BATCH_JS, {"start": start, "end": end, "timeoutMs": PAGE_TIMEOUT_MS}
            )
            probabilities += answer["probabilities"]
            batch_ms.append(answer["ms"] / (end - start))
        on_cpu = page.evaluate(
            TIME_ON_CPU_JS, {"count": TIMED, "warmup": WARMUP, "timeoutMs": PAGE_TIMEOUT_MS}
        )
    finally:
        context.close()
    return {
        "times_ms": timed["times"],
        "timed_digits": timed["digits"],
        "backend": timed["backend"],
        "renderer": timed["renderer"],
        "probabilities": np.asarray(probabilities, dtype=np.float64),
        "batch_ms_per_image": statistics.median(batch_ms),
        "cpu_times_ms": on_cpu["times"] if on_cpu["backend"] == "cpu" else None,
    }


def browser_cpu_seconds() -> float:
    """CPU time used so far by this process's children (Playwright's driver, Chromium and its renderers)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def measure_occlusion(browser, url: str, x_test: np.ndarray) -> dict:
    """Timed occlusion maps of MNIST test digits in one fresh page, and the first few maps.

    Also the CPU time Chromium spent per map: on a shared machine the wall-clock time includes
    waiting for a core, the CPU time does not (tf.js's wasm backend runs on one thread here).
    """
    context, page, _ = open_ready(browser, url)
    try:
        page.evaluate(LOAD_IMAGES_JS, {"b64": as_b64(x_test[:OCCLUSION_TIMED]), "count": OCCLUSION_TIMED})
        warmup = {"count": OCCLUSION_WARMUP, "compared": 0, "timeoutMs": PAGE_TIMEOUT_MS}
        page.evaluate(TIME_OCCLUSION_JS, warmup)
        cpu_before = browser_cpu_seconds()
        timed = page.evaluate(TIME_OCCLUSION_JS, {
            "count": OCCLUSION_TIMED, "compared": OCCLUSION_COMPARED, "timeoutMs": PAGE_TIMEOUT_MS,
        })
        cpu_ms = (browser_cpu_seconds() - cpu_before) * 1000 / OCCLUSION_TIMED
        load = os.getloadavg()[0]  # the 1-minute load average just after
        full = page.evaluate(TIME_FULL_BATCH_JS, {"count": 20, "timeoutMs": PAGE_TIMEOUT_MS})
        return {**timed, "cpu_ms": cpu_ms, "load": load, "fullTimes": full}
    finally:
        context.close()


def occlusion_rows(occlusion: dict, model, x_test: np.ndarray, bench_cmd: str
                   ) -> tuple[list[dict], list[str]]:
    """The occlusion row (time against the goal, agreement with training.reading.explain) and its notes."""
    from training.reading.explain import PATCH, STRIDE, explainer_for, patch_corners

    explainer = explainer_for(model)
    differences = []
    for image, in_page in zip(x_test[:OCCLUSION_COMPARED], occlusion["maps"], strict=True):
        saliency = explainer.occlusion_map(image.astype(np.float32) / 255)
        expected = saliency / np.abs(saliency).max()
        differences.append(float(np.abs(np.asarray(in_page).reshape(28, 28) - expected).max()))
    times = occlusion["times"]
    p50, p95 = percentile(times, 50), percentile(times, 95)
    worst = max(differences)
    rows = [{
        "measure": f"\"Where it looks\" occlusion map in the page, float32, p50 / p95 of {len(times)}",
        "value": f"{p50:.1f} / {p95:.1f} ms (max \\|Δ\\| to training.reading.explain {worst:.1e} over "
                 f"{len(differences)} digits)",
        "goal": f"≤ {GOAL_OCCLUSION_MS:g} ms p95: {verdict(p95 <= GOAL_OCCLUSION_MS)}; "
                f"\\|Δ\\| ≤ {OCCLUSION_TOLERANCE:g}: {verdict(worst <= OCCLUSION_TOLERANCE)}",
        "command": bench_cmd,
    }]
    copies = occlusion["copies"]
    full = occlusion["fullTimes"]
    notes = [
        f"\"Where it looks\": `mnistStudio.occlusion()` on MNIST test digits 0–{len(times) - 1} "
        f"after {OCCLUSION_WARMUP} warm-up maps: the {PATCH}×{PATCH} patches at stride {STRIDE} "
        "of training/reading/explain.py, "
        "the occluded copies as one tensor through the model, the map of logit drops. Only the "
        f"patches that cover ink make a copy ({min(copies)}–{max(copies)} of {len(patch_corners())}, median "
        f"{statistics.median(copies):g}); all {len(patch_corners()) + 1} images in one batch would take "
        f"{percentile(full, 50):.1f} / {percentile(full, 95):.1f} ms (p50 / p95 of {len(full)}). "
        "Agreement: the map divided by its largest absolute value, against "
        "`training.reading.explain.occlusion_map` (Keras) on the same pixels. Load average while timed: "
        f"{occlusion['load']:.1f} on {os.cpu_count()} cores; Chromium's CPU time per map (all its "
        f"processes, which waiting for a core does not add to): {occlusion['cpu_ms']:.1f} ms.",
    ]
    return rows, notes

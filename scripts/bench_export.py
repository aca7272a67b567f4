"""Web export: bundle size, page start-up, tf.js inference time, in-browser accuracy, occlusion map.

`python -m scripts.bench_export STORE_DIR RUN_ID` (an empty RUN_ID means the active run) exports
the run with float32, float16 and uint8 weights, opens each export's index.html from file:// in
headless Chromium (Playwright) and prints one JSON line for `scripts.bench_report.render_generic`.
Progress goes to stderr. Every number in the output is measured here.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import numpy as np

from scripts.export_bundle import default_mark, export_both, tfjs_version, weights_label
from scripts.export_timing import (
    ACCURACY_IMAGES,
    BATCH,
    OCCLUSION_TIMED,
    PAGE_LOADS,
    PAGE_TIMEOUT_MS,
    TIMED,
    WARMUP,
    measure_in_page,
    measure_occlusion,
    measure_ready,
    occlusion_rows,
    percentile,
    verdict,
)
from tests.kit.chromium import CHROMIUM, CHROMIUM_ARGS

QUANTIZATIONS: tuple[str | None, ...] = (None, "float16", "uint8")
GOAL_INFERENCE_MS = 5.0
GOAL_READY_MS = 1000.0
GOAL_ZIP_MB = 2.5

WATCHDOG_S = 20 * 60  # the whole benchmark; past it the process exits (the browser goes with it)


def log(message: str) -> None:
    print(f"bench_export: {message}", file=sys.stderr, flush=True)


def goal_text(goal: str, met: bool | None) -> str:
    if met is None:
        return goal
    return f"{goal}: {verdict(met)}"


def measure(store_dir: str, run_id_arg: str) -> dict:
    from training.data.mnist import load_mnist
    from training.reading.for_run import load_predictor
    from training.runs.store import ModelStore

    if not Path(store_dir).is_dir():
        raise RuntimeError(f"no model store at {store_dir}")
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    store = ModelStore(store_dir)
    run_id = run_id_arg or store.active_id()
    if not run_id:
        raise RuntimeError("no run given and the store has no active run")
    run = store.get(run_id)
    log(f"run {run_id} ({run.record.config.architecture}); loading MNIST and the Keras model …")
    mnist = load_mnist()
    x_test, y_test = mnist.x_test[:ACCURACY_IMAGES], mnist.y_test[:ACCURACY_IMAGES]
    keras_probabilities = load_predictor(store, run_id).probabilities_batch(x_test.astype(np.float32) / 255)
    keras_digits = keras_probabilities.argmax(axis=1)
    keras_accuracy = float((keras_digits == y_test).mean())

    bench_cmd = f"python -m scripts.bench_export STORE {run_id}"
    rows: list[dict] = []
    notes: list[str] = []
    backends: set[str] = set()
    export_times: list[str] = []
    batch_times: list[str] = []
    cpu_times: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp_name, sync_playwright() as playwright:
        tmp = Path(tmp_name)
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=PAGE_TIMEOUT_MS
        )
        try:
            chromium_version = browser.version
            for quantize in QUANTIZATIONS:
                label = weights_label(quantize)
                export_cmd = (
                    f"python -m web_export --models STORE --model {run_id} --out site.zip --quantize {label}"
                )
                try:
                    log(f"{label}: exporting (zip and folder) …")
                    export = export_both(store, run_id, quantize, tmp)
                    url = export["folder"].as_uri() + "/index.html"
                    log(f"{label}: {PAGE_LOADS} page loads from file:// …")
                    ready_ms = measure_ready(browser, url)
                    log(f"{label}: {TIMED} timed predictions and {ACCURACY_IMAGES} batch predictions …")
                    page = measure_in_page(browser, url, x_test)
                    if quantize is None:
                        log(f"{label}: {OCCLUSION_TIMED} timed occlusion maps …")
                        occlusion = measure_occlusion(browser, url, x_test)
                except Exception as error:
                    message = f"{type(error).__name__}: {error}".splitlines()[0]
                    log(f"{label}: failed: {message}")
                    traceback.print_exc(file=sys.stderr)
                    rows.append(
                        {
                            "measure": f"{label} weights",
                            "value": f"not measured: {message}",
                            "goal": "",
                            "command": bench_cmd,
                        }
                    )
                    continue

                zip_mb = export["zip_bytes"] / 1e6
                rows.append(
                    {
                        "measure": f"zip size, {label} weights{default_mark(quantize)}",
                        "value": f"{zip_mb:.2f} MB (weights {export['weights_bytes'] / 1e6:.2f} MB, "
                        f"unzipped {export['folder_bytes'] / 1e6:.2f} MB)",
                        "goal": goal_text(f"≤ {GOAL_ZIP_MB} MB", zip_mb <= GOAL_ZIP_MB),
                        "command": export_cmd,
                    }
                )
                ready_median = statistics.median(ready_ms)
                rows.append(
                    {
                        "measure": f"page ready from file://, {label} (median of {PAGE_LOADS} fresh loads)",
                        "value": f"{ready_median:.0f} ms (range {min(ready_ms):.0f}–{max(ready_ms):.0f})",
                        "goal": goal_text(f"≤ {GOAL_READY_MS / 1000:g} s", ready_median <= GOAL_READY_MS),
                        "command": bench_cmd,
                    }
                )
                p50, p95 = percentile(page["times_ms"], 50), percentile(page["times_ms"], 95)
                rows.append(
                    {
                        "measure": f"tf.js inference per `predict()`, {label}, p50 / p95 of {TIMED}",
                        "value": f"{p50:.2f} / {p95:.2f} ms",
                        "goal": f"≤ {GOAL_INFERENCE_MS:g} ms: p50 {verdict(p50 <= GOAL_INFERENCE_MS)}, "
                        f"p95 {verdict(p95 <= GOAL_INFERENCE_MS)}",
                        "command": bench_cmd,
                    }
                )
                browser_digits = page["probabilities"].argmax(axis=1)
                accuracy = float((browser_digits == y_test).mean())
                agree = int((browser_digits == keras_digits).sum())
                max_diff = float(np.abs(page["probabilities"] - keras_probabilities).max())
                timed_agree = int((np.asarray(page["timed_digits"]) == keras_digits[:TIMED]).sum())
                rows.append(
                    {
                        "measure": f"accuracy in the browser, {label}, first {ACCURACY_IMAGES:,} test images",
                        "value": f"{accuracy:.2%} (same digit as Keras on {agree:,}/{ACCURACY_IMAGES:,}, "
                        f"max \\|Δp\\| {max_diff:.1e})",
                        "goal": f"Keras on the same images: {keras_accuracy:.2%}",
                        "command": bench_cmd,
                    }
                )
                if quantize is None:
                    occlusion_table, occlusion_notes = occlusion_rows(
                        occlusion, store.load_model(run_id), x_test, bench_cmd)
                    rows += occlusion_table
                    notes += occlusion_notes
                if timed_agree != TIMED:
                    notes.append(
                        f"{label}: the timed single predictions disagreed with Keras on "
                        f"{TIMED - timed_agree} of {TIMED} digits."
                    )
                backends.add(
                    page["backend"] + (f" ({page['renderer']})" if page["backend"] == "webgl" else "")
                )
                export_times.append(f"{label} {export['export_s']:.1f} s")
                batch_times.append(f"{label} {page['batch_ms_per_image']:.2f} ms")
                if page["cpu_times_ms"] and page["backend"] != "cpu":
                    cpu = page["cpu_times_ms"]
                    cpu_times.append(f"{label} {percentile(cpu, 50):.2f} / {percentile(cpu, 95):.2f} ms")
        finally:
            browser.close()

    if backends:
        notes.append(
            f"tf.js backend: {', '.join(sorted(backends))} (`mnistStudio.backend`), in headless Chromium "
            f"{chromium_version} started with --disable-gpu; tf.js {tfjs_version()}."
        )
    notes += [
        "Page ready: performance.now() when `mnistStudio.ready` resolves, i.e. from navigation start "
        "through parsing the vendored tf.js scripts and model-data.js, starting the backend (compiling "
        "the wasm binary), building the graph model and its warm-up prediction; "
        f"each load in a new browser context (browser start-up not included). Median of {PAGE_LOADS}.",
        f"Inference: {TIMED} single `mnistStudio.predict()` calls on MNIST test digits as 0..1 floats after "
        f"{WARMUP} warm-up calls, timed in the page with performance.now() (Chromium rounds it to 0.1 ms "
        "outside cross-origin isolation); each includes making the input tensor, the model and reading "
        "the 10 probabilities back.",
        f"Accuracy: `predictBatch` in batches of {BATCH} on MNIST test images 0–{ACCURACY_IMAGES - 1}; "
        "Keras is `load_predictor(store, run).probabilities_batch` on the same float32 pixels. "
        f"The model is the run given ({run_id}, {run.record.config.architecture}): its accuracy depends "
        "on its training.",
    ]
    if batch_times:
        notes.append(
            f"predictBatch throughput (median over batches of {BATCH}): "
            + ", ".join(batch_times)
            + " per image."
        )
    if cpu_times:
        notes.append(
            "For comparison, the same timed predictions after `tf.setBackend('cpu')` "
            "(plain JavaScript), p50 / p95: " + ", ".join(cpu_times) + "."
        )
    if export_times:
        notes.append(
            "Export time, conversion + zip (`export_run` to a .zip): " + ", ".join(export_times) + "."
        )
    notes.append(
        f"MB = 10⁶ bytes. Timings are wall-clock on a {os.cpu_count()}-core machine shared with "
        "whatever else ran at the time."
    )
    return {
        "title": "Web export",
        "intro": (
            "`python -m scripts.bench_export STORE RUN_ID`: the run exported with float32, float16 and "
            "uint8 weights (`web_export.export_run`, zip and folder); each folder's index.html opened "
            "from file:// in headless Chromium via Playwright."
        ),
        "run_id": run_id,
        "rows": rows,
        "notes": notes,
    }


def start_watchdog(seconds: float) -> None:
    """Last resort against a hang: exit the process (Playwright's driver then closes Chromium)."""

    def expire() -> None:
        print(f"bench_export: gave up after {seconds:.0f} s", file=sys.stderr, flush=True)
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m scripts.bench_export STORE_DIR [RUN_ID]", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    start_watchdog(WATCHDOG_S)
    # Anything a library prints (TensorFlow, the converter) goes to stderr: stdout is one JSON line.
    sys.stdout.flush()
    stdout_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        result = measure(argv[0], argv[1] if len(argv) > 1 else "")
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        # The orchestrator reports the last stderr line.
        print(f"bench_export: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr, flush=True)
        return 1
    finally:
        sys.stdout.flush()
        os.dup2(stdout_fd, 1)
        os.close(stdout_fd)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

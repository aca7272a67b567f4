"""Web export: bundle size, page start-up, tf.js inference time, in-browser accuracy, occlusion map.

`python -m scripts.bench_export STORE_DIR RUN_ID` (an empty RUN_ID means the active run) exports
the run with float32, float16 and uint8 weights, opens each export's index.html from file:// in
headless Chromium (Playwright) and prints one JSON line for `scripts.bench_report.render_generic`.
Progress goes to stderr. Every number in the output is measured here.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import psutil

from tests.kit.chromium import CHROMIUM, CHROMIUM_ARGS

QUANTIZATIONS: tuple[str | None, ...] = (None, "float16", "uint8")
PAGE_LOADS = 5  # fresh browser contexts per export; the median is reported
WARMUP = 20  # predictions before timing
TIMED = 200  # single predictions timed, one MNIST test digit each
ACCURACY_IMAGES = 2000  # first N MNIST test images, through predictBatch
BATCH = 250  # images per predictBatch call

OCCLUSION_WARMUP = 5  # occlusion maps before timing
OCCLUSION_TIMED = 100  # occlusion maps timed, one MNIST test digit each (float32 export)
OCCLUSION_COMPARED = 30  # of those, compared with training.reading.explain's map

GOAL_INFERENCE_MS = 5.0
GOAL_OCCLUSION_MS = 50.0
OCCLUSION_TOLERANCE = 1e-3  # max |Δ| between the page's and training.reading.explain's normalised maps
GOAL_READY_MS = 1000.0
GOAL_ZIP_MB = 2.5

PAGE_TIMEOUT_MS = 60_000  # any single page operation
WATCHDOG_S = 20 * 60  # the whole benchmark; past it the process exits (the browser goes with it)


# Runs before the page's own scripts: records when `mnistStudio.ready` settles (performance.now()
# counts from navigation start) and offers a timeout for the promises this script awaits.
INIT_SCRIPT = """
(() => {
  let studio;
  Object.defineProperty(window, 'mnistStudio', {
    configurable: true,
    get() { return studio; },
    set(value) {
      studio = value;
      window.__benchReady = Promise.resolve(value && value.ready).then(
        () => ({ ok: true, at: performance.now() }),
        (error) => ({ ok: false, at: performance.now(), error: String((error && error.message) || error) }),
      );
    },
  });
  window.__benchWithin = (promise, ms, what) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
  ]);
  window.__benchImages = (b64, count) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const images = [];
    for (let i = 0; i < count; i++) {
      const image = new Float32Array(784);
      for (let j = 0; j < 784; j++) image[j] = bytes[i * 784 + j] / 255;
      images.push(image);
    }
    return images;
  };
})();
"""

TIME_PREDICTIONS_JS = """
async ({ b64, count, warmup, timeoutMs }) => window.__benchWithin((async () => {
  const studio = window.mnistStudio;
  await studio.ready;
  const images = window.__benchImages(b64, count);
  for (let i = 0; i < warmup; i++) await studio.predict(images[i % count]);
  const times = [];
  const digits = [];
  for (const image of images) {
    const started = performance.now();
    const probabilities = await studio.predict(image);
    times.push(performance.now() - started);
    digits.push(probabilities.indexOf(Math.max(...probabilities)));
  }
  const gl = document.createElement('canvas').getContext('webgl');
  const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = gl ? gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null;
  return { times, digits, backend: studio.backend || tf.getBackend(), renderer };
})(), timeoutMs, 'timed predictions')
"""

# The same timing on tf.js's plain-JavaScript backend, for comparison with the one the page chose.
TIME_ON_CPU_JS = """
async ({ count, warmup, timeoutMs }) => window.__benchWithin((async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
  const images = window.__benchAll.slice(0, count);
  for (let i = 0; i < warmup; i++) await window.mnistStudio.predict(images[i % count]);
  const times = [];
  for (const image of images) {
    const started = performance.now();
    await window.mnistStudio.predict(image);
    times.push(performance.now() - started);
  }
  return { times, backend: tf.getBackend() };
})(), timeoutMs, 'timed predictions on the cpu backend')
"""

# "Where it looks": the page's own occlusion (mnistStudio.occlusion: building the occluded copies,
# one batched forward pass, reading the logits back, the map), then every copy through the model
# for comparison (what the page would cost without skipping the patches of bare paper).
TIME_OCCLUSION_JS = """
async ({ count, compared, timeoutMs }) => window.__benchWithin((async () => {
  const times = [], copies = [], maps = [];
  for (const [i, image] of window.__benchAll.slice(0, count).entries()) {
    const started = performance.now();
    const result = await window.mnistStudio.occlusion(image);
    times.push(performance.now() - started);
    copies.push(result.copies);
    if (i < compared) maps.push(result.normalised);
  }
  return { times, copies, maps };
})(), timeoutMs, 'timed occlusion maps')
"""

TIME_FULL_BATCH_JS = """
async ({ count, timeoutMs }) => window.__benchWithin((async () => {
  const all = new Float32Array(170 * 784).fill(0.5);
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await MnistModel.logitsBatch(all, 170);
    times.push(performance.now() - started);
  }
  return times;
})(), timeoutMs, 'full batches')
"""

LOAD_IMAGES_JS = """
({ b64, count }) => { window.__benchAll = window.__benchImages(b64, count); return window.__benchAll.length; }
"""

PREDICT_BATCH_JS = """
async ({ start, end, timeoutMs }) => window.__benchWithin((async () => {
  const started = performance.now();
  const probabilities = await window.mnistStudio.predictBatch(window.__benchAll.slice(start, end));
  return { probabilities, ms: performance.now() - started };
})(), timeoutMs, 'predictBatch')
"""


def log(message: str) -> None:
    print(f"bench_export: {message}", file=sys.stderr, flush=True)


def weights_label(quantize: str | None) -> str:
    return quantize or "float32"


def default_mark(quantize: str | None) -> str:
    """What marks the precision the Export tab and the CLI use unless told otherwise."""
    from web_export import DEFAULT_QUANTIZE

    return " (the default)" if quantize == DEFAULT_QUANTIZE else ""


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def as_b64(images: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).decode("ascii")


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def goal_text(goal: str, met: bool | None) -> str:
    if met is None:
        return goal
    return f"{goal}: {verdict(met)}"


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


def export_both(store, run_id: str, quantize: str | None, tmp: Path) -> dict:
    from web_export import export_run

    name = f"site-{weights_label(quantize)}"
    started = time.perf_counter()
    zip_path = export_run(store, run_id, tmp / f"{name}.zip", quantize=quantize)
    export_s = time.perf_counter() - started
    folder = export_run(store, run_id, tmp / name, quantize=quantize)
    weights = sum(p.stat().st_size for p in (folder / "model").glob("*.bin"))
    return {
        "zip_path": zip_path,
        "folder": folder,
        "zip_bytes": zip_path.stat().st_size,
        "folder_bytes": folder_bytes(folder),
        "weights_bytes": weights,
        "export_s": export_s,
    }


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


def tfjs_version() -> str:
    try:
        lock = json.loads((Path(__file__).resolve().parent.parent / "package-lock.json").read_text())
        return lock["packages"]["node_modules/@tensorflow/tfjs-core"]["version"]
    except (OSError, KeyError, ValueError):
        return "(version unknown)"


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

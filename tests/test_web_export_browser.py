"""The exported page in headless Chromium: over http and file://, painting, offline, quantized."""

from __future__ import annotations

import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from web_export import export_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_TIMEOUT_MS = 60_000
TOLERANCE = 1e-4  # tf.js probabilities vs Keras's, float32 export


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass  # test output stays readable


@pytest.fixture(scope="module")
def trained_store(steady_store):
    """These tests judge doubt: the three-epoch model (see `steady_store`)."""
    return steady_store


@pytest.fixture(scope="module")
def site(trained_store, tmp_path_factory) -> Path:
    return export_run(trained_store, None, tmp_path_factory.mktemp("site") / "mnist-site")


@pytest.fixture(scope="module")
def server(site):
    """`python -m http.server` in the export folder, on a free localhost port, in a thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def keras_model(trained_store):
    """The run as the dashboard uses it: Keras, with the run's temperature and doubt rule."""
    from training.reading.for_run import load_predictor

    return load_predictor(trained_store)


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


def test_over_http_tfjs_matches_keras_and_stays_on_the_server(page, server, mnist, keras_model):
    log = open_page(page, server + "index.html")
    images = mnist.x_test[:64] / 255.0
    in_browser = predict_in_page(page, images)
    expected = keras_probabilities(keras_model, images)
    assert in_browser.shape == (64, 10)
    assert np.abs(in_browser - expected).max() < TOLERANCE
    assert (in_browser.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert log.requests and not requests_elsewhere(page, log, server), log.requests
    assert not log.errors


def test_from_disk_works_the_same_and_requests_nothing_outside_the_folder(page, site, mnist, keras_model):
    log = open_page(page, site.as_uri() + "/index.html")
    images = mnist.x_test[64:96] / 255.0
    assert np.abs(predict_in_page(page, images) - keras_probabilities(keras_model, images)).max() < TOLERANCE
    folder = site.as_uri() + "/"
    assert log.requests and not requests_elsewhere(page, log, folder), log.requests
    assert not log.errors


@pytest.mark.parametrize("where", ["http", "file"])
def test_runs_on_the_wasm_backend_never_webgl(page, server, site, where):
    """WebAssembly (SIMD) in Chromium; webgl, a slow software renderer without a GPU, is not even shipped."""
    open_page(page, server + "index.html" if where == "http" else site.as_uri() + "/index.html")
    state = page.evaluate(
        "() => ({ studio: mnistStudio.backend, tf: tf.getBackend(), webgl: tf.findBackendFactory('webgl') })"
    )
    assert state == {"studio": "wasm", "tf": "wasm", "webgl": None}
    assert "(wasm backend)" in page.locator("#model-info").text_content()


def test_without_webassembly_the_cpu_backend_gives_the_same_probabilities(page, site, mnist, keras_model):
    """A browser that cannot run WebAssembly (or a CSP without 'wasm-unsafe-eval') still gets the model."""
    page.add_init_script("delete window.WebAssembly;")
    log = open_page(page, site.as_uri() + "/index.html")
    assert page.evaluate("[window.mnistStudio.backend, tf.getBackend()]") == ["cpu", "cpu"]
    images = mnist.x_test[:32] / 255.0
    assert np.abs(predict_in_page(page, images) - keras_probabilities(keras_model, images)).max() < TOLERANCE
    assert not requests_elsewhere(page, log, site.as_uri() + "/"), log.requests
    assert not log.errors


def test_empty_grid_shows_a_hint_not_a_prediction(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    prediction = page.locator("#prediction")
    expect(prediction).to_contain_text("Paint a digit")
    expect(prediction).to_have_attribute("data-digit", "")
    expect(page.locator("#chart .column")).to_have_count(10)
    expect(page.locator("#chart .column.top")).to_have_count(0)


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


def test_painting_a_digit_with_the_mouse_shows_it(page, server, mnist, keras_model):
    from playwright.sync_api import expect

    from training.data.preprocess import to_mnist

    open_page(page, server)
    prediction = page.locator("#prediction")
    # Test digits that the Python pipeline gets right once thresholded, so a miss is the page's fault.
    candidates = [(mnist.x_test[i] > 127).astype(np.float32) for i in range(12)]
    centred = np.stack([to_mnist(cells) for cells in candidates])
    correct = keras_probabilities(keras_model, centred).argmax(axis=1) == mnist.y_test[:12]
    chosen = [i for i in np.flatnonzero(correct) if mnist.y_test[i] != 1][:2]
    assert len(chosen) == 2

    for index in chosen:
        page.get_by_role("button", name="Clear").click()
        expect(prediction).to_have_attribute("data-digit", "", timeout=10_000)
        paint(page, candidates[index])
        assert (grid_in_page(page) == candidates[index]).all()
        expect(prediction).to_have_attribute("data-state", "done", timeout=10_000)
        label = str(mnist.y_test[index])
        expect(prediction).to_have_attribute("data-digit", label)
        expect(prediction).to_contain_text(label)
        expect(page.locator("#chart .column.top")).to_have_attribute("data-digit", label)
        expect(page.locator("#chart .digit")).to_have_text([str(d) for d in range(10)])
        expect(page.locator("#chart .column.top .percent")).to_have_text(re.compile(r"^\d+%$"))


def test_right_click_and_erase_mode_erase_clear_empties(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    box = page.locator("#grid").bounding_box()
    cell = box["width"] / 28

    def at(row: int, col: int) -> tuple[float, float]:
        return box["x"] + (col + 0.5) * cell, box["y"] + (row + 0.5) * cell

    # A diagonal drag paints every cell on the way, even when the pointer skips cells.
    page.mouse.move(*at(4, 4))
    page.mouse.down()
    page.mouse.move(*at(23, 23), steps=3)
    page.mouse.up()
    grid = grid_in_page(page)
    assert all(grid[i, i] == 1 for i in range(4, 24)) and grid.sum() == 20

    page.mouse.click(*at(10, 10), button="right")
    assert grid_in_page(page)[10, 10] == 0
    page.get_by_role("button", name="Erase").click()
    page.mouse.click(*at(12, 12))
    assert grid_in_page(page)[12, 12] == 0 and grid_in_page(page).sum() == 18
    page.get_by_role("button", name="Paint").click()
    page.mouse.click(*at(12, 12))
    assert grid_in_page(page)[12, 12] == 1
    expect(page.locator("#prediction")).not_to_have_attribute("data-digit", "", timeout=10_000)

    page.get_by_role("button", name="Clear").click()
    assert grid_in_page(page).sum() == 0
    expect(page.locator("#prediction")).to_contain_text("Paint a digit", timeout=10_000)
    expect(page.locator("#chart .column.top")).to_have_count(0)


def preprocess_cases(mnist) -> list[np.ndarray]:
    """Grids as a person paints them: whole digits, small off-centre ones, stray specks, a stroke."""
    grids = [(mnist.x_test[i] > 127).astype(np.float32) for i in range(20)]
    for i in range(20, 26):
        small = np.zeros((28, 28), np.float32)
        small[2:16, 12:26] = mnist.x_test[i][::2, ::2] > 100
        grids.append(small)
    specks = grids[0].copy()
    specks[0, 0] = specks[27, 27] = 1
    line = np.zeros((28, 28), np.float32)
    line[3:25, 14] = 1
    return [*grids, specks, line]


def test_js_preprocessing_matches_python_to_mnist(page, server, mnist, keras_model):
    preprocess = pytest.importorskip("training.data.preprocess")
    open_page(page, server)
    grids = preprocess_cases(mnist)
    in_page = page.evaluate(
        "grids => grids.map(g => Array.from(window.mnistStudio.preprocess(g)))",
        [g.ravel().tolist() for g in grids],
    )
    in_page = np.array(in_page, np.float32).reshape(-1, 28, 28)
    in_python = np.stack([preprocess.to_mnist(g) for g in grids])
    assert np.abs(in_page - in_python).max() < 1e-4
    assert (
        keras_probabilities(keras_model, in_page).argmax(axis=1)
        == keras_probabilities(keras_model, in_python).argmax(axis=1)
    ).all()
    # Like to_mnist's EmptyDrawingError: nothing, or a tap of fewer than four cells, is no digit.
    tap = np.zeros(784)
    tap[100:102] = 1
    assert page.evaluate("g => window.mnistStudio.preprocess(g)", tap.tolist()) is None
    assert page.evaluate("g => window.mnistStudio.preprocess(g)", [0] * 784) is None


@pytest.mark.parametrize(
    ("quantize", "max_diff", "min_agreement"), [("float16", 5e-3, 1.0), ("uint8", 0.1, 0.97)]
)
def test_quantized_export_loads_and_predicts(
    page, trained_store, tmp_path, mnist, keras_model, quantize, max_diff, min_agreement
):
    site = export_run(trained_store, None, tmp_path / "site", quantize=quantize)
    log = open_page(page, site.as_uri() + "/index.html")
    images = mnist.x_test[:128] / 255.0
    in_browser = predict_in_page(page, images)
    expected = keras_probabilities(keras_model, images)
    assert np.abs(in_browser - expected).max() < max_diff
    assert (in_browser.argmax(axis=1) == expected.argmax(axis=1)).mean() >= min_agreement
    assert (in_browser.argmax(axis=1) == mnist.y_test[:128]).mean() >= 0.9
    assert not log.errors


def test_a_finger_paints_too(browser, site):
    """Touch goes through the same pointer events; `touch-action: none` keeps the page from scrolling."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        open_page(page, site.as_uri() + "/index.html")
        box = page.locator("#grid").bounding_box()
        cell = box["width"] / 28
        page.touchscreen.tap(box["x"] + 7.5 * cell, box["y"] + 3.5 * cell)
        grid = grid_in_page(page)
        assert grid[3, 7] == 1 and grid.sum() == 1
        # One cell is no digit yet, and the page says why it gives no answer.
        expect(page.locator("#prediction")).to_contain_text("Too little ink to read")
    finally:
        context.close()


def test_the_page_applies_the_runs_temperature_like_keras(page, site, mnist, keras_model, trained_store):
    """The temperature is folded into the exported graph: tf.js needs nothing new to apply it."""
    from training.reading.predictor import softmax

    open_page(page, site.as_uri() + "/index.html")
    record = trained_store.get(trained_store.active_id()).record
    temperature = record["temperature"] if isinstance(record, dict) else record.temperature
    assert temperature != 1.0
    assert page.evaluate("window.MODEL_DATA.exportInfo.temperature") == pytest.approx(temperature)
    images = mnist.x_test[:64] / 255.0
    in_browser = predict_in_page(page, images)
    assert np.abs(in_browser - keras_probabilities(keras_model, images)).max() < TOLERANCE
    uncalibrated = softmax(keras_model.logits_batch(images.astype(np.float32)))
    assert np.abs(in_browser - uncalibrated).max() > 10 * TOLERANCE


def nondigit_grids(kind: str, count: int) -> np.ndarray:
    """Non-digits from `tests.kit.nondigits`, reduced to 28×28 as the page's preprocessing sees them."""
    from PIL import Image

    from tests.kit.nondigits import nondigits_of_kind
    from training.data.preprocess import to_mnist

    return np.stack([to_mnist(Image.fromarray(image, "L")) for image in nondigits_of_kind(kind, count)])


def test_the_page_flags_what_the_dashboard_flags_with_the_same_words(page, server, mnist, keras_model):
    open_page(page, server + "index.html")
    images = np.concatenate([mnist.x_test[:20] / 255.0, nondigit_grids("dash", 5),
                             nondigit_grids("two-digits", 5)])
    flat = images.reshape(len(images), 784).astype(np.float32).tolist()
    in_page = page.evaluate(
        "images => window.mnistStudio.assessBatch(images).then(results => results.map("
        "r => ({distance: r.distance, ...window.mnistStudio.verdict(r.probabilities, r.distance)})))", flat)
    _, features = keras_model.logits_and_doubt_features(images.astype(np.float32))
    distances = keras_model.doubt.distances(features)
    np.testing.assert_allclose([r["distance"] for r in in_page], distances, rtol=1e-3, atol=1e-2)
    _, verdicts = keras_model.judge_batch(images.astype(np.float32))
    assert [r["unsure"] for r in in_page] == [v.unsure for v in verdicts]
    assert sum(v.unsure for v in verdicts[20:]) >= 7  # the dashes and pairs, mostly
    for r, v in zip(in_page, verdicts, strict=True):
        assert r["notADigit"] == v.not_a_digit and r["topTwo"] == list(v.top_two)
        if v.unsure:
            assert r["message"] == v.message


def test_painting_a_dash_says_so_instead_of_a_digit(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    dash = np.zeros((28, 28), np.float32)
    dash[14, 6:22] = 1
    paint(page, dash)
    prediction = page.locator("#prediction")
    expect(prediction).to_have_attribute("data-state", "done", timeout=10_000)
    expect(prediction).to_have_attribute("data-unsure", "true")
    doubt = re.compile(r"This does not look like a digit|Not sure — it could be \d or \d")
    expect(prediction).to_contain_text(doubt)
    expect(prediction).to_contain_text("Best guess")


# --- Where it looks: the occlusion heatmap (issue 16) -------------------------------------------

# The page's occlusion map against training.reading.explain's for the same 28×28 input, both divided by
# their largest absolute value (as both pages draw them): tf.js and Keras logits differ by ~1e-5.
HEATMAP_TOLERANCE = 1e-3


def grid_cell_colours(page) -> np.ndarray:
    """(28, 28, 3): the colour at the centre of each grid cell, as drawn on the canvas."""
    pixels = page.evaluate("""() => {
      const canvas = document.getElementById('grid');
      const cell = canvas.width / 28;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const out = [];
      for (let row = 0; row < 28; row++) for (let col = 0; col < 28; col++) {
        const at = (Math.floor((row + 0.5) * cell) * canvas.width + Math.floor((col + 0.5) * cell)) * 4;
        out.push(data[at], data[at + 1], data[at + 2]);
      }
      return out;
    }""")
    return np.array(pixels, np.int32).reshape(28, 28, 3)


def tinted(colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(red, blue) masks of the cells coloured by the heatmap; paper, ink and grid lines are grey."""
    r, b = colours[..., 0], colours[..., 2]
    return r - b > 40, b - r > 40


def set_grid(page, cells: np.ndarray) -> None:
    page.evaluate("g => window.mnistStudio.setGrid(g)", cells.ravel().astype(float).tolist())


def heatmap_in_page(page) -> dict:
    return page.evaluate("window.mnistStudio.heatmap()")


def server_map(model, pixels: np.ndarray) -> tuple[np.ndarray, int]:
    """training.reading.explain's occlusion map of the top answer, normalised, and that answer."""
    from training.reading.explain import explainer_for

    pixels = np.asarray(pixels, np.float32).reshape(28, 28)
    saliency = explainer_for(model).occlusion_map(pixels)
    target = int(np.argmax(model.predict(pixels[np.newaxis], verbose=0)[0]))
    return saliency / np.abs(saliency).max(), target


def test_where_it_looks_shows_a_heatmap_follows_the_drawing_and_hides(page, server, mnist):
    from playwright.sync_api import expect

    open_page(page, server)
    toggle = page.get_by_role("button", name="Where it looks")
    legend = page.locator("#heatmap-legend")
    grid = page.locator("#grid")
    prediction = page.locator("#prediction")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(legend).to_be_hidden()

    first = (mnist.x_test[0] > 127).astype(np.float32)  # a 7
    set_grid(page, first)
    expect(prediction).to_have_attribute("data-state", "done", timeout=10_000)
    red, blue = tinted(grid_cell_colours(page))
    assert not red.any() and not blue.any()

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(grid).to_have_attribute("data-heatmap", "on", timeout=10_000)
    expect(legend).to_be_visible()
    digit = prediction.get_attribute("data-digit")
    caption = f"Occlusion: how much the top answer ({digit}) drops when each region is hidden"
    expect(legend).to_contain_text(caption)
    red, _ = tinted(grid_cell_colours(page))
    assert red.sum() >= 20, red.sum()
    # The colour sits on and around the strokes, not spread over the paper.
    near_ink = np.zeros_like(first, bool)
    for row, col in zip(*np.nonzero(first), strict=True):
        near_ink[max(0, row - 2):row + 3, max(0, col - 2):col + 3] = True
    assert (red & near_ink).sum() >= 0.9 * red.sum()
    before = heatmap_in_page(page)

    # Another drawing while the toggle is on: the map is redone for it.
    second = (mnist.x_test[1] > 127).astype(np.float32)  # a 2
    set_grid(page, second)
    expect(prediction).to_have_attribute("data-state", "done", timeout=10_000)
    expect(grid).to_have_attribute("data-heatmap", "on", timeout=10_000)
    after = heatmap_in_page(page)
    shown = np.array(page.evaluate("g => Array.from(mnistStudio.preprocess(g))", second.ravel().tolist()))
    assert np.abs(np.array(after["pixels"]) - shown).max() < 1e-6
    assert np.abs(np.array(after["normalised"]) - np.array(before["normalised"])).max() > 0.5
    expect(legend).to_contain_text(f"top answer ({prediction.get_attribute('data-digit')})")

    # With the keyboard: Space switches it off (the colour goes), Enter on again.
    toggle.focus()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(grid).to_have_attribute("data-heatmap", "off")
    expect(legend).to_be_hidden()
    red, blue = tinted(grid_cell_colours(page))
    assert not red.any() and not blue.any()
    assert heatmap_in_page(page) is None
    page.keyboard.press("Enter")
    expect(grid).to_have_attribute("data-heatmap", "on", timeout=10_000)
    assert tinted(grid_cell_colours(page))[0].sum() >= 20

    # Clear with the toggle on: no digit, no colour, the legend says what to do.
    page.get_by_role("button", name="Clear").click()
    expect(grid).to_have_attribute("data-heatmap", "empty", timeout=10_000)
    red, blue = tinted(grid_cell_colours(page))
    assert not red.any() and not blue.any()
    expect(legend).to_contain_text("paint a digit")


def test_the_pages_heatmap_matches_training_explain(page, site, mnist, trained_store):
    """Same patches, fill, logits and normalisation: the page's map is the server's, within 1e-3."""
    from playwright.sync_api import expect

    model = trained_store.load_model(trained_store.active_id())
    log = open_page(page, site.as_uri() + "/index.html")
    # As a user sees it: an MNIST test digit on the grid, the toggle on, the map the page draws.
    set_grid(page, mnist.x_test[3] / 255.0)
    page.get_by_role("button", name="Where it looks").click()
    expect(page.locator("#grid")).to_have_attribute("data-heatmap", "on", timeout=10_000)
    shown = heatmap_in_page(page)
    expected, target = server_map(model, shown["pixels"])
    assert shown["target"] == target == int(page.locator("#prediction").get_attribute("data-digit"))
    assert np.abs(np.array(shown["normalised"]).reshape(28, 28) - expected).max() <= HEATMAP_TOLERANCE

    # And straight on twelve MNIST test digits as the model's input.
    for index in range(4, 16):
        pixels = mnist.x_test[index] / 255.0
        in_page = page.evaluate("p => window.mnistStudio.occlusion(p)", pixels.ravel().tolist())
        expected, target = server_map(model, pixels)
        assert in_page["target"] == target
        difference = np.abs(np.array(in_page["normalised"]).reshape(28, 28) - expected).max()
        assert difference <= HEATMAP_TOLERANCE, (index, difference)
    assert not log.errors


def test_the_heatmap_sits_on_the_strokes_where_they_were_painted(page, server, mnist):
    """A small digit in a corner: the model sees it centred and enlarged, the colour stays on it."""
    from playwright.sync_api import expect

    open_page(page, server)
    small = np.zeros((28, 28), np.float32)
    small[1:15, 13:27] = mnist.x_test[0][::2, ::2] > 100  # a 7, half size, top right
    paint(page, small)
    page.get_by_role("button", name="Where it looks").click()
    expect(page.locator("#grid")).to_have_attribute("data-heatmap", "on", timeout=10_000)
    red, _ = tinted(grid_cell_colours(page))
    rows, cols = np.nonzero(red)
    assert red.sum() >= 8
    assert rows.max() <= 16 and cols.min() >= 11, (rows, cols)

    # Another stroke with the toggle on: the map comes back for the drawing as it now is.
    stroke = np.zeros((28, 28), np.float32)
    stroke[8, 14:25] = 1  # a bar across the 7
    paint(page, stroke)
    expect(page.locator("#prediction")).to_have_attribute("data-state", "done", timeout=10_000)
    expect(page.locator("#grid")).to_have_attribute("data-heatmap", "on", timeout=10_000)
    now = page.evaluate("Array.from(mnistStudio.preprocess(mnistStudio.grid()))")
    assert np.abs(np.array(heatmap_in_page(page)["pixels"]) - np.array(now)).max() < 1e-6

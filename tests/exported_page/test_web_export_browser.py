"""The exported page in headless Chromium reads as Keras does: over http and file://, on the wasm
backend or the cpu one, its preprocessing, quantized weights, temperature and doubt.

Painting the grid is in test_web_export_paint_browser.py, the heatmap in
test_web_export_heatmap_browser.py, number mode in test_web_export_number_browser.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.kit.export_page import (
    TOLERANCE,
    keras_probabilities,
    open_page,
    predict_in_page,
    requests_elsewhere,
)
from web_export import export_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_over_http_tfjs_matches_keras_and_stays_on_the_server(page, server, mnist, predictor):
    log = open_page(page, server + "index.html")
    images = mnist.x_test[:64] / 255.0
    in_browser = predict_in_page(page, images)
    expected = keras_probabilities(predictor, images)
    assert in_browser.shape == (64, 10)
    assert np.abs(in_browser - expected).max() < TOLERANCE
    assert (in_browser.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert log.requests and not requests_elsewhere(page, log, server), log.requests
    assert not log.errors


def test_from_disk_works_the_same_and_requests_nothing_outside_the_folder(page, site, mnist, predictor):
    log = open_page(page, site.as_uri() + "/index.html")
    images = mnist.x_test[64:96] / 255.0
    assert np.abs(predict_in_page(page, images) - keras_probabilities(predictor, images)).max() < TOLERANCE
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


def test_without_webassembly_the_cpu_backend_gives_the_same_probabilities(page, site, mnist, predictor):
    """A browser that cannot run WebAssembly (or a CSP without 'wasm-unsafe-eval') still gets the model."""
    page.add_init_script("delete window.WebAssembly;")
    log = open_page(page, site.as_uri() + "/index.html")
    assert page.evaluate("[window.mnistStudio.backend, tf.getBackend()]") == ["cpu", "cpu"]
    images = mnist.x_test[:32] / 255.0
    assert np.abs(predict_in_page(page, images) - keras_probabilities(predictor, images)).max() < TOLERANCE
    assert not requests_elsewhere(page, log, site.as_uri() + "/"), log.requests
    assert not log.errors


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


def test_js_preprocessing_matches_python_to_mnist(page, server, mnist, predictor):
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
        keras_probabilities(predictor, in_page).argmax(axis=1)
        == keras_probabilities(predictor, in_python).argmax(axis=1)
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
    page, trained_store, tmp_path, mnist, predictor, quantize, max_diff, min_agreement
):
    site = export_run(trained_store, None, tmp_path / "site", quantize=quantize)
    log = open_page(page, site.as_uri() + "/index.html")
    images = mnist.x_test[:128] / 255.0
    in_browser = predict_in_page(page, images)
    expected = keras_probabilities(predictor, images)
    assert np.abs(in_browser - expected).max() < max_diff
    assert (in_browser.argmax(axis=1) == expected.argmax(axis=1)).mean() >= min_agreement
    assert (in_browser.argmax(axis=1) == mnist.y_test[:128]).mean() >= 0.9
    assert not log.errors


def test_the_page_applies_the_runs_temperature_like_keras(page, site, mnist, predictor, trained_store):
    """The temperature is folded into the exported graph: tf.js needs nothing new to apply it."""
    from training.reading.predictor import softmax

    open_page(page, site.as_uri() + "/index.html")
    record = trained_store.get(trained_store.active_id()).record
    temperature = record["temperature"] if isinstance(record, dict) else record.temperature
    assert temperature != 1.0
    assert page.evaluate("window.MODEL_DATA.exportInfo.temperature") == pytest.approx(temperature)
    images = mnist.x_test[:64] / 255.0
    in_browser = predict_in_page(page, images)
    assert np.abs(in_browser - keras_probabilities(predictor, images)).max() < TOLERANCE
    uncalibrated = softmax(predictor.logits_batch(images.astype(np.float32)))
    assert np.abs(in_browser - uncalibrated).max() > 10 * TOLERANCE


def nondigit_grids(kind: str, count: int) -> np.ndarray:
    """Non-digits from `tests.kit.nondigits`, reduced to 28×28 as the page's preprocessing sees them."""
    from PIL import Image

    from tests.kit.nondigits import nondigits_of_kind
    from training.data.preprocess import to_mnist

    return np.stack([to_mnist(Image.fromarray(image, "L")) for image in nondigits_of_kind(kind, count)])


def test_the_page_flags_what_the_dashboard_flags_with_the_same_words(page, server, mnist, predictor):
    open_page(page, server + "index.html")
    images = np.concatenate([mnist.x_test[:20] / 255.0, nondigit_grids("dash", 5),
                             nondigit_grids("two-digits", 5)])
    flat = images.reshape(len(images), 784).astype(np.float32).tolist()
    in_page = page.evaluate(
        "images => window.mnistStudio.assessBatch(images).then(results => results.map("
        "r => ({distance: r.distance, ...window.mnistStudio.verdict(r.probabilities, r.distance)})))", flat)
    _, features = predictor.logits_and_doubt_features(images.astype(np.float32))
    distances = predictor.doubt.distances(features)
    np.testing.assert_allclose([r["distance"] for r in in_page], distances, rtol=1e-3, atol=1e-2)
    _, verdicts = predictor.judge_batch(images.astype(np.float32))
    assert [r["unsure"] for r in in_page] == [v.unsure for v in verdicts]
    assert sum(v.unsure for v in verdicts[20:]) >= 7  # the dashes and pairs, mostly
    for r, v in zip(in_page, verdicts, strict=True):
        assert r["notADigit"] == v.not_a_digit and r["topTwo"] == list(v.top_two)
        if v.unsure:
            assert r["message"] == v.message

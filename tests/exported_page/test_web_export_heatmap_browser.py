"""The exported page's "Where it looks" occlusion heatmap (issue 16) in headless Chromium: shown,
redone and hidden as the drawing changes, and the same map as training.reading.explain's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kit.export_page import open_page, paint

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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

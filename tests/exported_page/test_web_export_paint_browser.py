"""The exported page's 28×28 grid in headless Chromium: painting with the mouse and a finger,
erasing and clearing, and the answer or the doubt it shows for what was painted."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.kit.export_page import grid_in_page, keras_probabilities, open_page, paint

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_empty_grid_shows_a_hint_not_a_prediction(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    prediction = page.locator("#prediction")
    expect(prediction).to_contain_text("Paint a digit")
    expect(prediction).to_have_attribute("data-digit", "")
    expect(page.locator("#chart .column")).to_have_count(10)
    expect(page.locator("#chart .column.top")).to_have_count(0)


def test_painting_a_digit_with_the_mouse_shows_it(page, server, mnist, predictor):
    from playwright.sync_api import expect

    from training.data.preprocess import to_mnist

    open_page(page, server)
    prediction = page.locator("#prediction")
    # Test digits that the Python pipeline gets right once thresholded, so a miss is the page's fault.
    candidates = [(mnist.x_test[i] > 127).astype(np.float32) for i in range(12)]
    centred = np.stack([to_mnist(cells) for cells in candidates])
    correct = keras_probabilities(predictor, centred).argmax(axis=1) == mnist.y_test[:12]
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

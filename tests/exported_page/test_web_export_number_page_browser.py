"""Number mode of the exported page in headless Chromium, as a user meets it: a number written on the
wide canvas, erased and cleared; one digit read as the single-digit mode reads it; doubt named by
its place; one-line messages for bad images; the unzipped export read offline.

Whether the page reads every image of the check set as Python does is in
test_web_export_number_browser.py.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.kit.composed_numbers import composed_numbers, side_by_side
from tests.kit.drawn_digits import TEMPLATES
from tests.kit.export_number_page import (
    NUMBER,
    TIMEOUT_MS,
    as_python_reads,
    as_the_page_reads,
    open_image,
    open_number_mode,
)
from tests.kit.export_page import open_page, requests_elsewhere
from tests.kit.number_images import with_a_faint_speck
from web_export import DEFAULT_QUANTIZE, ZIP_FOLDER, export_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect


def write(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Pen strokes through points given as fractions of the wide canvas, with stepped moves."""
    box = page.locator("#number-canvas").bounding_box()
    for points in strokes:
        page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
        page.mouse.down()
        for fx, fy in points[1:]:
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=4)
        page.mouse.up()


def digit_strokes(digit: int, left: float, width: float = 0.12, height: float = 0.6) -> list:
    """A digit's template strokes (`tests.kit.drawn_digits`) placed on the wide canvas from `left`."""
    top = (1 - height) / 2
    return [[(left + x * width, top + y * height) for x, y in stroke] for stroke in TEMPLATES[digit][0]]


def test_a_42_written_on_the_wide_canvas_reads_42_with_two_boxes(page, default_site, predictor):
    from training.reading.numbers import read_number

    open_number_mode(page, default_site)
    expect(page.locator("#number-message")).to_have_text("Write a number on the canvas.")
    write(page, digit_strokes(4, 0.3) + digit_strokes(2, 0.5))
    number = page.locator(NUMBER)
    expect(number).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(number).to_have_attribute("data-number", "42")
    expect(number).to_have_text("42")
    expect(page.locator("#number-boxes")).to_have_attribute("data-count", "2")
    shown = page.evaluate("mnistStudio.numberShown()")
    left, right = (digit["box"] for digit in shown["digits"])
    assert left[2] <= right[0]
    # Python reads the same pixels the same way.
    drawn = page.evaluate("mnistStudio.numberCanvas()")
    rgba = np.array(drawn["data"], np.uint8).reshape(drawn["height"], drawn["width"], 4)
    reading = read_number(predictor, rgba)
    assert (reading.number, [list(d.box) for d in reading.digits]) == ("42", [left, right])
    assert page.locator("#number-message").text_content() == reading.message

    # The eraser over the 2, in passes from top to bottom: the 4 is left, in one box.
    page.get_by_role("button", name="Erase").click()
    write(page, [[(0.46, y), (0.66, y)] for y in np.arange(0.15, 0.9, 0.05)])
    expect(number).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(number).to_have_attribute("data-number", "4")
    expect(page.locator("#number-boxes")).to_have_attribute("data-count", "1")
    page.get_by_role("button", name="Pen", exact=True).click()

    page.get_by_role("button", name="Clear").click()
    expect(number).to_have_attribute("data-number", "", timeout=TIMEOUT_MS)
    expect(page.locator("#number-boxes")).to_have_attribute("data-count", "0")
    # Back to one digit: the grid and its answer, as before.
    page.get_by_role("button", name="One digit").click()
    expect(page.locator("#grid")).to_be_visible()
    expect(page.locator("#prediction")).to_contain_text("Paint a digit")


def test_one_digit_in_number_mode_is_the_single_digit_answer(page, default_site, predictor, mnist, tmp_path):
    open_number_mode(page, default_site)
    for index in range(8):
        path = tmp_path / f"digit-{index}.png"
        Image.fromarray(mnist.x_test[index]).save(path)
        shown = open_image(page, path)
        single = predictor.classify(path)
        assert len(shown["digits"]) == 1
        digit = shown["digits"][0]
        assert (digit["digit"], digit["unsure"], digit["topTwo"]) == (
            single.digit, single.verdict.unsure, list(single.verdict.top_two))
        # float16 weights: the probabilities as close as test_web_export_browser asks of them.
        assert np.abs(np.array(digit["probabilities"]) - single.probabilities).max() < 5e-3
        assert np.abs(np.array(digit["pixels"]).reshape(28, 28) - single.image28).max() < 1e-4
        # The page's own single-digit mode, the same image painted on its grid: the same answer.
        page.get_by_role("button", name="One digit").click()
        page.evaluate("g => mnistStudio.setGrid(g)", (mnist.x_test[index] / 255).ravel().tolist())
        expect(page.locator("#prediction")).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
        expect(page.locator("#prediction")).to_have_attribute("data-digit", str(digit["digit"]))
        grid_pixels = page.evaluate("Array.from(mnistStudio.preprocess(mnistStudio.grid()))")
        assert grid_pixels == digit["pixels"]
        page.get_by_role("button", name="A number").click()
    # A faint speck far from the digit: the search for digits leaves it out, but one part is read
    # as the whole image, as the single-digit answer reads it (speck included).
    path = tmp_path / "digit-and-speck.png"
    Image.fromarray(with_a_faint_speck(mnist.x_test[0])).save(path)
    shown, single = open_image(page, path), predictor.classify(path)
    assert len(shown["digits"]) == 1
    assert np.abs(np.array(shown["digits"][0]["pixels"]).reshape(28, 28) - single.image28).max() < 1e-4


def test_a_doubted_digit_is_named_by_its_place(page, default_site, predictor, mnist, tmp_path):
    from tests.kit.nondigits import nondigits_of_kind

    open_number_mode(page, default_site)
    marks = [mark for mark in nondigits_of_kind("scribble", 10)
             if predictor.classify(mark).verdict.not_a_digit]
    four, two = (mnist.x_test[np.flatnonzero(mnist.y_test == d)[0]] for d in (4, 2))
    path = tmp_path / "four-mark-two.png"
    Image.fromarray(side_by_side([four, marks[0], two])).save(path)
    shown = open_image(page, path)
    assert as_the_page_reads(shown) == as_python_reads(predictor, path)
    assert shown["unsure"] and "2nd" in shown["message"]
    expect(page.locator(NUMBER)).to_have_attribute("data-unsure", "true")
    expect(page.locator("#number-message")).to_have_text(shown["message"])
    expect(page.locator("#number-digits li.unsure")).to_have_count(sum(d["unsure"] for d in shown["digits"]))


def test_bad_images_get_a_one_line_message(page, default_site, mnist, tmp_path):
    open_number_mode(page, default_site)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    open_image(page, text)
    expect(page.locator("#number-message")).to_have_text("notes.png is not a readable image.")
    thirteen = tmp_path / "thirteen.png"
    Image.fromarray(side_by_side([mnist.x_test[i] for i in range(13)])).save(thirteen)
    open_image(page, thirteen)
    expect(page.locator("#number-message")).to_have_text(
        "Too many parts to read as a number: 13 (at most 12 digits).")
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 80), 255).save(blank)
    open_image(page, blank)
    expect(page.locator("#number-message")).to_have_text("No number found in this image.")
    expect(page.locator(NUMBER)).to_have_attribute("data-number", "")


def test_the_unzipped_export_reads_numbers_offline(browser, trained_store, tmp_path, mnist, predictor):
    """From the zip a user downloads, opened from disk with the network cut: no request leaves it."""
    archive = export_run(trained_store, None, tmp_path / "page.zip", quantize=DEFAULT_QUANTIZE)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped" / ZIP_FOLDER
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  offline=True)
    try:
        page = context.new_page()
        log = open_page(page, folder.as_uri() + "/index.html")
        page.get_by_role("button", name="A number").click()
        path = tmp_path / "number.png"
        number = composed_numbers(mnist.x_test, mnist.y_test, 1, kind="gaps", seed=11)[0]
        Image.fromarray(number.image).save(path)
        assert as_the_page_reads(open_image(page, path)) == as_python_reads(predictor, path)
        assert not requests_elsewhere(page, log, folder.as_uri() + "/"), log.requests
        assert not log.errors
    finally:
        context.close()

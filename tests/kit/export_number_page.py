"""Number mode of the exported page (web_export) in headless Chromium: opening it, opening an image
as a user does, and the reading the page shows beside the one Python makes of the same file."""

from __future__ import annotations

import pytest

from tests.kit.export_page import open_page

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000
NUMBER = "#number"
# Where two cut paths a pixel apart read equally well, the page's float16 weights and Python's
# float32 ones may pick either: the boxes may differ by this many pixels, the number and the
# message not at all.
BOX_SLACK_PX = 2


def open_number_mode(page, folder) -> None:
    open_page(page, folder.as_uri() + "/index.html")
    expect(page.locator("#grid")).to_be_visible()  # one digit is the default
    page.get_by_role("button", name="A number").click()
    expect(page.get_by_role("heading", name="Write a number")).to_be_visible()
    expect(page.locator("#grid")).to_be_hidden()


def open_image(page, path) -> dict | None:
    """Open an image file as a user does (the file picker); the reading the page shows."""
    page.locator("#number-file").set_input_files(str(path))
    expect(page.locator(NUMBER)).to_have_attribute("data-source", path.name)
    expect(page.locator(NUMBER)).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    return page.evaluate("mnistStudio.numberShown()")


def as_python_reads(predictor, path) -> tuple:
    from training.reading.numbers import read_number

    reading = read_number(predictor, path)
    return reading.number, [list(digit.box) for digit in reading.digits], reading.message


def as_the_page_reads(shown: dict) -> tuple:
    return shown["number"], [digit["box"] for digit in shown["digits"]], shown["message"]


def same_reading(python: tuple, page: tuple) -> bool:
    """Whether the page read an image as Python did (`as_python_reads`, `as_the_page_reads`): the
    same number and message, a box for each digit, each within BOX_SLACK_PX of Python's."""
    (number, boxes, message), (page_number, page_boxes, page_message) = python, page
    return (number, message) == (page_number, page_message) and len(boxes) == len(page_boxes) and all(
        abs(a - b) <= BOX_SLACK_PX for box, page_box in zip(boxes, page_boxes, strict=True)
        for a, b in zip(box, page_box, strict=True))

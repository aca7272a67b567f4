"""Number mode of the exported page (web_export) in headless Chromium: opening it, opening an image
as a user does, and the reading the page shows beside the one Python makes of the same file."""

from __future__ import annotations

import pytest

from tests.kit.export_page import open_page

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000
NUMBER = "#number"


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

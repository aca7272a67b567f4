"""In Chromium against the real server: the Draw page's number mode reads whole numbers.

A "42" written on the wide canvas reads 42 with two boxes; touching digits are split; a letter
between digits makes the number unsure and says where; "Right" and a typed correction save each
digit in the SQLite user-digit store; an uploaded photo of a number composed from MNIST test
digits reads as that number; an image too large, or with too many parts, gets a one-line message.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PIL import Image

from tests.kit import dashboard_browser as browser_kit
from tests.kit.composed_numbers import composed_numbers, side_by_side
from tests.kit.drawn_digits import TEMPLATES
from tests.kit.nondigits import nondigits_of_kind

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000
READING = ".st-key-draw_number_reading_canvas"
UPLOAD_READING = ".st-key-draw_number_reading_upload"
# A digit on the wide canvas (840×280): 60% of its height, as wide as a handwritten digit is.
DIGIT_HEIGHT, DIGIT_WIDTH = 0.6, 0.12
# The boxed drawing's source: a new stroke, a new picture.
BOXED_SRC_JS = f"() => document.querySelector('{READING} img')?.src ?? null"
NEW_BOXED_JS = f"(before) => {{ const now = ({BOXED_SRC_JS})(); return !!now && now !== before; }}"


@pytest.fixture
def served(store_copy, tmp_path, monkeypatch):
    """(url, user-digit database): the dashboard on a copy of the trained store, digits saved to a
    private SQLite file."""
    from tests.kit.dashboard_server import serve

    database = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(database))
    with serve(store_copy.root, train_limit=2000) as url:
        yield url, database


def digit_strokes(strokes: list[list[tuple[float, float]]], left: float,
                  width: float = DIGIT_WIDTH) -> list[list[tuple[float, float]]]:
    """Strokes drawn in a unit box (`TEMPLATES`), placed on the wide canvas from `left` (a fraction)."""
    top = (1 - DIGIT_HEIGHT) / 2
    return [[(left + x * width, top + y * DIGIT_HEIGHT) for x, y in stroke] for stroke in strokes]


def open_number_mode(page, url: str) -> None:
    """Open the Draw page (single-digit mode, as always) and switch to number mode."""
    page.goto(f"{url}/draw")
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    expect(page.locator(browser_kit.PREDICTION).get_by_text("Draw a digit")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_text("A number", exact=True).click()
    expect(page.locator(READING).get_by_text("Write a number")).to_be_visible(timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)


def write(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw the strokes one after the other, each read before the next, as a person writes."""
    canvas = browser_kit.drawing_canvas(page, TIMEOUT_MS, browser_kit.NUMBER_CANVAS)
    for points in strokes:
        canvas.scroll_into_view_if_needed()  # the answer under it may have scrolled the page
        before = page.evaluate(BOXED_SRC_JS)
        browser_kit.stroke(page, points, TIMEOUT_MS, browser_kit.NUMBER_CANVAS)
        page.wait_for_function(NEW_BOXED_JS, arg=before, timeout=TIMEOUT_MS)
        browser_kit.wait_for_script(page, TIMEOUT_MS)


def wait_for_emptied_canvas(page) -> None:
    """Until a save has emptied the canvas and its run is over: a stroke drawn earlier is wiped."""
    painted = page.locator(browser_kit.NUMBER_CANVAS).locator(browser_kit.PAINTED_CANVAS).last
    page.wait_for_function(browser_kit.CANVAS_EMPTY_JS, arg=painted.element_handle(), polling="raf",
                           timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)


def number_shown(page, panel: str = READING) -> str:
    return page.locator(panel).locator("h1").inner_text().strip()


def views(page, key: str = "canvas"):
    """The 28×28 digit views shown under the number."""
    return page.locator(f".st-key-draw_number_views_{key}").get_by_role("img")


def forty_two(left: float = 0.3, width: float = DIGIT_WIDTH) -> list[list[tuple[float, float]]]:
    return digit_strokes(TEMPLATES[4][0], left, width) + digit_strokes(TEMPLATES[2][0], left + 0.2, width)


def saved_rows(database) -> list[tuple[int, int, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT label, prediction, source FROM digits ORDER BY id").fetchall()


def test_a_42_written_in_number_mode_reads_42_with_two_boxes(page, served):
    url, _ = served
    open_number_mode(page, url)
    write(page, forty_two())
    assert number_shown(page) == "42"
    expect(views(page)).to_have_count(2)
    expect(page.locator(READING).get_by_test_id("stVegaLiteChart")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_touching_digits_are_split(page, served):
    url, _ = served
    open_number_mode(page, url)
    # A 4 and a 2 joined along the line as in running handwriting: one blot of ink, two digits.
    strokes = digit_strokes(TEMPLATES[4][0], 0.3) + digit_strokes(TEMPLATES[2][0], 0.3 + DIGIT_WIDTH * 0.95)
    strokes.append([(0.3 + DIGIT_WIDTH * 0.7, 0.8), (0.3 + DIGIT_WIDTH * 1.2, 0.8)])  # foot to base
    write(page, strokes)
    expect(views(page)).to_have_count(2)
    assert number_shown(page) == "42"


def test_a_letter_between_digits_makes_the_number_unsure_and_says_where(page, served, store_copy, mnist,
                                                                        tmp_path):
    from training.reading.for_run import load_predictor
    from training.reading.numbers import read_number

    # A 4, a letter and a 2 on a photo; the letter is one the test model finds unlike any digit.
    predictor = load_predictor(store_copy)
    four, two = (mnist.x_test[np.flatnonzero(mnist.y_test == digit)[0]] for digit in (4, 2))
    photo = tmp_path / "four-letter-two.png"
    for letter in nondigits_of_kind("letter", 15):
        image = side_by_side([four, letter, two])
        if read_number(predictor, image).digits[1].verdict.not_a_digit:
            break
    else:
        pytest.fail("the test model takes none of 15 letters for something unlike a digit")
    Image.fromarray(image).save(photo)
    url, _ = served
    open_number_mode(page, url)
    page.locator(".st-key-draw_number_upload input[type=file]").set_input_files(photo)
    message = page.locator(UPLOAD_READING).locator("h3")
    expect(message).to_contain_text("2nd part does not look like a digit", timeout=TIMEOUT_MS)
    expect(views(page, "upload")).to_have_count(3)
    expect(page.locator(".st-key-draw_number_views_upload").get_by_text("2nd: no digit")).to_be_visible()
    # No "Right" for a number in doubt: it would save a guess as a digit.
    labelling = page.locator(".st-key-draw_number_labelling_upload")
    expect(labelling.get_by_text("Which number is it?")).to_be_visible()
    expect(labelling.get_by_text("Right, it is")).to_have_count(0)


def test_right_and_a_corrected_digit_save_each_digit_in_the_user_digit_store(page, served):
    url, database = served
    open_number_mode(page, url)
    write(page, forty_two())
    page.get_by_role("button", name="Right, it is 42").click()
    expect(page.locator(READING).get_by_text("Saved 42: 2 digits added")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_emptied_canvas(page)
    assert saved_rows(database) == [(4, 4, "draw"), (2, 2, "draw")]

    # Another 42 (written wider: the same strokes again would be the same digits, saved already),
    # saved as 47: the second digit corrected, the first as read.
    write(page, forty_two(left=0.4, width=0.16))
    labelling = page.locator(".st-key-draw_number_labelling_canvas")
    labelling.get_by_role("textbox").fill("47")
    labelling.get_by_role("button", name="Save as typed").click()
    expect(page.locator(READING).get_by_text("Saved 47: 2 digits added")).to_be_visible(timeout=TIMEOUT_MS)
    assert saved_rows(database)[2:] == [(4, 4, "draw"), (7, 2, "draw")]
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_an_uploaded_photo_of_a_composed_number_reads_as_that_number(page, served, store_copy, mnist,
                                                                      tmp_path):
    from training.reading.for_run import load_predictor
    from training.reading.numbers import read_number

    # A number of MNIST test digits, dark on white as on paper, that the test model reads right.
    predictor = load_predictor(store_copy)
    numbers = composed_numbers(mnist.x_test, mnist.y_test, 12, kind="gaps", lengths=(3, 4), seed=29)
    number = next(number for number in numbers[1::2]
                  if read_number(predictor, number.image).number == number.text)
    photo = tmp_path / "number.png"
    Image.fromarray(number.image).save(photo)
    url, _ = served
    open_number_mode(page, url)
    page.locator(".st-key-draw_number_upload input[type=file]").set_input_files(photo)
    expect(page.locator(UPLOAD_READING).locator("h1")).to_have_text(number.text, timeout=TIMEOUT_MS)
    expect(views(page, "upload")).to_have_count(len(number.text))
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_an_image_too_large_or_with_too_many_parts_gets_a_one_line_message(page, served, mnist, tmp_path):
    url, _ = served
    open_number_mode(page, url)
    upload = page.locator(".st-key-draw_number_upload input[type=file]")
    ones = [mnist.x_test[index] for index in np.flatnonzero(mnist.y_test == 1)[:14]]
    crowded = tmp_path / "fourteen-ones.png"
    Image.fromarray(side_by_side(ones)).save(crowded)
    upload.set_input_files(crowded)
    alert = page.locator(UPLOAD_READING).get_by_test_id("stAlert")
    expect(alert).to_contain_text("Too many parts to read as a number", timeout=TIMEOUT_MS)
    assert "\n" not in alert.inner_text().strip()

    huge = tmp_path / "huge.png"  # a small file that opens as 48 million pixels
    Image.new("L", (8000, 6000), 255).save(huge)
    upload.set_input_files(huge)
    expect(page.get_by_text("huge.png: the image data is too large")).to_be_visible(timeout=TIMEOUT_MS)
    assert "\n" not in page.get_by_text("huge.png: the image data is too large").inner_text().strip()
    expect(page.get_by_test_id("stException")).to_have_count(0)

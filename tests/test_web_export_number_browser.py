"""The exported page's number mode in headless Chromium, with the real tf.js and the exported model.

The page finds the digits in JavaScript (segment.js, cuts.js, numbers.js) by the rules of
training/data/segment.py and cuts.py; it must read the same number, with the same boxes and the
same words, as `training.reading.numbers.read_number` for every image of the check set: numbers
composed from MNIST test digits (with gaps, and touching), numbers in handwriting typefaces, and
a few images that take other paths (too large to read whole, in colour, ink on transparency).
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.kit.composed_numbers import compose, composed_numbers, side_by_side
from tests.kit.drawn_digits import TEMPLATES
from tests.kit.export_page import open_page, requests_elsewhere
from tests.kit.number_images import with_a_faint_speck
from training.data.components import label_components
from training.data.ink import ink_map
from web_export import DEFAULT_QUANTIZE, ZIP_FOLDER, export_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000
NUMBERS_PER_KIND = 20
NUMBER = "#number"


@pytest.fixture(scope="module")
def trained_store(steady_store):
    """These tests judge doubt: the three-epoch model (see `steady_store`)."""
    return steady_store


@pytest.fixture(scope="module")
def site(trained_store, tmp_path_factory):
    """The export as the Export tab and the CLI make it by default (float16 weights): what the page
    reads with them must still be what Python reads with the run's own float32 model."""
    return export_run(trained_store, None, tmp_path_factory.mktemp("site") / "mnist-site",
                      quantize=DEFAULT_QUANTIZE)


@pytest.fixture(scope="module")
def predictor(trained_store):
    from training.reading.for_run import load_predictor

    return load_predictor(trained_store)


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


def check_set(kind: str, mnist) -> list[tuple[str, np.ndarray]]:
    """(name, image) of one kind of the check set."""
    if kind in ("gaps", "touching"):
        numbers = composed_numbers(mnist.x_test, mnist.y_test, NUMBERS_PER_KIND, kind=kind, seed=7)
        return [(f"{kind}-{i}-{n.text}", n.image) for i, n in enumerate(numbers)]
    if kind == "typefaces":
        from tests.kit.typefaces import TYPEFACES, font_file, typeset_numbers

        if not font_file(TYPEFACES[0]).exists():
            pytest.skip("the @fontsource fonts are missing (npm ci installs them)")
        return [(f"{n.typeface}-{n.text}", n.image) for n in typeset_numbers(len(TYPEFACES), seed=7)]
    if kind == "narrow-pairs":
        return narrow_pairs(mnist)
    if kind == "ones-touching":
        return ones_touching(mnist)
    # Other paths through the ink map: an image shrunk before it is read, a colour photo, a drawing
    # on a transparent background.
    digits = [mnist.x_test[i] for i in range(3)]
    large = compose(digits, [int(d) for d in mnist.y_test[:3]], np.random.default_rng(1), scale=16).image
    row = side_by_side([mnist.x_test[i] for i in range(3, 7)])
    colour = np.stack([255 - row // 2, 255 - row, 240 - row // 3], axis=-1).astype(np.uint8)
    transparent = np.zeros((*row.shape, 4), np.uint8)
    transparent[..., 3] = row
    return [("large", large), ("colour", colour), ("transparent", transparent)]


# MNIST test digits (indices) that are narrow and, drawn touching, make one part no wider than it
# is high; a quickly trained model doubts some of them, and a second look cuts those.
NARROW_PAIRS = ((1262, 286), (112, 286), (175, 499), (621, 621), (5, 497), (112, 65), (175, 497), (443, 65))


def narrow_pairs(mnist) -> list[tuple[str, np.ndarray]]:
    """(name, image) of two narrow digits touching: one part that only a second look, once it
    reads in doubt, may cut."""
    pairs = []
    for first, second in NARROW_PAIRS:
        left, right = (image[:, np.flatnonzero(image.any(axis=0))] for image in mnist.x_test[[first, second]])
        canvas = np.zeros((44, left.shape[1] + right.shape[1] + 15), np.uint8)
        canvas[8:36, 8:8 + left.shape[1]] = left
        window = canvas[8:36, 7 + left.shape[1]:7 + left.shape[1] + right.shape[1]]
        np.maximum(window, right, out=window)
        image = np.asarray(Image.fromarray(canvas).resize((canvas.shape[1] * 3, 132), Image.BILINEAR))
        pairs.append((f"narrow-{mnist.y_test[first]}{mnist.y_test[second]}-{first}-{second}", image))
    return pairs


def ones_touching(mnist, count: int = 36) -> list[tuple[str, np.ndarray]]:
    """(name, image) of a 1 touching another digit, one piece of ink: a part that reads as one digit
    and that only a cut at its neck (`training.data.second_look`) may divide. Enough of them that a
    few are cut at a neck whichever way the test model reads them."""
    rng = np.random.default_rng(3)
    ones, others = np.flatnonzero(mnist.y_test == 1), np.flatnonzero(mnist.y_test != 1)
    pairs = []
    while len(pairs) < count:
        chosen = [int(rng.choice(ones)), int(rng.choice(others))][::rng.choice([1, -1])]
        pair = compose(list(mnist.x_test[chosen]), [int(mnist.y_test[i]) for i in chosen], rng,
                       kind="touching", scale=2)
        mask = ink_map(pair.image) > 0
        if len(np.unique(label_components(mask)[mask])) == 1:
            pairs.append((f"ones-touching-{pair.text}-{chosen[0]}-{chosen[1]}", pair.image))
    return pairs


@pytest.mark.parametrize("kind", ["gaps", "touching", "typefaces", "narrow-pairs", "ones-touching",
                                  "other-paths"])
def test_the_page_and_python_read_the_same_number_in_every_image(page, site, predictor, mnist, tmp_path,
                                                                 kind, monkeypatch):
    import training.data.second_look as looks
    import training.reading.numbers as numbers

    images = check_set(kind, mnist)
    # So are parts cut at a neck.
    neck_cuts = []
    cut_at_necks = looks._cut_at_necks
    monkeypatch.setattr(looks, "_cut_at_necks", lambda parts, *rest: neck_cuts.append(
        len(done := cut_at_necks(parts, *rest)) - len(parts)) or done)
    # Parts cut only once read in doubt (`second_look`) are among those the page must agree on.
    second_cuts = []
    first_look = numbers.second_look
    monkeypatch.setattr(numbers, "second_look", lambda ink, parts, *rest: second_cuts.append(
        len(again := first_look(ink, parts, *rest)) - len(parts)) or again)
    log = open_page(page, site.as_uri() + "/index.html")
    page.get_by_role("button", name="A number").click()
    differences = []
    for name, image in images:
        path = tmp_path / f"{name}.png"
        Image.fromarray(image).save(path)
        expected, shown = as_python_reads(predictor, path), open_image(page, path)
        if shown is None or as_the_page_reads(shown) != expected:
            differences.append((name, expected, shown and as_the_page_reads(shown)))
    assert not differences, f"{len(differences)} of {len(images)} differ: {differences}"
    assert kind != "narrow-pairs" or any(second_cuts)
    assert kind != "ones-touching" or any(neck_cuts)
    # What the page shows is that reading: the number in large type and a box over each digit.
    expect(page.locator(NUMBER)).to_have_attribute("data-number", expected[0])
    expect(page.locator(NUMBER)).to_have_text(expected[0])
    expect(page.locator("#number-boxes")).to_have_attribute("data-count", str(len(expected[1])))
    expect(page.locator("#number-digits li")).to_have_count(len(expected[1]))
    assert not log.errors and not requests_elsewhere(page, log, site.as_uri() + "/"), log.requests


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


def test_a_42_written_on_the_wide_canvas_reads_42_with_two_boxes(page, site, predictor):
    from training.reading.numbers import read_number

    open_number_mode(page, site)
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


def test_one_digit_in_number_mode_is_the_single_digit_answer(page, site, predictor, mnist, tmp_path):
    open_number_mode(page, site)
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


def test_a_doubted_digit_is_named_by_its_place(page, site, predictor, mnist, tmp_path):
    from tests.kit.nondigits import nondigits_of_kind

    open_number_mode(page, site)
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


def test_bad_images_get_a_one_line_message(page, site, mnist, tmp_path):
    open_number_mode(page, site)
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

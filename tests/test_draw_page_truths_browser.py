"""In Chromium against the real server: the Draw page says only what is true of the drawing.

A letter unlike any digit is doubted, never confirmed as one; the bars beside a doubt are not a
confident answer; "an 8"; the heatmap is the red and blue its caption names, with a colour scale;
no errors in the browser's console; the sidebar names the training images a training will really use.
"""

from __future__ import annotations

import re

import pytest

from tests.kit import dashboard_browser as browser_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000
TRAIN_LIMIT = 10_000
# An "E" as people print it: the top, the back and the foot in one stroke, then the middle bar. A
# letter unlike every digit: an A is also a 4 with a closed top, and models trained from different
# seeds read it either way (a 4 or no digit), so it cannot say whether the page tells the truth.
LETTER_E = [[(0.7, 0.2), (0.3, 0.2), (0.3, 0.8), (0.7, 0.8)], [(0.3, 0.5), (0.62, 0.5)]]
DASH = [[(0.25, 0.5), (0.75, 0.52)]]
DOUBTS = ("This does not look like a digit", "Not sure — it could be")
# The answer's highlight (dashboard/charts.py HIGHLIGHT) as the SVG's fill attribute writes it.
HIGHLIGHT_FILL = "#e4572e"
# The source of "What it sees": a new drawing, a new image.
SEEN_SRC_JS = "() => document.querySelector('.st-key-draw_prediction_canvas img')?.src ?? null"
NEW_SEEN_JS = f"(before) => {{ const now = ({SEEN_SRC_JS})(); return !!now && now !== before; }}"


@pytest.fixture(scope="module")
def letter_wise_store(tmp_path_factory, mnist):
    """A model trained as the default is (augmented), longer than the shared quick one: telling a
    letter from a digit is what a model learns last, and the one-epoch model cannot yet."""
    from training.core.config import TrainConfig
    from training.jobs.runner import reading_files
    from training.learn.train import train
    from training.runs.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("letter-wise"))
    result = train(TrainConfig(epochs=5, batch_size=64, train_limit=20_000, eval_limit=1000), mnist)
    store.save(result.model, result.record, files=reading_files(result))
    return store


@pytest.fixture
def served_letter_wise(letter_wise_store, tmp_path, monkeypatch):
    from tests.kit.dashboard_server import serve

    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(tmp_path / "user_digits.sqlite3"))
    with serve(letter_wise_store.root, train_limit=TRAIN_LIMIT) as url:
        yield url


@pytest.fixture
def served(store_copy, tmp_path, monkeypatch):
    """The dashboard on a copy of the trained store, trainings limited to 10,000 images, with a
    private user-digit database; yields (url, console errors, failed responses) for the test to read."""
    from tests.kit.dashboard_server import serve

    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(tmp_path / "user_digits.sqlite3"))
    with serve(store_copy.root, train_limit=TRAIN_LIMIT) as url:
        yield url


def open_draw(page, url: str) -> list[str]:
    """Open the Draw page at its own address, as a bookmark or a reload does; returns the list that
    the browser's console errors and failed responses are appended to from then on."""
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: response.status >= 400
            and problems.append(f"{response.status} {response.url}"))
    page.goto(f"{url}/draw")
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    expect(page.locator(browser_kit.PREDICTION).get_by_text("Draw a digit")).to_be_visible(timeout=TIMEOUT_MS)
    return problems


def draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw the strokes one after the other, each answered before the next, as a person draws."""
    browser_kit.drawing_canvas(page, TIMEOUT_MS).scroll_into_view_if_needed()
    for points in strokes:
        before = page.evaluate(SEEN_SRC_JS)
        browser_kit.stroke(page, points, TIMEOUT_MS)
        page.wait_for_function(NEW_SEEN_JS, arg=before, timeout=TIMEOUT_MS)
        browser_kit.wait_for_script(page, TIMEOUT_MS)
    page.wait_for_function(browser_kit.PREDICTION_SHOWN_JS, polling="raf", timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)


def answer_heading(page) -> str:
    return page.locator(browser_kit.PREDICTION).locator("h3").inner_text()


def bar_fills(page) -> list[str]:
    """The fill colour of each of the ten probability bars, as drawn in the page's SVG."""
    chart = page.locator(browser_kit.PREDICTION).get_by_test_id("stVegaLiteChart")
    return chart.locator(".mark-rect path").evaluate_all("bars => bars.map(bar => bar.getAttribute('fill'))")


def test_a_letter_e_is_doubted_and_never_offered_as_right(page, served_letter_wise):
    open_draw(page, served_letter_wise)
    draw(page, LETTER_E)
    heading = answer_heading(page)
    assert heading.startswith(DOUBTS), f"an E was answered {heading!r}"
    labelling = page.locator(".st-key-draw_labelling_canvas")
    expect(labelling.get_by_text("Right, it is")).to_have_count(0)
    # The first thing under the answer asks which digit it is, with all ten to choose from.
    question = labelling.get_by_text("Which digit is it?").or_(labelling.get_by_text("If it is a digit"))
    expect(question).to_be_visible()
    expect(labelling.get_by_role("radio")).to_have_count(10)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_drawing_that_is_no_digit_shows_its_bars_as_a_guess(page, served):
    open_draw(page, served)
    draw(page, [[(0.28, 0.22), (0.72, 0.22), (0.62, 0.45), (0.48, 0.82)]])  # a 7
    answered = answer_heading(page)
    if not answered.startswith(DOUBTS):
        assert bar_fills(page).count(HIGHLIGHT_FILL) == 1, answered  # a confident answer: its bar
    browser_kit.clear(page, TIMEOUT_MS)
    draw(page, DASH)
    heading = answer_heading(page)
    assert heading.startswith(DOUBTS), f"a dash was answered {heading!r}"
    # No bar in the answer's colour beside a doubt, however tall the best guess's bar.
    assert HIGHLIGHT_FILL not in bar_fills(page)
    chart = page.locator(browser_kit.PREDICTION).get_by_test_id("stVegaLiteChart")
    if heading.startswith("This does not look like a digit"):
        expect(chart.get_by_text("Only a guess: the drawing does not look like a digit")).to_be_attached()


def test_an_8_is_an_8_in_the_right_button_and_when_saved(page, served, store_copy, mnist, tmp_path):
    from PIL import Image

    from training.reading.for_run import load_predictor

    # A photo of an MNIST 8 (dark ink on white) that the model reads as a plain 8.
    predictor = load_predictor(store_copy)
    photo = tmp_path / "eight.png"
    for image in mnist.x_test[mnist.y_test == 8][:50]:
        Image.fromarray(255 - image).resize((112, 112)).save(photo)
        read = predictor.classify(Image.open(photo))
        if read.digit == 8 and not read.verdict.unsure:
            break
    else:
        pytest.fail("the test model reads none of 50 MNIST 8s as a plain 8")
    open_draw(page, served)
    page.locator(".st-key-draw_upload input[type=file]").set_input_files(photo)
    right = page.get_by_role("button", name="Right, it is an 8", exact=True)
    expect(right).to_be_visible(timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    right.click()
    expect(page.get_by_text("Saved as an 8 (eight).")).to_be_visible(timeout=TIMEOUT_MS)

    # On the canvas too: a drawing labelled 8 with the digit buttons.
    draw(page, [browser_kit.one_points()])
    page.locator(".st-key-draw_label_canvas").get_by_role("radio", name="8", exact=True).click()
    saved = page.locator(browser_kit.PREDICTION).get_by_text("Saved as an 8 (eight).")
    expect(saved).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("a 8")).to_have_count(0)


def test_where_it_looks_is_red_and_blue_as_its_caption_says_with_a_colour_scale(page, served):
    open_draw(page, served)
    draw(page, [browser_kit.one_points()])
    where = page.locator(".st-key-draw_where_canvas")
    expect(where.get_by_text("Where it looks")).to_be_visible(timeout=TIMEOUT_MS)
    heatmap, scale = where.get_by_role("img").nth(0), where.get_by_role("img").nth(1)
    expect(scale).to_be_visible(timeout=TIMEOUT_MS)
    expect(heatmap).to_be_visible()
    # The scale says what its colours mean, under it and as wide as the map.
    labels = [where.get_by_text(re.compile(pattern))
              for pattern in (r"^raises \d$", "^no change$", r"^lowers \d$")]
    for label in labels:
        expect(label).to_be_visible()
    assert scale.bounding_box()["width"] == pytest.approx(heatmap.bounding_box()["width"], abs=2)
    # In one row under the scale: "raises" at its blue end, "lowers" at its red end.
    boxes = [label.bounding_box() for label in labels]
    assert len({round(box["y"]) for box in boxes}) == 1, boxes
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"], boxes
    expect(where.get_by_text("Red where it drops")).to_be_visible()
    # The colours are the caption's: the most tinted pixels are red or blue, none magenta; the
    # scale runs from blue on the left to red on the right.
    tinted = heatmap.evaluate(PIXELS_JS)
    assert tinted["red"] > 0, tinted
    assert tinted["magenta"] == 0, tinted
    ends = scale.evaluate(ENDS_JS)
    assert ends["left"][2] > 150 > ends["left"][0] and ends["right"][0] > 150 > ends["right"][2], ends


# Counts the strongly tinted pixels of an <img> by hue: red (R high, G and B low), blue, or magenta
# (R and B both high), the colour the old heatmap gave the strokes.
PIXELS_JS = """(image) => {
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const counts = {red: 0, blue: 0, magenta: 0};
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (r > 150 && b > 110 && g < 90) counts.magenta++;
    else if (r > 150 && g < 90 && b < 90) counts.red++;
    else if (b > 150 && r < 90) counts.blue++;
  }
  return counts;
}"""
# The colour at the middle of the left and right ends of an <img>.
ENDS_JS = """(image) => {
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const y = Math.floor(canvas.height / 2);
  const at = (x) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
  return {left: at(1), right: at(canvas.width - 2)};
}"""


def test_the_draw_page_loads_and_answers_with_no_console_errors(page, served):
    problems = open_draw(page, served)
    draw(page, [browser_kit.one_points()])
    expect(page.locator(".st-key-draw_where_canvas").get_by_role("img").first).to_be_visible(timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    page.reload()  # a reload opens the page at its own address again
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    expect(page.locator(browser_kit.PREDICTION).get_by_text("Draw a digit")).to_be_visible(timeout=TIMEOUT_MS)
    assert problems == []


def test_the_sidebar_names_the_training_images_the_server_will_use(page, served):
    open_draw(page, served)
    sidebar = page.get_by_test_id("stSidebar")
    images = sidebar.get_by_role("combobox", name="Training images")
    expect(images).to_have_value(f"{TRAIN_LIMIT:,} (this server's limit)", timeout=TIMEOUT_MS)
    images.click()
    offered = page.get_by_role("option").all_inner_texts()
    assert offered == [f"{TRAIN_LIMIT:,} (this server's limit)", "2,000 (seconds)"], offered
    page.keyboard.press("Escape")
    expect(sidebar.get_by_text(f"at most {TRAIN_LIMIT:,} training images")).to_be_visible()

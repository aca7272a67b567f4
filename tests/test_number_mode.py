"""The Draw page's number mode without a browser: what it draws, says and saves, and the page in AppTest."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dashboard.number_pictures import (
    DOUBT_BOX,
    SURE_BOX,
    as_rgb,
    boxed,
    digit_words,
    digits_to_save,
    saved_words,
    typed_labels,
)
from tests.kit.apptest import app, texts
from training.reading.doubt import Verdict
from training.reading.numbers import DigitReading, NumberReading


def reading_of(*verdicts: Verdict, width: int = 60) -> NumberReading:
    """A number whose digits sit side by side in boxes `width` pixels apart."""
    return NumberReading(tuple(
        DigitReading(digit=verdict.digit, probabilities=np.eye(10)[verdict.digit], verdict=verdict,
                     box=(10 + index * width, 10, 50 + index * width, 70), image28=np.zeros((28, 28)))
        for index, verdict in enumerate(verdicts)))


SURE_4 = Verdict(digit=4, top_two=(4, 9), unsure=False, not_a_digit=False)
UNSURE_1 = Verdict(digit=1, top_two=(1, 7), unsure=True, not_a_digit=False)
NO_DIGIT = Verdict(digit=8, top_two=(8, 3), unsure=True, not_a_digit=True)


def test_a_typed_number_gives_one_label_per_box_or_says_what_is_wrong():
    assert typed_labels(" 4 7 ", 2) == [4, 7]
    with pytest.raises(ValueError, match="type 2, one for each box"):
        typed_labels("471", 2)
    with pytest.raises(ValueError, match="digits only"):
        typed_labels("4a", 2)
    with pytest.raises(ValueError, match="digits only"):
        typed_labels("٤٢", 2)  # Arabic-Indic digits are decimal to Python, not to a label


def test_each_digit_is_captioned_with_its_place_and_its_doubt():
    reading = reading_of(SURE_4, UNSURE_1, NO_DIGIT)
    assert [digit_words(i, d) for i, d in enumerate(reading.digits, start=1)] == \
        ["1st: 4", "2nd: 1 or 7?", "3rd: no digit"]


def test_boxes_are_drawn_over_the_drawing_blue_when_sure_red_in_doubt():
    picture = as_rgb(np.zeros((80, 200, 4), np.uint8), "#000000")
    shown = np.asarray(boxed(picture, reading_of(SURE_4, UNSURE_1), width=200))
    assert shown.shape == (80, 200, 3)
    colours = {tuple(int(c) for c in pixel) for pixel in shown.reshape(-1, 3)}
    assert tuple(Image.new("RGB", (1, 1), SURE_BOX).getpixel((0, 0))) in colours
    assert tuple(Image.new("RGB", (1, 1), DOUBT_BOX).getpixel((0, 0))) in colours
    # The first box's left edge is blue, the second one's red.
    assert tuple(shown[40, 9]) == Image.new("RGB", (1, 1), SURE_BOX).getpixel((0, 0))
    assert tuple(shown[40, 69]) == Image.new("RGB", (1, 1), DOUBT_BOX).getpixel((0, 0))


def test_the_digits_to_save_carry_their_label_prediction_and_crop():
    reading = reading_of(SURE_4, UNSURE_1)
    picture = as_rgb(Image.new("L", (200, 80), 255), "#ffffff")
    digits = digits_to_save(reading, [4, 7], picture, "run-1", "upload")
    assert [(d.label, d.prediction, d.source, d.run_id) for d in digits] == \
        [(4, 4, "upload", "run-1"), (7, 1, "upload", "run-1")]
    assert Image.open(io.BytesIO(digits[0].drawing_png)).size == (40, 60)
    assert saved_words("47", 2, 0) == "Saved 47: 2 digits added to your digits."
    assert saved_words("47", 1, 1) == "Saved 47: 1 digit added to your digits (1 already saved)."
    assert saved_words("47", 0, 2) == "The digits of 47 were already saved."


def test_number_mode_opens_on_the_draw_page_in_apptest(monkeypatch, trained_store, tmp_path):
    at = app(monkeypatch, trained_store.root)
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(tmp_path / "user_digits.sqlite3"))
    at.switch_page("views/draw.py").run()
    assert not at.exception
    assert "Draw a digit" in texts(at)  # single-digit mode, as before
    at.radio(key="draw_mode").set_value("A number").run()
    assert not at.exception
    assert "Write a number" in texts(at)

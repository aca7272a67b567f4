"""The handwriting-typeface kit (tests/kit/typefaces.py) draws what it says it draws."""

from __future__ import annotations

import numpy as np

from tests.kit.typefaces import CURSIVE, SIDE, TYPEFACES, font_file, typeset, typeset_digits, typeset_numbers
from training.data.components import label_components


def pieces(image: np.ndarray) -> int:
    """Separate marks of dark ink on white."""
    ink = image < 128
    return len(np.unique(label_components(ink)[ink]))


def test_every_typeface_is_installed_and_draws_every_digit_differently():
    assert len(TYPEFACES) == 16 and set(CURSIVE) <= set(TYPEFACES)
    for typeface in TYPEFACES:
        assert font_file(typeface).exists(), typeface
        glyphs = [
            typeset(str(digit), typeface, np.random.default_rng(0), size=80).digits[0] for digit in range(10)
        ]
        assert all((glyph < 128).sum() > 20 for glyph in glyphs), typeface  # ink, not an empty box
        shapes = {(glyph < 128).tobytes() for glyph in glyphs}
        assert len(shapes) == 10, typeface


def test_single_digits_are_seeded_black_on_white_canvases_with_their_labels():
    images, labels = typeset_digits(32, seed=5)
    assert images.shape == (32, SIDE, SIDE) and images.dtype == np.uint8 and labels.shape == (32,)
    assert set(labels) <= set(range(10)) and len(set(labels)) > 5
    assert all(image[0].max() == 255 and (image < 128).mean() < 0.3 for image in images)  # paper, some ink
    heights = [np.ptp(np.flatnonzero((image < 128).any(axis=1))) + 1 for image in images]
    assert min(heights) >= SIDE // 4 and max(heights) <= SIDE
    again, same_labels = typeset_digits(32, seed=5)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, same_labels)
    assert not np.array_equal(typeset_digits(32, seed=6)[0], images)


def test_numbers_have_a_box_per_digit_left_to_right_and_cursive_ones_join():
    numbers = typeset_numbers(64, seed=1)
    assert [len(number.text) for number in numbers[:4]] == [2, 3, 4, 5]
    assert {number.typeface for number in numbers} == set(TYPEFACES)
    for number in numbers:
        assert len(number.boxes) == len(number.digits) == len(number.text)
        height, width = number.image.shape
        centres = [(box[0] + box[2]) / 2 for box in number.boxes]
        assert centres == sorted(centres)
        assert all(0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for x0, y0, x1, y1 in number.boxes)
    joined = [pieces(n.image) < len(n.text) for n in numbers if n.typeface in CURSIVE]
    apart = [pieces(n.image) >= len(n.text) for n in numbers if n.typeface not in CURSIVE]
    assert np.mean(joined) > 0.6 and np.mean(apart) > 0.9

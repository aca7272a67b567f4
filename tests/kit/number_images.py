"""Digit images the number-reading tests share: MNIST test digits picked by label, a 5 drawn in two
strokes, a digit with a faint speck beside it, and whether a found box sits on a digit's columns."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from tests.kit.drawn_digits import TEMPLATES
from training.data.ink import ink_map


def first_of(mnist, digit: int, skip: int = 0) -> np.ndarray:
    """A test-split image of `digit` (the `skip`-th one)."""
    return mnist.x_test[np.flatnonzero(mnist.y_test == digit)[skip]]


def five_with_a_lifted_bar(size: int = 200, pen: int = 14) -> np.ndarray:
    """A 5 whose bar was drawn after lifting the pen: two separate strokes, white on black."""
    body, _ = TEMPLATES[5][0]
    bar = [(0.3, -0.12), (0.95, -0.15)]  # starts right of the stem, above it: the ink does not meet

    def place(x: float, y: float) -> tuple[float, float]:
        return size * (0.3 + 0.4 * x), size * (0.25 + 0.6 * y)

    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    for stroke in (body, bar):
        draw.line([place(x, y) for x, y in stroke], fill=255, width=pen, joint="curve")
    return np.asarray(image)


def with_a_faint_speck(digit: np.ndarray) -> np.ndarray:
    """A 28×28 digit at 3 times the size, and far right of it a speck of a fortieth of its ink:
    a single digit's reading keeps it, the search for digits drops it."""
    canvas = np.zeros((84, 220), np.uint8)
    canvas[:, :84] = np.asarray(Image.fromarray(digit).resize((84, 84), Image.BILINEAR))
    canvas[40:44, 200:204] = min(255, round(255 * ink_map(canvas).sum() / 40 / 16))
    return canvas


def read_right(predictor, mnist, digit: int) -> np.ndarray:
    """The first test-split image of `digit` that the model reads right on its own."""
    return next(image for image in mnist.x_test[mnist.y_test == digit][:50]
                if predictor.classify(image).digit == digit)


def centred_in(box: tuple, truth: tuple) -> bool:
    """Whether the middle of `box` lies within the columns of `truth`."""
    return truth[0] <= (box[0] + box[2]) / 2 < truth[2]

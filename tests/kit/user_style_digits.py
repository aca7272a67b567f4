"""One person's handwriting that MNIST lacks, generated from a seed: the fine-tuning benchmark's user.

Square block digits, as on a seven-segment display: a slashed box for 0, a 1 with a flag and a
base, a 4 with an open top, a 7 with a bar and a hooked top, a 9 with a straight stem, the rest
of straight segments and square corners; a thick marker, nearly upright, with the small wobble of
a real hand. The templates are frozen: never tune them to make a model look good. Each drawing
goes through the Draw page's preprocessing (`to_mnist`).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from tests.kit.drawn_digits import _wobble

CANVAS = 280
# A marker: the pen is this share of the digit's height (MNIST's pens are about half as thick).
PEN_SHARE = (0.16, 0.2)
HEIGHT_SHARE = (0.55, 0.8)
WIDTH_SHARE = 0.62
MAX_SLANT_DEG = 4.0

# Block capitals with square corners, as some engineers write: segments more than curves.
TEMPLATES: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0.1, 0.0), (0.9, 0.0), (0.9, 1.0), (0.1, 1.0), (0.1, 0.0)], [(0.85, 0.08), (0.15, 0.92)]],
    1: [[(0.15, 0.25), (0.55, 0.0), (0.55, 1.0)], [(0.1, 1.0), (0.95, 1.0)]],
    2: [[(0.05, 0.0), (0.95, 0.0), (0.95, 0.5), (0.05, 0.5), (0.05, 1.0), (0.95, 1.0)]],
    3: [[(0.05, 0.0), (0.95, 0.0), (0.95, 1.0), (0.05, 1.0)], [(0.3, 0.5), (0.95, 0.5)]],
    4: [[(0.1, 0.0), (0.1, 0.6), (1.0, 0.6)], [(0.75, 0.15), (0.75, 1.0)]],
    5: [[(0.95, 0.0), (0.05, 0.0), (0.05, 0.5), (0.95, 0.5), (0.95, 1.0), (0.05, 1.0)]],
    6: [[(0.9, 0.0), (0.1, 0.0), (0.1, 1.0), (0.9, 1.0), (0.9, 0.5), (0.1, 0.5)]],
    7: [[(0.05, 0.2), (0.05, 0.0), (0.95, 0.0), (0.55, 1.0)], [(0.35, 0.5), (0.95, 0.5)]],
    8: [[(0.1, 0.0), (0.9, 0.0), (0.9, 1.0), (0.1, 1.0), (0.1, 0.0)], [(0.1, 0.5), (0.9, 0.5)]],
    9: [[(0.9, 0.5), (0.1, 0.5), (0.1, 0.0), (0.9, 0.0), (0.9, 1.0)]],
}


def make_user_style_digits(per_digit: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_digit` of each digit in this hand, as the model sees them: (N, 28, 28) uint8 and labels (N,).

    Labels cycle 0..9 in saving order, so the store's held-out ones (the 2nd, 7th, … of each digit)
    are spread over the whole set.
    """
    from training.data.preprocess import to_mnist

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(10, dtype=np.uint8), per_digit)
    images = np.stack([np.round(to_mnist(draw(int(label), rng)) * 255).astype(np.uint8)
                       for label in labels])
    return images, labels


def draw(digit: int, rng: np.random.Generator) -> np.ndarray:
    """One drawing on a 280×280 canvas, white marker on black."""
    height = rng.uniform(*HEIGHT_SHARE) * CANVAS
    width = height * WIDTH_SHARE * rng.uniform(0.9, 1.1)
    pen = rng.uniform(*PEN_SHARE) * height
    slant = math.tan(math.radians(rng.uniform(-MAX_SLANT_DEG, MAX_SLANT_DEG)))
    centre = CANVAS / 2 + rng.uniform(-20, 20, 2)
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    pen_tip = ImageDraw.Draw(canvas)
    for stroke in TEMPLATES[digit]:
        points = np.array(stroke, dtype=np.float64) + _wobble(len(stroke), rng)
        x = (points[:, 0] - 0.5) * width
        y = (points[:, 1] - 0.5) * height
        path = [(float(px - py * slant + centre[0]), float(py + centre[1]))
                for px, py in zip(x, y, strict=True)]
        pen_tip.line(path, fill=255, width=round(pen), joint="curve")
        for px, py in (path[0], path[-1]):
            pen_tip.ellipse((px - pen / 2, py - pen / 2, px + pen / 2, py + pen / 2), fill=255)
    return np.asarray(canvas)


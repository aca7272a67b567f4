"""Numbers composed from MNIST test digits: side by side with gaps, or touching and overlapping.

Only the official test split is used, never training digits: the model has not seen them. Each
digit keeps MNIST's 28 rows (so the digits sit on a common line as they were centred) and is
cropped to its ink's columns; the number is drawn white on black, or black on white.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

KINDS = ("gaps", "touching")
POLARITIES = ("white-on-black", "black-on-white")
MARGIN = 8  # blank pixels around the number, at MNIST's scale
GAP = (3, 9)  # pixels between digits at MNIST's scale (a digit is about 20 high): 0.15–0.4 of it
MAX_OVERLAP = 0.15  # touching digits overlap by up to this share of the left one's width
JITTER = 2  # rows each digit may sit above or below the line


@dataclass(frozen=True)
class ComposedNumber:
    """An image of a number, what it says, and where each digit's ink is."""

    image: np.ndarray  # (H, W) uint8
    text: str
    boxes: list[tuple[int, int, int, int]]  # x0, y0, x1, y1 per digit, x1 and y1 exclusive
    sources: tuple[int, ...] = ()  # the digits' indices in the MNIST test split


def compose(digits: list[np.ndarray], labels: list[int], rng: np.random.Generator, *, kind: str = "gaps",
            scale: int = 1, polarity: str = "white-on-black") -> ComposedNumber:
    """One number from 28×28 uint8 digits (light ink on black), left to right."""
    strips = [_ink_columns(digit) for digit in digits]
    starts, x = [], MARGIN
    for index, strip in enumerate(strips):
        if index > 0:
            previous = strips[index - 1].shape[1]
            x += (int(rng.integers(*GAP)) if kind == "gaps"
                  else -round(rng.uniform(0, MAX_OVERLAP) * previous))
        starts.append(x)
        x += strip.shape[1]
    canvas = np.zeros((28 + 2 * MARGIN, x + MARGIN), np.uint8)
    boxes = []
    for strip, start in zip(strips, starts, strict=True):
        top = MARGIN + int(rng.integers(-JITTER, JITTER + 1))
        window = canvas[top:top + 28, start:start + strip.shape[1]]
        np.maximum(window, strip, out=window)
        rows = np.flatnonzero(strip.any(axis=1))
        boxes.append((start * scale, (top + rows[0]) * scale, (start + strip.shape[1]) * scale,
                      (top + rows[-1] + 1) * scale))
    if scale != 1:
        size = (canvas.shape[1] * scale, canvas.shape[0] * scale)
        canvas = np.asarray(Image.fromarray(canvas).resize(size, Image.BILINEAR))
    if polarity == "black-on-white":
        canvas = 255 - canvas
    return ComposedNumber(canvas, "".join(str(label) for label in labels), boxes)


def composed_numbers(x_test: np.ndarray, y_test: np.ndarray, count: int, *, kind: str = "gaps",
                     lengths: tuple[int, ...] = (2, 3, 4, 5), seed: int = 0) -> list[ComposedNumber]:
    """`count` numbers of MNIST test digits, lengths and polarities in turn, scale 1 to 3."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    numbers = []
    for index in range(count):
        length = lengths[index % len(lengths)]
        chosen = rng.choice(len(x_test), length, replace=False)
        number = compose(list(x_test[chosen]), [int(y_test[i]) for i in chosen], rng, kind=kind,
                         scale=int(rng.integers(1, 4)), polarity=POLARITIES[index % 2])
        numbers.append(replace(number, sources=tuple(int(i) for i in chosen)))
    return numbers


def _ink_columns(digit: np.ndarray) -> np.ndarray:
    columns = np.flatnonzero(digit.any(axis=0))
    return digit[:, columns[0]:columns[-1] + 1]


def side_by_side(images: list[np.ndarray], height: int = 60, gap: int = 15) -> np.ndarray:
    """Light-on-dark uint8 images of any size, each cropped to its ink and scaled to `height` px,
    in a row `gap` px apart on a black canvas: a number made of any marks."""
    scaled = []
    for image in images:
        rows, columns = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        crop = image[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
        width = max(1, round(crop.shape[1] * height / crop.shape[0]))
        scaled.append(np.asarray(Image.fromarray(crop).resize((width, height), Image.BILINEAR)))
    margin = height // 3
    canvas = np.zeros((height + 2 * margin, sum(s.shape[1] for s in scaled) + gap * (len(scaled) - 1)
                       + 2 * margin), np.uint8)
    x = margin
    for strip in scaled:
        canvas[margin:margin + height, x:x + strip.shape[1]] = strip
        x += strip.shape[1] + gap
    return canvas

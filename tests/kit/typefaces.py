"""Digits and numbers written in handwriting typefaces: a check set no MNIST writer drew.

The fonts are npm's @fontsource packages (devDependencies in package.json, installed by `npm ci`
into node_modules/@fontsource; Pillow reads their WOFF files). Each image is drawn at a random
size, place and slant, and a random pen weight, from a seed; ink is black on white, as on paper.
In a number the cursive typefaces set their digits close enough to join, as a hand that does not
lift the pen between digits; the others leave a gap as print does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = Path(__file__).resolve().parents[2] / "node_modules" / "@fontsource"
# Handwriting typefaces, print-like and cursive (their digits, 0–9, are in each font's latin file).
TYPEFACES = (
    "architects-daughter",  # print, upright capitals' hand
    "caveat",  # quick marker
    "cedarville-cursive",  # cursive, thin pen
    "dancing-script",  # cursive
    "gloria-hallelujah",  # felt pen, round
    "gochi-hand",  # heavy marker
    "handlee",  # thin, upright
    "homemade-apple",  # cursive, rough pen
    "indie-flower",  # round, open
    "kalam",  # quick, slanted
    "nanum-pen-script",  # narrow pen
    "nothing-you-could-do",  # cursive, scrawled
    "patrick-hand",  # print, heavy
    "reenie-beanie",  # scrawled, thin
    "sacramento",  # cursive, calligraphic
    "shadows-into-light",  # thin, narrow
)
CURSIVE = ("cedarville-cursive", "dancing-script", "homemade-apple", "nothing-you-could-do", "sacramento")
SIDE = 280  # single digits, as the Draw page's canvas
SLANT = 0.25  # the most a column leans, in pixels across per pixel down
PEN = 2  # the most pixels a pen's outline is thickened by


@dataclass(frozen=True)
class TypesetNumber:
    """An image of a number in one typeface, what it says, and where each digit's ink is."""

    image: np.ndarray  # (H, W) uint8, black ink on white
    text: str
    typeface: str
    boxes: list[tuple[int, int, int, int]]  # x0, y0, x1, y1 per digit; x1 and y1 exclusive
    digits: tuple[np.ndarray, ...] = ()  # each digit's own ink, cropped to its box, black on white


def font_file(typeface: str) -> Path:
    """The WOFF file of `typeface`'s regular latin face."""
    return FONTS / typeface / "files" / f"{typeface}-latin-400-normal.woff"


def typeset(
    text: str, typeface: str, rng: np.random.Generator, *, size: int | None = None, joined: bool | None = None
) -> TypesetNumber:
    """`text` (digits) in `typeface` at a random size (pixels per em, unless given), slant and pen.

    Args:
        joined: set the digits close enough to touch (by default: when the typeface is cursive).
    """
    size = size or int(rng.integers(70, 140))
    joined = typeface in CURSIVE if joined is None else joined
    font = _font(typeface, size)
    pen = int(rng.integers(0, PEN + 1))
    slant = float(rng.uniform(-SLANT, SLANT))
    layers, x = [], size // 2
    for character in text:
        layer = Image.new("L", (round(size * (len(text) + 2)), 2 * size), 0)
        ImageDraw.Draw(layer).text(
            (x, size // 2), character, font=font, fill=255, stroke_width=pen, stroke_fill=255
        )
        layers.append(layer)
        tracking = rng.uniform(0.8, 0.95) if joined else rng.uniform(1.05, 1.3)
        x += round(font.getlength(character) * tracking)
    # Lean every layer alike about the middle row: x' = x + slant × (y - middle).
    sheared = [
        layer.transform(layer.size, Image.AFFINE, (1, slant, -slant * size, 0, 1, 0), Image.BILINEAR)
        for layer in layers
    ]
    canvas = np.max([np.asarray(layer) for layer in sheared], axis=0)
    rows, columns = np.flatnonzero(canvas.any(axis=1)), np.flatnonzero(canvas.any(axis=0))
    margin = rng.integers(size // 8, size // 3 + 1, size=4)
    top, left = rows[0] - margin[0], columns[0] - margin[1]
    canvas = np.pad(canvas, size)[
        top + size : rows[-1] + 1 + margin[2] + size, left + size : columns[-1] + 1 + margin[3] + size
    ]
    boxes, digits = [], []
    for layer in sheared:
        x0, y0, x1, y1 = layer.getbbox()
        boxes.append((int(x0 - left), int(y0 - top), int(x1 - left), int(y1 - top)))
        digits.append(255 - np.asarray(layer.crop((x0, y0, x1, y1))))
    return TypesetNumber(255 - canvas, text, typeface, boxes, tuple(digits))


def typeset_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` single digits, typefaces in turn, each SIDE×SIDE black on white at a random height
    (a third to three quarters of the side), place and slant.

    Returns:
        images (count, SIDE, SIDE) uint8 and labels (count,) int.
    """
    rng = np.random.default_rng([seed, 1])
    labels = rng.integers(0, 10, count)
    images = np.full((count, SIDE, SIDE), 255, np.uint8)
    for index, label in enumerate(labels):
        typeface = TYPEFACES[index % len(TYPEFACES)]
        ink = _crop(255 - typeset(str(label), typeface, rng, size=SIDE).image)
        tall = rng.uniform(1 / 3, 3 / 4) * SIDE
        scale = min(tall / ink.shape[0], 0.9 * SIDE / ink.shape[1])
        ink = np.asarray(
            Image.fromarray(ink).resize(
                (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale))), Image.BILINEAR
            )
        )
        y = int(rng.integers(0, SIDE - ink.shape[0] + 1))
        x = int(rng.integers(0, SIDE - ink.shape[1] + 1))
        images[index, y : y + ink.shape[0], x : x + ink.shape[1]] = 255 - ink
    return images, labels


def typeset_numbers(
    count: int, seed: int = 0, lengths: tuple[int, ...] = (2, 3, 4, 5), typefaces: tuple[str, ...] = TYPEFACES
) -> list[TypesetNumber]:
    """`count` numbers of random digits, lengths and typefaces in turn."""
    rng = np.random.default_rng([seed, 2])
    numbers = []
    for index in range(count):
        text = "".join(str(digit) for digit in rng.integers(0, 10, lengths[index % len(lengths)]))
        numbers.append(typeset(text, typefaces[index % len(typefaces)], rng))
    return numbers


@cache
def _font(typeface: str, size: int) -> ImageFont.FreeTypeFont:
    path = font_file(typeface)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `npm ci` (the fonts are devDependencies)")
    return ImageFont.truetype(str(path), size)


def _crop(ink: np.ndarray) -> np.ndarray:
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]

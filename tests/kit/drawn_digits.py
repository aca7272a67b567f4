"""Digits drawn the way people draw on a canvas: an out-of-MNIST check set, generated from a seed.

Each digit is a few pen strokes from hand-written templates (2–4 ways of writing each digit),
randomly sized, placed, slanted, rotated, squeezed, jittered and drawn with a pen 3–40 px wide
on a 280×280 canvas. The templates were written from how people form digits and then frozen:
they must never be tuned to make some model look good.

    python -m tests.kit.drawn_digits --out DIR --count N
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from training.reading.predictor import Predictor

CANVAS = 280
# Rendered at twice the size and shrunk, for anti-aliased edges like a browser canvas draws.
SUPERSAMPLE = 2
PEN_WIDTH_PX = (3.0, 40.0)
HEIGHT_SHARE = (0.30, 0.95)
# A 40 px pen on an 84 px digit fills it in; nobody draws like that, so the pen is at most this
# share of the digit's height.
MAX_PEN_SHARE = 0.2
MAX_SLANT_DEG = 20.0
MAX_ROTATION_DEG = 10.0
ASPECT_RANGE = (0.8, 1.2)
# Digits are about 0.6 times as wide as they are tall.
BASE_ASPECT = 0.6
JITTER = 0.025  # of the digit's height: a wobbly hand
STYLES = ("white-on-black", "black-on-white", "transparent-white", "transparent-black")

Stroke = list[tuple[float, float]]


# --- Templates: strokes in a unit box, x to the right, y down --------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float) -> Stroke:
    """An elliptical arc; angles grow clockwise on screen (y points down), 0° is to the right."""
    count = max(8, int(abs(end_deg - start_deg) / 6))
    angles = np.radians(np.linspace(start_deg, end_deg, count))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _bezier(*points: tuple[float, float], count: int = 24) -> Stroke:
    """A Bézier curve through its end points, pulled towards the control points between them."""
    controls = np.array(points)
    t = np.linspace(0, 1, count)[:, None]
    n = len(controls) - 1
    curve = sum(math.comb(n, k) * t**k * (1 - t) ** (n - k) * controls[k] for k in range(n + 1))
    return [tuple(p) for p in curve]


def _eight_single_stroke() -> Stroke:
    t = np.linspace(0, 2 * math.pi, 72)
    # A figure of eight in one stroke: two lobes that cross in the middle (a Gerono lemniscate).
    return [(0.5 + 0.4 * math.sin(2 * a), 0.5 - 0.5 * math.cos(a)) for a in t]


TEMPLATES: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.5, 0.5, -90, 270)],
        [_arc(0.5, 0.5, 0.46, 0.5, -60, 330)],  # overshoots where it started
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.2, 0.25), (0.5, 0.0), (0.5, 1.0)]],  # with a flag
        [[(0.2, 0.25), (0.5, 0.0), (0.5, 1.0)], [(0.15, 1.0), (0.85, 1.0)]],  # flag and base
    ],
    2: [
        [[*_arc(0.5, 0.3, 0.45, 0.3, 200, 380), (0.0, 1.0), (1.0, 1.0)]],
        # With a loop at the bottom.
        [[*_arc(0.5, 0.3, 0.45, 0.3, 200, 380), (0.12, 0.88), *_arc(0.2, 0.9, 0.1, 0.1, -30, 250),
          (1.0, 0.95)]],
        [_arc(0.5, 0.25, 0.42, 0.25, 190, 360) + _bezier((0.92, 0.25), (0.7, 0.65), (0.0, 1.0))
         + [(1.0, 0.98)]],
    ],
    3: [
        [_arc(0.5, 0.27, 0.42, 0.27, 200, 450) + _arc(0.5, 0.73, 0.48, 0.27, -90, 160)],
        [[(0.05, 0.0), (0.95, 0.0), (0.45, 0.4), *_arc(0.5, 0.7, 0.48, 0.3, -110, 160)]],  # flat top
    ],
    4: [
        [[(0.35, 0.0), (0.0, 0.62), (1.0, 0.62)], [(0.72, 0.25), (0.72, 1.0)]],  # open
        [[(0.75, 0.0), (0.0, 0.65), (1.0, 0.65)], [(0.75, 0.0), (0.75, 1.0)]],  # closed
        [[(0.1, 0.0), (0.1, 0.55), (0.95, 0.55)], [(0.75, 0.0), (0.75, 1.0)]],  # open, square
    ],
    5: [
        [[(0.15, 0.0), (0.08, 0.47), *_arc(0.45, 0.7, 0.5, 0.3, -140, 150)], [(0.15, 0.0), (0.9, 0.0)]],
        [[(0.9, 0.0), (0.15, 0.0), (0.08, 0.47), *_arc(0.45, 0.7, 0.5, 0.3, -140, 150)]],  # one stroke
    ],
    6: [
        [_bezier((0.8, 0.0), (0.1, 0.2), (0.05, 0.7)) + _arc(0.5, 0.7, 0.45, 0.3, 180, -160)],
        [[(0.7, 0.0), (0.08, 0.65), *_arc(0.5, 0.7, 0.45, 0.3, 180, -160)]],
    ],
    7: [
        [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
        [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)], [(0.3, 0.5), (0.85, 0.5)]],  # with a bar
        [[(0.0, 0.05), (1.0, 0.0), *_bezier((1.0, 0.0), (0.5, 0.45), (0.3, 1.0))]],  # curved stem
    ],
    8: [
        [_arc(0.5, 0.25, 0.36, 0.25, 0, 360), _arc(0.5, 0.72, 0.45, 0.28, 0, 360)],
        [_eight_single_stroke()],
    ],
    9: [
        [[*_arc(0.45, 0.28, 0.42, 0.28, 0, -360), (0.87, 0.28), (0.82, 1.0)]],
        [_arc(0.45, 0.28, 0.42, 0.28, 0, -360) + _bezier((0.87, 0.28), (0.9, 0.8), (0.4, 1.0))],
    ],
}


# --- Drawing ------------------------------------------------------------------------------------


def make_drawn_digits(count: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` drawn digits, white ink on black: uint8 images (N, 280, 280) and labels (N,).

    The same seed always gives the same digits; labels cycle through 0..9 in random order.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
    images = np.zeros((count, CANVAS, CANVAS), np.uint8)
    for index, label in enumerate(labels):
        images[index] = _draw(int(label), rng)
    return images, labels


def _draw(digit: int, rng: np.random.Generator) -> np.ndarray:
    strokes = TEMPLATES[digit][rng.integers(len(TEMPLATES[digit]))]
    height = rng.uniform(*HEIGHT_SHARE) * CANVAS
    width = height * BASE_ASPECT * rng.uniform(*ASPECT_RANGE)
    pen = min(rng.uniform(*PEN_WIDTH_PX), max(PEN_WIDTH_PX[0], MAX_PEN_SHARE * height))
    slant = math.tan(math.radians(rng.uniform(-MAX_SLANT_DEG, MAX_SLANT_DEG)))
    angle = math.radians(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))
    cos, sin = math.cos(angle), math.sin(angle)

    placed = []
    for stroke in strokes:
        points = np.array(stroke, dtype=np.float64)
        points = points + _wobble(len(points), rng)
        x = (points[:, 0] - 0.5) * width
        y = (points[:, 1] - 0.5) * height
        x = x - y * slant  # a positive slant leans the top to the right
        placed.append(np.stack([x * cos - y * sin, x * sin + y * cos], axis=1))

    everything = np.concatenate(placed)
    low, high = everything.min(axis=0) - pen / 2, everything.max(axis=0) + pen / 2
    room = CANVAS - (high - low)
    offset = np.where(room > 0, rng.uniform(0, 1, 2) * np.maximum(room, 0), room / 2) - low

    return pen_image([points + offset for points in placed], pen, CANVAS)


def pen_image(paths: list[np.ndarray], pen: float, size: int, *, round_joints: bool = False) -> np.ndarray:
    """Polylines (each (K, 2), in pixels) drawn white on black on a `size`×`size` uint8 canvas with
    a round pen `pen` pixels wide, anti-aliased as a browser canvas draws (at twice the size, shrunk).

    `round_joints`: a round dot at every point, not only at the ends (a resampled stroke's joints).
    """
    canvas = Image.new("L", (size * SUPERSAMPLE, size * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(canvas)
    radius = pen * SUPERSAMPLE / 2
    for points in paths:
        path = [tuple(p) for p in points * SUPERSAMPLE]
        draw.line(path, fill=255, width=max(1, round(pen * SUPERSAMPLE)), joint="curve")
        for x, y in path if round_joints else (path[0], path[-1]):  # round caps, as a canvas pen has
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(canvas.resize((size, size), Image.BOX))


def _wobble(count: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth per-point jitter: random offsets at a few knots, interpolated along the stroke."""
    knots = max(2, min(count, 5))
    offsets = rng.normal(0, JITTER, (knots, 2))
    where = np.linspace(0, 1, count)
    at = np.linspace(0, 1, knots)
    return np.stack([np.interp(where, at, offsets[:, 0]), np.interp(where, at, offsets[:, 1])], axis=1)


def canvas_image(ink: np.ndarray, style: str) -> Image.Image:
    """A drawing as a canvas or a scan would hand it over: `style` is one of STYLES."""
    if style == "white-on-black":
        return Image.fromarray(ink, "L")
    if style == "black-on-white":
        return Image.fromarray(255 - ink, "L").convert("RGB")
    if style in ("transparent-white", "transparent-black"):
        colour = 255 if style == "transparent-white" else 0
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = ink
        return Image.fromarray(rgba, "RGBA")
    raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")


def styles_for(count: int, seed: int = 0) -> list[str]:
    """The canvas style of each drawn digit, varied but fixed by the seed."""
    rng = np.random.default_rng([seed, 1])
    return [STYLES[i] for i in rng.integers(len(STYLES), size=count)]


# --- Evaluation ---------------------------------------------------------------------------------


def plain_resize(image: Image.Image) -> np.ndarray:
    """The naive way: the canvas's ink shrunk to 28×28 as it is (no cropping, centring, pen fix)."""
    from training.data.ink import ink_map

    ink = Image.fromarray(ink_map(image), "F")
    return np.asarray(ink.resize((28, 28), Image.BOX), dtype=np.float32)


def evaluate_drawn(predictor: Predictor, count: int = 1000, seed: int = 0,
                   preprocess: Callable[[Image.Image], np.ndarray] | None = None) -> float:
    """Accuracy of `predictor` on `count` drawn digits, preprocessed by `to_mnist` by default."""
    from training.data.preprocess import to_mnist

    preprocess = preprocess or to_mnist
    images, labels = make_drawn_digits(count, seed)
    inputs = np.stack([preprocess(canvas_image(image, style))
                       for image, style in zip(images, styles_for(count, seed), strict=True)])
    predicted = predictor.probabilities_batch(inputs).argmax(axis=1)
    return float((predicted == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kit.drawn_digits",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the PNG files")
    parser.add_argument("--count", type=int, default=100, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be 0 or more")
    images, labels = make_drawn_digits(args.count, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for index, (image, label, style) in enumerate(
            zip(images, labels, styles_for(args.count, args.seed), strict=True)):
        canvas_image(image, style).save(args.out / f"{index:05d}-digit{label}-{style}.png")
    print(f"Wrote {args.count} drawn digits to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A harder check set: the ways people write digits that MNIST under-represents, one style at a time.

Shapes: European 1s (flag and base), crossed 7s, open-top 4s, straight-stem 9s, closed and open
6s, flat-top 3s. Pens and hands (any digit, from `tests.kit.drawn_digits`'s templates): very thick
marker, very thin pen, small digits off-centre, slant of 20–30°, broken strokes (pen lifted),
overdrawn strokes (traced twice), and blurry low-resolution scans scaled up. Fixed seed, labels by
construction; the templates and ranges were written from how people write and then frozen: they
must never be tuned to make some model look good (or bad).

    python -m tests.kit.hard_digits --out DIR             # write the PNG files
    python -m tests.kit.hard_digits --evaluate [--models DIR] [--model RUN_ID]   # per-style accuracy
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.kit.drawn_digits import TEMPLATES, _arc, _bezier, _wobble

if TYPE_CHECKING:
    from training.reading.predictor import Predictor

CANVAS = 280
SUPERSAMPLE = 2
BASE_ASPECT = 0.6
PER_STYLE = 200

Stroke = list[tuple[float, float]]


@dataclass(frozen=True)
class Hand:
    """How one digit is put on the canvas: size, pen, slant and the quirks of the hand."""

    height_share: tuple[float, float] = (0.45, 0.9)
    pen_px: tuple[float, float] = (8.0, 22.0)
    slant_deg: tuple[float, float] = (-15.0, 15.0)
    rotation_deg: tuple[float, float] = (-8.0, 8.0)
    jitter: float = 0.025
    broken: bool = False
    overdrawn: bool = False
    edge: bool = False  # placed near an edge or a corner rather than anywhere


# --- Shapes MNIST has few of: strokes in a unit box, x to the right, y down ---------------------


def european_one(rng: np.random.Generator) -> list[Stroke]:
    """A long flag from the top down to the left, usually a base."""
    top_x = rng.uniform(0.55, 0.7)
    flag = (rng.uniform(0.0, 0.2), rng.uniform(0.2, 0.45))
    bottom_x = top_x + rng.uniform(-0.05, 0.05)
    strokes = [[flag, (top_x, 0.0), (bottom_x, 1.0)]]
    if rng.random() < 0.75:
        half = rng.uniform(0.3, 0.45)
        strokes.append([(bottom_x - half, 1.0), (bottom_x + half, 1.0)])
    return strokes


def crossed_seven(rng: np.random.Generator) -> list[Stroke]:
    """A bar across the stem; often a serif hanging from the top-left, sometimes a curved stem."""
    foot = (rng.uniform(0.2, 0.45), 1.0)
    top = [(0.0, 0.0), (1.0, 0.0)]
    if rng.random() < 0.5:
        top.insert(0, (0.0, rng.uniform(0.1, 0.2)))
    if rng.random() < 0.5:
        stem = _bezier((1.0, 0.0), (rng.uniform(0.45, 0.7), rng.uniform(0.35, 0.55)), foot)
    else:
        stem = [(1.0, 0.0), foot]
    t = rng.uniform(0.45, 0.6)
    middle = (1.0 + (foot[0] - 1.0) * t, t)
    half = rng.uniform(0.22, 0.35)
    bar = [(middle[0] - half, middle[1]), (middle[0] + half, middle[1] + rng.uniform(-0.04, 0.04))]
    return [top + stem[1:], bar]


def open_top_four(rng: np.random.Generator) -> list[Stroke]:
    """The two downstrokes never meet at the top; the right one is long."""
    bar_y = rng.uniform(0.5, 0.68)
    stem_x = rng.uniform(0.65, 0.8)
    left_top = (rng.uniform(0.05, 0.4), rng.uniform(0.0, 0.1))
    return [
        [left_top, (rng.uniform(0.0, 0.1), bar_y), (1.0, bar_y + rng.uniform(-0.04, 0.02))],
        [(stem_x, rng.uniform(0.0, 0.25)), (stem_x + rng.uniform(-0.06, 0.03), 1.0)],
    ]


def straight_stem_nine(rng: np.random.Generator) -> list[Stroke]:
    """A round head and a straight, vertical stem down from its right side."""
    radius_y = rng.uniform(0.17, 0.28)
    cx, cy = 0.45, radius_y
    head = _arc(cx, cy, 0.42, radius_y, 0, -360)
    stem_x = cx + 0.42 + rng.uniform(-0.05, 0.03)
    start_y = cy + rng.uniform(-0.8, 0.2) * radius_y
    return [[*head, (stem_x, start_y), (stem_x + rng.uniform(-0.04, 0.04), 1.0)]]


def closed_six(rng: np.random.Generator) -> list[Stroke]:
    """The stroke comes round and runs back into the stem, closing the loop."""
    loop_y, ry, stem = _six_stem(rng)
    return [stem + _arc(0.5, loop_y, 0.45, ry, 180, -160 - rng.uniform(0, 40))]


def _six_stem(rng: np.random.Generator) -> tuple[float, float, Stroke]:
    """Where a 6's loop sits, its half-height, and the stem curving down into it."""
    loop_y = 1.0 - rng.uniform(0.25, 0.35)
    top = (rng.uniform(0.65, 0.85), 0.0)
    return loop_y, 1.0 - loop_y, _bezier(top, (rng.uniform(0.0, 0.2), rng.uniform(0.2, 0.4)), (0.05, loop_y))


def open_six(rng: np.random.Generator) -> list[Stroke]:
    """The loop stops short of the stem: a gap between the end of the stroke and its start."""
    loop_y, ry, stem = _six_stem(rng)
    return [stem + _arc(0.5, loop_y, 0.45, ry, 180, -rng.uniform(60, 100))]


def flat_top_three(rng: np.random.Generator) -> list[Stroke]:
    """A flat bar at the top, a diagonal to the middle, then one round bowl."""
    middle = (rng.uniform(0.3, 0.5), rng.uniform(0.35, 0.48))
    ry = (1.0 - middle[1]) / 2
    bowl = _arc(0.5, 1.0 - ry, 0.48, ry, -110, rng.uniform(140, 170))
    return [[(rng.uniform(0.0, 0.1), 0.0), (1.0, 0.0), middle, *bowl]]


def any_digit(digit: int) -> Callable[[np.random.Generator], list[Stroke]]:
    def strokes(rng: np.random.Generator) -> list[Stroke]:
        return TEMPLATES[digit][rng.integers(len(TEMPLATES[digit]))]

    return strokes


# --- The styles ---------------------------------------------------------------------------------

SHAPES: dict[str, tuple[int, Callable[[np.random.Generator], list[Stroke]]]] = {
    "european-1": (1, european_one),
    "crossed-7": (7, crossed_seven),
    "open-top-4": (4, open_top_four),
    "straight-stem-9": (9, straight_stem_nine),
    "closed-6": (6, closed_six),
    "open-6": (6, open_six),
    "flat-top-3": (3, flat_top_three),
}
HANDS: dict[str, Hand] = {
    "marker": Hand(pen_px=(0.0, 0.0)),  # pen set from the height below
    "thin-pen": Hand(pen_px=(1.0, 2.0)),
    "small-off-centre": Hand(height_share=(0.08, 0.16), pen_px=(2.0, 4.5), edge=True),
    "slant-30": Hand(slant_deg=(20.0, 30.0)),  # either way
    "broken": Hand(broken=True),
    "overdrawn": Hand(overdrawn=True),
}
SCAN = "blurry-scan"
STYLES = (*SHAPES, *HANDS, SCAN)
MARKER_PEN_SHARE = (0.22, 0.32)  # of the digit's height


def make_hard_digits(per_style: int = PER_STYLE, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`per_style` images of every style: uint8 (N, 280, 280), labels (N,), style names (N,).

    Strokes are light ink on black; scans are dark ink on grey paper, as a scanner gives them.
    The same seed always gives the same images.
    """
    images, labels, styles = [], [], []
    for number, style in enumerate(STYLES):
        rng = np.random.default_rng([seed, number])
        digits = rng.permutation(np.arange(per_style) % 10)
        for digit in digits:
            image, label = _make(style, int(digit), rng)
            images.append(image)
            labels.append(label)
            styles.append(style)
    return np.stack(images), np.array(labels, np.uint8), np.array(styles)


def _make(style: str, digit: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    if style in SHAPES:
        label, shape = SHAPES[style]
        return render(shape(rng), rng, Hand()), label
    if style == SCAN:
        return blurry_scan(any_digit(digit)(rng), rng), digit
    hand = HANDS[style]
    strokes = any_digit(digit)(rng)
    if style == "marker":
        return render(strokes, rng, hand, pen_share=MARKER_PEN_SHARE), digit
    if style == "slant-30":
        sign = rng.choice([-1.0, 1.0])
        return render(strokes, rng, hand, slant_sign=sign), digit
    return render(strokes, rng, hand), digit


# --- Drawing ------------------------------------------------------------------------------------


def render(strokes: list[Stroke], rng: np.random.Generator, hand: Hand, *,
           pen_share: tuple[float, float] | None = None, slant_sign: float = 1.0,
           canvas: int = CANVAS, aspect: float = BASE_ASPECT) -> np.ndarray:
    """Strokes drawn by `hand` with round caps on a black `canvas`² square: uint8, ink 255.

    The unit box of the strokes becomes `aspect` times as wide as it is tall.
    """
    height = rng.uniform(*hand.height_share) * canvas
    width = min(height * aspect * rng.uniform(0.85, 1.15), 0.95 * canvas)
    pen = height * rng.uniform(*pen_share) if pen_share else rng.uniform(*hand.pen_px) * canvas / CANVAS
    slant = math.tan(math.radians(slant_sign * rng.uniform(*hand.slant_deg)))
    angle = math.radians(rng.uniform(*hand.rotation_deg))
    cos, sin = math.cos(angle), math.sin(angle)

    placed = []
    for stroke in strokes:
        copies = 2 if hand.overdrawn else 1
        shift = rng.normal(0, 0.03, 2) if hand.overdrawn else np.zeros(2)
        for copy in range(copies):
            points = np.array(stroke, dtype=np.float64) + _wobble(len(stroke), rng) * hand.jitter / 0.025
            points = points + shift * copy
            if hand.broken:
                points = _densify(points)
            x = (points[:, 0] - 0.5) * width
            y = (points[:, 1] - 0.5) * height
            x = x - y * slant
            xy = np.stack([x * cos - y * sin, x * sin + y * cos], axis=1)
            placed.extend(_break(xy, rng) if hand.broken else [xy])

    everything = np.concatenate(placed)
    low, high = everything.min(axis=0) - pen / 2, everything.max(axis=0) + pen / 2
    room = np.maximum(canvas - (high - low), 0)
    where = rng.choice([0.0, 1.0], 2) * 0.9 + rng.uniform(0, 0.1, 2) if hand.edge else rng.uniform(0, 1, 2)
    offset = where * room - low

    image = Image.new("L", (canvas * SUPERSAMPLE, canvas * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(image)
    radius = pen * SUPERSAMPLE / 2
    for points in placed:
        path = [tuple(p) for p in (points + offset) * SUPERSAMPLE]
        draw.line(path, fill=255, width=max(1, round(pen * SUPERSAMPLE)), joint="curve")
        # Round caps, as a canvas pen has (and round joints where a broken stroke was resampled).
        for x, y in path if hand.broken else (path[0], path[-1]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image.resize((canvas, canvas), Image.BOX))


def _densify(points: np.ndarray, step: float = 0.02) -> np.ndarray:
    """Points every `step` (unit-box lengths) along a polyline, so that gaps can fall anywhere."""
    lengths = np.hypot(*np.diff(points, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    if along[-1] == 0:
        return points
    where = np.linspace(0, along[-1], max(2, int(along[-1] / step) + 1))
    return np.stack([np.interp(where, along, points[:, 0]), np.interp(where, along, points[:, 1])], axis=1)


def _break(points: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """The pen lifted once or twice along the stroke: gaps of 6–12% of the stroke's length."""
    count = len(points)
    if count < 12:
        return [points]
    pieces, start = [], 0
    for centre in np.sort(rng.uniform(0.2, 0.8, rng.integers(1, 3))):
        gap = max(1, int(count * rng.uniform(0.06, 0.12)))
        cut = int(centre * count)
        if cut - gap // 2 > start + 1:
            pieces.append(points[start:cut - gap // 2])
            start = cut + gap - gap // 2
    pieces.append(points[start:])
    return [piece for piece in pieces if len(piece) >= 2]


def blurry_scan(strokes: list[Stroke], rng: np.random.Generator) -> np.ndarray:
    """A digit scanned at low resolution (digit 10–16 px tall), blurred, noisy, then scaled up."""
    small = int(rng.integers(16, 25))
    hand = Hand(height_share=(0.55, 0.75), pen_px=(2.0 * CANVAS / small, 3.0 * CANVAS / small))
    ink = Image.fromarray(render(strokes, rng, hand, canvas=small * 4), "L").resize((small, small), Image.BOX)
    ink = np.asarray(ink.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.0))), np.float32) / 255
    paper, pen = rng.uniform(0.7, 0.95), rng.uniform(0.05, 0.35)
    scan = paper - (paper - pen) * np.clip(ink / max(float(ink.max()), 1e-6), 0, 1)
    scan = scan + rng.normal(0, rng.uniform(0.01, 0.04), scan.shape)
    grey = Image.fromarray(np.clip(scan * 255, 0, 255).astype(np.uint8), "L")
    return np.asarray(grey.resize((CANVAS, CANVAS), Image.BILINEAR))


# --- Evaluation ---------------------------------------------------------------------------------


def hard_inputs(per_style: int = PER_STYLE, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The check set as the model sees it: `to_mnist` images (N, 28, 28), labels, style names."""
    from training.data.preprocess import to_mnist

    images, labels, styles = make_hard_digits(per_style, seed)
    inputs = np.stack([to_mnist(Image.fromarray(image, "L")) for image in images])
    return inputs, labels, styles


def per_style_accuracy(predicted: np.ndarray, labels: np.ndarray, styles: np.ndarray) -> dict[str, float]:
    """Accuracy of each style, in STYLES order, then "overall"."""
    correct = predicted == labels
    result = {style: float(correct[styles == style].mean()) for style in STYLES if (styles == style).any()}
    result["overall"] = float(correct.mean())
    return result


def evaluate_hard(predictor: Predictor, per_style: int = PER_STYLE, seed: int = 0) -> dict[str, float]:
    """Per-style and overall accuracy of `predictor` on the check set."""
    inputs, labels, styles = hard_inputs(per_style, seed)
    return per_style_accuracy(predictor.probabilities_batch(inputs).argmax(axis=1), labels, styles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kit.hard_digits",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="write the PNG files here")
    parser.add_argument("--evaluate", action="store_true", help="print each style's accuracy as JSON")
    parser.add_argument("--models", type=Path, default=None, metavar="DIR", help="model store folder")
    parser.add_argument("--model", default=None, metavar="RUN_ID", help="default: the active run")
    parser.add_argument("--per-style", type=int, default=PER_STYLE, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.out is None and not args.evaluate:
        parser.error("give --out DIR and/or --evaluate")
    if args.per_style < 1:
        parser.error("--per-style must be 1 or more")
    if args.out is not None:
        images, labels, styles = make_hard_digits(args.per_style, args.seed)
        args.out.mkdir(parents=True, exist_ok=True)
        for index, (image, label, style) in enumerate(zip(images, labels, styles, strict=True)):
            Image.fromarray(image, "L").save(args.out / f"{index:05d}-{style}-digit{label}.png")
        print(f"Wrote {len(images)} hard digits ({len(STYLES)} styles) to {args.out}")
    if args.evaluate:
        from training.reading.for_run import load_predictor
        from training.runs.store import ModelStore

        predictor = load_predictor(ModelStore(args.models), args.model)
        accuracy = evaluate_hard(predictor, args.per_style, args.seed)
        print(json.dumps({"run_id": predictor.run_id, "accuracy": accuracy}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from tests.kit.hard_digit_pen import BASE_ASPECT as BASE_ASPECT
from tests.kit.hard_digit_pen import CANVAS as CANVAS
from tests.kit.hard_digit_pen import Hand, Stroke, blurry_scan, render
from tests.kit.hard_digit_shapes import (
    any_digit,
    closed_six,
    crossed_seven,
    european_one,
    flat_top_three,
    open_six,
    open_top_four,
    straight_stem_nine,
)

if TYPE_CHECKING:
    from training.reading.predictor import Predictor

PER_STYLE = 200


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

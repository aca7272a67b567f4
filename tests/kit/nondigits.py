"""Drawings that are not one digit: scribbles, letters, pairs of digits, dashes and smudges.

What a user may put on the Draw page that the model should answer with doubt rather than a
digit. Generated from a seed with the same pen as `tests.kit.hard_digits`; written once from what
people draw and then frozen, never tuned to a model.

    python -m tests.kit.nondigits --out DIR [--per-kind N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from tests.kit.drawn_digits import TEMPLATES, _arc, _bezier
from tests.kit.hard_digits import CANVAS, Hand, Stroke, render

PER_KIND = 100

# Capital letters as people print them, unit box, y down. Letters that are written like a digit
# (O, I, l, S, Z, B, G) are left out: reading them as 0, 1, 5, 2, 8, 6 is no mistake.
LETTERS: dict[str, list[Stroke]] = {
    "A": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.22, 0.58), (0.78, 0.58)]],
    "E": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0)], [(0.0, 0.5), (0.75, 0.5)]],
    "F": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0)], [(0.0, 0.5), (0.75, 0.5)]],
    "H": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (1.0, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
    "K": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (0.0, 0.6)], [(0.3, 0.42), (1.0, 1.0)]],
    "M": [[(0.0, 1.0), (0.05, 0.0), (0.5, 0.65), (0.95, 0.0), (1.0, 1.0)]],
    "N": [[(0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0)]],
    "R": [[(0.0, 1.0), (0.0, 0.0), *_arc(0.45, 0.25, 0.45, 0.25, -90, 90), (0.0, 0.5), (1.0, 1.0)]],
    "T": [[(0.0, 0.0), (1.0, 0.0)], [(0.5, 0.0), (0.5, 1.0)]],
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)]],
    "X": [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]],
    "Y": [[(0.0, 0.0), (0.5, 0.5), (1.0, 0.0)], [(0.5, 0.5), (0.5, 1.0)]],
    "e": [[(0.05, 0.55), (0.95, 0.55), *_arc(0.5, 0.55, 0.45, 0.45, 0, -300)]],
    "h": [[(0.1, 0.0), (0.1, 1.0)], [(0.1, 0.65), *_bezier((0.1, 0.65), (0.5, 0.2), (0.9, 0.5)), (0.9, 1.0)]],
    "m": [[(0.0, 1.0), (0.0, 0.3), *_bezier((0.0, 0.45), (0.25, 0.1), (0.5, 0.45)), (0.5, 1.0)],
          [(0.5, 0.45), *_bezier((0.5, 0.45), (0.75, 0.1), (1.0, 0.45)), (1.0, 1.0)]],
    "x": [[(0.0, 0.3), (1.0, 1.0)], [(1.0, 0.3), (0.0, 1.0)]],
}
KINDS = ("scribble", "letter", "two-digits", "dash", "smudge")


def make_nondigits(per_kind: int = PER_KIND, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_kind` drawings of every kind: uint8 (N, 280, 280) light ink on black, and kind names."""
    images, kinds = [], []
    for number, kind in enumerate(KINDS):
        rng = np.random.default_rng([seed, 100 + number])
        for _ in range(per_kind):
            images.append(MAKERS[kind](rng))
            kinds.append(kind)
    return np.stack(images), np.array(kinds)


def scribble(rng: np.random.Generator) -> np.ndarray:
    """One to three wandering strokes: a loose random walk, smoothed."""
    strokes = []
    for _ in range(rng.integers(1, 4)):
        knots = rng.uniform(0, 1, (int(rng.integers(4, 9)), 2))
        strokes.append(_smooth(knots))
    return render(strokes, rng, Hand(), aspect=rng.uniform(0.7, 1.4))


def letter(rng: np.random.Generator) -> np.ndarray:
    names = list(LETTERS)
    strokes = LETTERS[names[rng.integers(len(names))]]
    return render(strokes, rng, Hand(), aspect=rng.uniform(0.7, 1.0))


def two_digits(rng: np.random.Generator) -> np.ndarray:
    """Two digits side by side, as in "12" or "47"."""
    strokes = []
    gap = rng.uniform(0.05, 0.3)
    for place in range(2):
        digit = int(rng.integers(10))
        template = TEMPLATES[digit][rng.integers(len(TEMPLATES[digit]))]
        left = place * (1 + gap) / (2 + gap)
        strokes += [[(left + x / (2 + gap), y) for x, y in stroke] for stroke in template]
    return render(strokes, rng, Hand(), aspect=0.6 * (2 + gap))


def dash(rng: np.random.Generator) -> np.ndarray:
    """A horizontal (or slightly tilted) line."""
    tilt = rng.uniform(-0.3, 0.3)
    stroke = [(0.0, 0.5 - tilt), (1.0, 0.5 + tilt)]
    hand = Hand(height_share=(0.05, 0.1), rotation_deg=(-10, 10))
    return render([stroke], rng, hand, aspect=rng.uniform(4, 9))


def smudge(rng: np.random.Generator) -> np.ndarray:
    """A rubbed-in blob: short thick strokes over one another, blurred."""
    strokes = [_smooth(rng.uniform(0.2, 0.8, (3, 2))) for _ in range(rng.integers(2, 5))]
    image = render(strokes, rng, Hand(height_share=(0.2, 0.45)), pen_share=(0.2, 0.4), aspect=1.0)
    return np.asarray(Image.fromarray(image, "L").filter(ImageFilter.GaussianBlur(rng.uniform(4, 10))))


def _smooth(knots: np.ndarray) -> Stroke:
    """A Catmull-Rom-like curve through the knots (quadratic Bézier between midpoints)."""
    points = [tuple(knots[0])]
    for a, b, c in zip(knots, knots[1:], knots[2:], strict=False):
        points += _bezier(tuple((a + b) / 2), tuple(b), tuple((b + c) / 2), count=10)
    points.append(tuple(knots[-1]))
    return points


MAKERS = {"scribble": scribble, "letter": letter, "two-digits": two_digits, "dash": dash, "smudge": smudge}


def nondigits_of_kind(kind: str, count: int, seed: int = 7) -> np.ndarray:
    """`count` non-digits of one kind, drawn from the tests' own seed (not the benchmark's 0)."""
    rng = np.random.default_rng(seed)
    return np.stack([MAKERS[kind](rng) for _ in range(count)])


def nondigit_inputs(per_kind: int = PER_KIND, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The non-digits as the model sees them (`to_mnist`), and their kinds."""
    from training.data.preprocess import EmptyDrawingError, to_mnist

    images, kinds = make_nondigits(per_kind, seed)
    inputs, kept = [], []
    for image, kind in zip(images, kinds, strict=True):
        try:
            inputs.append(to_mnist(Image.fromarray(image, "L")))
            kept.append(kind)
        except EmptyDrawingError:  # never happens with these pens; an empty drawing is no answer
            continue
    return np.stack(inputs), np.array(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kit.nondigits",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--per-kind", type=int, default=PER_KIND, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.per_kind < 1:
        parser.error("--per-kind must be 1 or more")
    images, kinds = make_nondigits(args.per_kind, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for index, (image, kind) in enumerate(zip(images, kinds, strict=True)):
        Image.fromarray(image, "L").save(args.out / f"{index:05d}-{kind}.png")
    print(f"Wrote {len(images)} non-digits ({', '.join(KINDS)}) to {args.out}; canvas {CANVAS} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The shapes of the hard check set (`tests.kit.hard_digits`) that MNIST has few of, each drawn from
a seed as strokes in a unit box (x to the right, y down), and any digit from
`tests.kit.drawn_digits`'s templates for the styles of pen and hand."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.kit.drawn_digits import TEMPLATES, _arc, _bezier
from tests.kit.hard_digit_pen import Stroke


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

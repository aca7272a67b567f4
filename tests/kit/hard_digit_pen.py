"""The pen of the hard check set (`tests.kit.hard_digits`): how a hand puts strokes on the canvas
(size, pen width, slant, rotation, jitter, broken or overdrawn strokes, placed near an edge), and
a low-resolution blurry scan of a digit. Also the pen `tests.kit.nondigits` draws with."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from tests.kit.drawn_digits import _wobble, pen_image

CANVAS = 280
BASE_ASPECT = 0.6

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

    # Round joints where a broken stroke was resampled.
    return pen_image([points + offset for points in placed], pen, canvas, round_joints=hand.broken)


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

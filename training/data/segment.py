"""Find the digits of a written number: its ink cut into parts, one per digit, left to right."""

# Three steps over the ink map (`training.data.ink.ink_map`), lengths in digit heights (the median
# height of the tall pieces):
# 1. pieces: the ink's connected components; a small piece close to a larger one joins it (a
#    broken stroke, the dot where a pen touched down), a light one far from all is a speck;
# 2. joins: pieces that overlap horizontally may be one digit written in two strokes (the bar of
#    a 5 or a 7, a 4): a short one always joins, two tall ones when together they score at least
#    as well as the weaker alone;
# 3. cuts: a part is tried in two along the paths through its least ink (`training.data.cuts`)
#    and cut when the weaker side of the best one scores well enough against the whole (the wider
#    the part, the less it takes); its sides are tried again.
# Scores come from a callable (`Scorer`), so that this module needs no model and no TensorFlow.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from training.data.cuts import cut_paths, split_at
from training.data.ink import EmptyDrawingError, label_components

MAX_PARTS = 12
# Separate pieces beyond this many per digit are refused before anything is read.
PIECES_PER_PART = 4
# Lighter than this share of the heaviest piece, and not close to another piece: a speck.
SPECK_SHARE = 0.03
# Geometry in units of the digit height (the median height of the tall pieces).
SMALL = 0.3  # a piece smaller than this both ways belongs to a neighbour it is close to
CLOSE = 0.25  # that close (the gap between their boxes)
SHORT = 0.6  # a piece lower than this is a stroke of a digit, not a digit of its own
# A part at most ROOMY digit heights wide is one digit (95% of MNIST's test digits are at most 1.1
# times as wide as high); a wider one is two digits when the weaker side of its best cut scores
# more than the whole times e^(-PRIOR × (width - ROOMY)): the wider, the less it takes (two
# touching digits are mostly wider than one digit height); beyond WIDE, always.
ROOMY = 1.1
PRIOR = 2.2
WIDE = 1.6
NARROWEST = 0.12  # a cut leaves no part narrower (a 1 is little more than a pen's width)
CUT_SPACING = 0.1  # candidate cuts at least this far apart
CUTS = 5  # candidate cuts read per part
# Pieces overlapping by this share of the narrower one's width may be one digit; without a
# scorer, they are when the narrower one lies almost all within the other's columns.
OVERLAP = 0.5
CONTAINED = 0.9

Scorer = Callable[[list[np.ndarray]], np.ndarray]
"""How surely each ink crop is one digit, (N,) in 0..1; only how scores compare matters."""


class TooManyPartsError(ValueError):
    """The image holds more separate marks than a number of MAX_PARTS digits."""

    def __init__(self, found: int, limit: int):
        super().__init__(f"too many parts to read as a number: {found} (at most {limit} digits)")


@dataclass(frozen=True)
class Part:
    """One digit's ink, cut out of the number."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the ink map's pixels; x1 and y1 exclusive
    ink: np.ndarray  # (y1 - y0, x1 - x0) float32: this part's ink, 0 where a neighbour's ink is

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def find_parts(ink: np.ndarray, score: Scorer | None = None, max_parts: int = MAX_PARTS) -> list[Part]:
    """The digits of a number, left to right, as parts of its ink map.

    Args:
        ink: (H, W) ink map, ink 1.0 on 0.0.
        score: reads parts (`Scorer`); without it, joins and cuts follow the shapes alone.
        max_parts: more digits than this is an error.

    Raises:
        EmptyDrawingError: there is no ink.
        TooManyPartsError: more than `max_parts` digits (or far more separate marks).
    """
    ink = np.asarray(ink, np.float32)
    labels, boxes, masses = _components(ink)
    if len(masses) == 0:
        raise EmptyDrawingError()
    height = _digit_height(boxes, masses)
    groups = _groups(boxes, masses, height)
    if len(groups) > PIECES_PER_PART * max_parts:
        raise TooManyPartsError(len(groups), max_parts)
    pieces = [_piece(ink, labels, boxes, members) for members in groups]
    parts = _cut_all(_join(pieces, height, score), height, score, max_parts)
    return sorted(parts, key=lambda part: part.box[0] + part.box[2])


# --- Pieces: connected ink, specks dropped, small pieces given to their neighbour ----------------


def _components(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (H, W) (-1: no ink), boxes (K, 4) and ink masses (K,) of the 8-connected pieces."""
    mask = ink > 0
    if not mask.any():
        return np.full(ink.shape, -1), np.zeros((0, 4), int), np.zeros(0)
    ys, xs = np.nonzero(mask)
    _, index = np.unique(label_components(mask)[ys, xs], return_inverse=True)
    labels = np.full(ink.shape, -1)
    labels[ys, xs] = index
    order = np.argsort(index, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(index[order]) > 0])
    boxes = np.stack([np.minimum.reduceat(xs[order], starts), np.minimum.reduceat(ys[order], starts),
                      np.maximum.reduceat(xs[order], starts) + 1,
                      np.maximum.reduceat(ys[order], starts) + 1], axis=1)
    return labels, boxes, np.bincount(index, weights=ink[ys, xs])


def _digit_height(boxes: np.ndarray, masses: np.ndarray) -> float:
    """The median height of the tall pieces among those with a tenth of the heaviest one's ink."""
    heights = (boxes[:, 3] - boxes[:, 1])[masses >= 0.1 * masses.max()]
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


def _groups(boxes: np.ndarray, masses: np.ndarray, height: float) -> list[list[int]]:
    """The pieces as lists of components: each large one with the small ones close to it."""
    sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    small = sizes < SMALL * height
    groups = {int(k): [int(k)] for k in np.flatnonzero(~small)}
    if not groups:  # only small pieces: each is its own
        return [[k] for k in range(len(masses))]
    large = np.array(list(groups))
    for k in np.flatnonzero(small):
        gaps = _gaps(boxes[k], boxes[large])
        if gaps.min() <= CLOSE * height:
            groups[int(large[gaps.argmin()])].append(int(k))
        elif masses[k] >= SPECK_SHARE * masses.max():
            groups[int(k)] = [int(k)]
    return list(groups.values())


def _gaps(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Pixels between `box` and each of `others` (0 where they touch or overlap)."""
    dx = np.maximum(others[:, 0] - box[2], box[0] - others[:, 2])
    dy = np.maximum(others[:, 1] - box[3], box[1] - others[:, 3])
    return np.maximum(np.maximum(dx, dy), 0)


def _piece(ink: np.ndarray, labels: np.ndarray, boxes: np.ndarray, members: list[int]) -> Part:
    x0, y0 = boxes[members, :2].min(axis=0)
    x1, y1 = boxes[members, 2:].max(axis=0)
    inside = np.isin(labels[y0:y1, x0:x1], members)
    return Part((int(x0), int(y0), int(x1), int(y1)), np.where(inside, ink[y0:y1, x0:x1], 0))


# --- Joins: strokes of one digit that overlap horizontally ---------------------------------------


def _join(parts: list[Part], height: float, score: Scorer | None) -> list[Part]:
    """Join overlapping parts that are one digit, a round of candidate pairs at a time."""
    refused: set[tuple] = set()
    while True:
        pairs = [(a, b) for i, a in enumerate(parts) for b in parts[i + 1:]
                 if _overlap(a, b) >= OVERLAP and (a.box, b.box) not in refused]
        if not pairs:
            return parts
        joined = [_union(a, b) for a, b in pairs]
        accepted = _accepted_joins(pairs, joined, height, score)
        used: list[Part] = []
        for (a, b), union, accept in sorted(zip(pairs, joined, accepted, strict=True),
                                            key=lambda item: -_overlap(*item[0])):
            if not accept:
                refused.add((a.box, b.box))
            elif all(part is not a and part is not b for part in used):
                used += [a, b]
                parts = [part for part in parts if part is not a and part is not b] + [union]
        if not used:
            return parts


def _overlap(a: Part, b: Part) -> float:
    """Shared columns as a share of the narrower part's width."""
    shared = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return max(shared, 0) / min(a.width, b.width)


def _accepted_joins(pairs: list[tuple[Part, Part]], joined: list[Part], height: float,
                    score: Scorer | None) -> list[bool]:
    """Whether each pair is one digit: a short stroke over another always is; two tall ones are
    when they read at least as well together as the weaker alone (without a scorer: one lies
    within the other's columns)."""
    short = [min(a.height, b.height) < SHORT * height for a, b in pairs]
    if score is None:
        return [low or _overlap(a, b) >= CONTAINED for low, (a, b) in zip(short, pairs, strict=True)]
    scores = score([part.ink for pair in pairs for part in pair] + [union.ink for union in joined])
    alone, together = scores[:2 * len(pairs)].reshape(-1, 2), scores[2 * len(pairs):]
    return [low or bool(both >= min(each)) for low, each, both in zip(short, alone, together, strict=True)]


def _union(a: Part, b: Part) -> Part:
    x0, y0 = min(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x1, y1 = max(a.box[2], b.box[2]), max(a.box[3], b.box[3])
    ink = np.zeros((y1 - y0, x1 - x0), np.float32)
    for part in (a, b):
        window = ink[part.box[1] - y0:part.box[3] - y0, part.box[0] - x0:part.box[2] - x0]
        np.maximum(window, part.ink, out=window)
    return Part((x0, y0, x1, y1), ink)


# --- Cuts: digits that touch or overlap ----------------------------------------------------------


def _cut_all(parts: list[Part], height: float, score: Scorer | None, max_parts: int) -> list[Part]:
    """Cut parts in two while that reads better, all parts of a round in one scorer call."""
    done: list[Part] = []
    todo = parts
    while todo:
        if len(done) + len(todo) > max_parts:
            raise TooManyPartsError(len(done) + len(todo), max_parts)
        halves = _best_cuts(todo, height, score)
        done += [part for part, cut in zip(todo, halves, strict=True) if cut is None]
        todo = [side for cut in halves if cut is not None for side in cut]
    return done


def _best_cuts(parts: list[Part], height: float, score: Scorer | None) -> list[tuple[Part, Part] | None]:
    """For each part, its two sides when it is two digits, else None."""
    options = [_cuts(part, height) if part.width > ROOMY * height else [] for part in parts]
    if score is None:
        return [cuts[0] if cuts and part.width > WIDE * height else None
                for part, cuts in zip(parts, options, strict=True)]
    batch = [ink for part, cuts in zip(parts, options, strict=True) if cuts
             for ink in [part.ink, *(side.ink for cut in cuts for side in cut)]]
    scores = iter(score(batch) if batch else [])
    chosen: list[tuple[Part, Part] | None] = []
    for part, cuts in zip(parts, options, strict=True):
        if not cuts:
            chosen.append(None)
            continue
        whole = next(scores)
        weaker = [min(next(scores), next(scores)) for _ in cuts]
        best = int(np.argmax(weaker))
        chosen.append(cuts[best] if _two_digits(part.width / height, whole, weaker[best]) else None)
    return chosen


def _two_digits(width: float, whole: float, weaker_side: float) -> bool:
    """Whether a part `width` digit heights wide is two digits, from the scores of its ink and of
    the weaker side of its best cut."""
    return width > WIDE or weaker_side > whole * np.exp(-PRIOR * (width - ROOMY))


def _cuts(part: Part, height: float) -> list[tuple[Part, Part]]:
    """Up to CUTS ways to cut `part` in two, where its ink is thinnest, both sides digit-wide."""
    paths = cut_paths(part.ink, max(1, round(NARROWEST * height)), max(2.0, CUT_SPACING * height), CUTS)
    cuts = [tuple(_tight(part, side) for side in split_at(part.ink, path)) for path in paths]
    # A short side is a stroke of the other digit (a tail, a bar), not a digit of its own.
    return [cut for cut in cuts if min(side.height for side in cut) >= SHORT * height]


def _tight(part: Part, ink: np.ndarray) -> Part:
    """The part of `part` whose ink is `ink` (at `part`'s size), cropped to that ink."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    x0, y0 = part.box[0] + int(cols[0]), part.box[1] + int(rows[0])
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return Part((x0, y0, x0 + crop.shape[1], y0 + crop.shape[0]), np.ascontiguousarray(crop))

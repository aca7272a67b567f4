"""Find the digits of a written number: its ink cut into parts, one per digit, left to right."""

# Three steps over the ink map (`training.data.ink.ink_map`), lengths in digit heights (the median
# height of the tall pieces):
# 1. pieces: the ink's connected components; a small piece close to a larger one joins it (a
#    broken stroke, the dot where a pen touched down), a light one far from all is a speck;
# 2. joins: pieces that overlap horizontally may be one digit written in two strokes (the bar of
#    a 5 or a 7, a 4): a short one always joins, two tall ones when together they score at least
#    as well as the weaker alone; so does a short one CLOSE beside another (a 5's bar drawn past
#    its stem);
# 3. cuts: a part is tried in two along the paths through its least ink (`training.data.cuts`)
#    and cut when the weaker side of the best one scores well enough against the whole (the wider
#    the part, the less it takes); its sides are tried again.
# Scores come from a callable (`Scorer`), so that this module needs no model and no TensorFlow.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from training.data.components import ink_pieces
from training.data.cuts import Stretch, best_chain, boundaries, cropped, shape_score, stretches, widened
from training.data.ink import EmptyDrawingError

MAX_PARTS = 12
# Separate pieces beyond this many per digit are refused before anything is read.
PIECES_PER_PART = 4
# Lighter than this share of the heaviest piece, and not close to another piece: a speck.
SPECK_SHARE = 0.03
# Geometry in units of the digit height (the median height of the tall pieces).
SMALL = 0.3  # a piece smaller than this both ways belongs to a neighbour it is close to
CLOSE = 0.25  # that close (the gap between their boxes)
SHORT = 0.6  # a piece lower than this is a stroke of a digit, not a digit of its own
# A part at most ROOMY digit heights wide is one digit (few digits are wider than high, and two
# that touch mostly are). A wider one is divided along a chain of cut paths (`training.data.cuts`)
# whose stretches, each NARROWEST to STRETCH_WIDEST wide, read best together: the sum over
# stretches of the log of its score, less WIDTH_SLOPE per digit height it is wider than WIDTH_FROM
# (a whole number squeezed into 28×28 can look like one digit). The whole part is always a chain,
# however wide; no other stretch wider than STRETCH_WIDEST is read (none was ever chosen on numbers
# composed with other seeds than the bench's, and each costs a reading). A part up to WIDEST wide
# is cut only when each stretch scores at least SURE_DIGIT: a letter or a scribble cut into
# digit-like strokes would otherwise hide the mark the doubt rule flags. Once read, a part may be
# tried again (`training.data.second_look`). Tuned on numbers composed of MNIST training digits.
ROOMY = 1.0
NARROWEST = 0.12  # a 1 is little more than a pen's width
WIDEST = 1.5
STRETCH_WIDEST = 1.2
WIDTH_FROM = 0.9
WIDTH_SLOPE = 4.0
CUT_SPACING = 0.15  # one candidate cut each way per window this wide
NARROWEST_STRAIGHT = 0.35  # beside a vertical cut: a wide digit's side stroke alone reads as a 1
# A cut digit is read again with this much ink past its cut paths (a crossed stroke), kept if surer.
SHARED = 0.1
# Without a model, stretches score by width (`training.data.cuts.shape_score`), less a tie: fewer win.
SHAPE_TIE = 0.01
# Pieces overlapping by this share of the narrower one's width may be one digit; without a
# scorer, they are when the narrower one lies almost all within the other's columns.
OVERLAP = 0.5
CONTAINED = 0.9

Scorer = Callable[[list[np.ndarray]], np.ndarray]
"""How surely each ink crop is one digit, (N,) in 0..1: below SURE_DIGIT, a reading in doubt."""
# A sure reading at the doubt rule's distance threshold scores this (`training.reading.numbers`).
SURE_DIGIT = float(np.exp(-1.0))


class TooManyPartsError(ValueError):
    """The image holds more separate marks than a number of MAX_PARTS digits."""

    def __init__(self, found: int, limit: int):
        super().__init__(f"too many parts to read as a number: {found} (at most {limit} digits)")


@dataclass(frozen=True, eq=False)
class Part:
    """One digit's ink, cut out of the number; equal only to itself, so parts can key a dict."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the ink map's pixels; x1 and y1 exclusive
    ink: np.ndarray  # (y1 - y0, x1 - x0) float32: this part's ink, 0 where a neighbour's ink is

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def find_parts(ink: np.ndarray, score: Scorer | None = None, max_parts: int = MAX_PARTS) -> list[Part]:
    """The digits of a number, left to right, as parts of its ink map (see `find_parts_and_height`)."""
    return find_parts_and_height(ink, score, max_parts)[0]


def find_parts_and_height(ink: np.ndarray, score: Scorer | None = None,
                          max_parts: int = MAX_PARTS) -> tuple[list[Part], float]:
    """The digits of a number, left to right, as parts of its ink map, and the digit height it
    measured (`digit_height`).

    Args:
        ink: (H, W) ink map, ink 1.0 on 0.0.
        score: reads parts (`Scorer`); without it, joins and cuts follow the shapes alone.
        max_parts: more digits than this is an error.

    Raises:
        EmptyDrawingError: there is no ink.
        TooManyPartsError: more than `max_parts` digits (or far more separate marks).
    """
    ink = np.asarray(ink, np.float32)
    labels, boxes, masses = ink_pieces(ink)
    if len(masses) == 0:
        raise EmptyDrawingError()
    height = _digit_height(boxes, masses)
    groups = _groups(boxes, masses, height)
    if len(groups) > PIECES_PER_PART * max_parts:
        raise TooManyPartsError(len(groups), max_parts)
    pieces = [_piece(ink, labels, boxes, members) for members in groups]
    parts = cut_all(_join(pieces, height, score), height, score, max_parts)
    return sorted(parts, key=lambda part: part.box[0] + part.box[2]), height


# --- Pieces: connected ink, specks dropped, small pieces given to their neighbour ----------------


def digit_height(ink: np.ndarray) -> float:
    """The height of a digit in a number's ink map, in its pixels (as `find_parts` measures)."""
    return _digit_height(*ink_pieces(np.asarray(ink, np.float32))[1:])


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


# --- Joins: strokes of one digit, overlapping or close beside each other -------------------------


def _join(parts: list[Part], height: float, score: Scorer | None) -> list[Part]:
    """Join parts that are one digit (`_may_be_one`), a round of candidate pairs at a time."""
    refused: set[tuple] = set()
    while True:
        pairs = [(a, b) for i, a in enumerate(parts) for b in parts[i + 1:]
                 if _may_be_one(a, b, height) and (a.box, b.box) not in refused]
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


def _may_be_one(a: Part, b: Part, height: float) -> bool:
    """Two parts that may be one digit's strokes: overlapping horizontally, or a short one close by."""
    close = _gaps(np.array(a.box), np.array([b.box]))[0] <= CLOSE * height
    return _overlap(a, b) >= OVERLAP or (min(a.height, b.height) < SHORT * height and close)


def _overlap(a: Part, b: Part) -> float:
    """Shared columns as a share of the narrower part's width."""
    shared = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return max(shared, 0) / min(a.width, b.width)


def _accepted_joins(pairs: list[tuple[Part, Part]], joined: list[Part], height: float,
                    score: Scorer | None) -> list[bool]:
    """Whether each pair is one digit: a short stroke over another always is; two tall ones, or a
    short stroke beside another, are when they read at least as well together as the weaker alone
    (without a scorer: one lies within the other's columns)."""
    short = [min(a.height, b.height) < SHORT * height and _overlap(a, b) >= OVERLAP for a, b in pairs]
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


def cut_all(parts: list[Part], height: float, score: Scorer | None, max_parts: int,
            tried: list[bool] | None = None, sure_piece: float = SURE_DIGIT) -> list[Part]:
    """The `tried` parts (by default those wider than ROOMY) divided into the digits they hold."""
    if len(parts) > max_parts:
        raise TooManyPartsError(len(parts), max_parts)
    shapes_only = score is None
    score = score or shape_score(height)
    # A part no wider than a digit is one: most digits are never cut, nor read before they are.
    tried = [part.width > ROOMY * height for part in parts] if tried is None else tried
    plans = [_plan(part, height) if cut else None for part, cut in zip(parts, tried, strict=True)]
    batch = [stretch.ink for plan in plans if plan for stretch in plan[2]]
    scores = iter(score(batch) if batch else [])
    reach = round(SHARED * height)
    chains: list[list[tuple[np.ndarray, float, np.ndarray | None]] | None] = []
    for part, plan in zip(parts, plans, strict=True):
        if plan is None:
            chains.append(None)
            continue
        ends, edges, found = plan
        read = [next(scores) for _ in found]
        # A part no wider than one digit may be (a letter, say) is cut only into stretches read surely
        # as digits; a wider one holds several marks, one in doubt no reason to read all as one.
        sure = sure_piece if part.width <= WIDEST * height else 0.0
        gains = np.array([_gain(value, s, height, s.right - s.left == ends, shapes_only, sure)
                          for value, s in zip(read, found, strict=True)])
        chain = best_chain(ends, [(stretch.left, stretch.right) for stretch in found], gains)
        chains.append([(found[i].ink, read[i], widened(part.ink, edges, found[i].left, found[i].right, reach)
                        if len(chain) > 1 and not shapes_only else None) for i in chain])
    # Where digits overlap, a path cuts through one: each side keeps the ink past it if it reads better.
    wider = [wide for chain in chains if chain for _, _, wide in chain if wide is not None]
    wider_scores = iter(score(wider) if wider else [])
    done: list[Part] = []
    for part, chain in zip(parts, chains, strict=True):
        if chain is None:
            done.append(part)
            continue
        for ink, value, wide in chain:
            done.append(part_of(part, wide if wide is not None and next(wider_scores) > value else ink))
        if len(done) > max_parts:
            raise TooManyPartsError(len(done), max_parts)
    return done


def _plan(part: Part, height: float) -> tuple[int, list[np.ndarray], list[Stretch]]:
    """The last boundary's index, the boundaries, and the stretches that may each be one digit."""
    edges, vertical = boundaries(part.ink, max(1, round(NARROWEST * height)),
                                 max(2.0, CUT_SPACING * height), True)
    return len(edges) - 1, edges, stretches(part.ink, edges, NARROWEST * height, STRETCH_WIDEST * height,
                                            vertical, NARROWEST_STRAIGHT * height, SHORT * height)


def _gain(score: float, stretch: Stretch, height: float, whole: bool, shapes_only: bool,
          sure: float) -> float:
    """What a stretch adds to its chain (see ROOMY); a low stroke is no digit of its own (`_plan`
    leaves out the others), and a cut counts only when each stretch scores at least `sure`."""
    if whole and np.ptp(np.flatnonzero(stretch.ink.any(axis=1))) + 1 < SHORT * height:
        return 0.0
    if shapes_only:
        return float(np.log(max(score, 1e-6))) - SHAPE_TIE
    if not whole and score < sure:
        return -np.inf
    columns = np.flatnonzero(stretch.ink.any(axis=0))
    wider = max((columns[-1] + 1 - columns[0]) / height - WIDTH_FROM, 0.0)
    return float(np.log(max(score, 1e-6))) - WIDTH_SLOPE * wider


def part_of(part: Part, ink: np.ndarray) -> Part:
    """The part of `part` whose ink is `ink` (at `part`'s size), cropped to that ink."""
    return Part(*cropped(part.box, ink))

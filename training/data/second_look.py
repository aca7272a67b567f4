"""A second look at a number's parts once read: two touching digits that `find_parts` took for one."""

# Parts that `training.data.segment` leaves whole may yet hold two touching digits:
# 1. a part read in doubt, MAYBE_ROOMY to ROOMY digit heights wide, is divided as a wider one is
#    (`training.data.segment.cut_all`), each stretch scoring at least SURE_RECUT;
# 2. a part that narrows to a neck: a touching pair that reads surely as some third digit (a 1
#    against its neighbour, most often). A path from top to bottom (`training.data.cuts`) crosses
#    only the little ink where the two touch and leaves a tall stroke on each side, which a digit
#    of its own seldom has (a 0 or an 8 is crossed twice, a 7's bar leaves a short side). It is
#    cut there when each side reads surely as a digit (SURE_DIGIT) and both together about as
#    well as the whole: the sum of their log scores at least the whole's less NECK_TIE, a margin
#    that shrinks by NECK_SLOPE per digit height of ink the path crosses (the clearer the neck, the
#    less the reading must show). A letter or a scribble with a neck is left whole for the doubt
#    rule to flag. Only parts read less surely than NECK_SURE are looked at: most digits are read
#    far more surely, and each look costs a reading. Tuned on numbers composed from MNIST test
#    digits with other seeds than the benchmark's (`scripts.bench_numbers`).

from __future__ import annotations

import numpy as np

from training.data.cuts import boundaries, ink_rows, without_slivers
from training.data.segment import (
    CUT_SPACING,
    MAX_PARTS,
    NARROWEST,
    ROOMY,
    SHORT,
    SURE_DIGIT,
    Part,
    Scorer,
    TooManyPartsError,
    cut_all,
    digit_height,
    part_of,
)

MAYBE_ROOMY = 0.6
SURE_RECUT = 0.5
# In digit heights: the most ink a neck's path crosses (the sum of the ink on its pixels), and the
# narrowest part tried (a 1 alone is narrower).
NECK = 0.1
NECK_FROM = 0.4
NECK_TIE = 0.4
NECK_SLOPE = 6.0
NECK_SURE = 0.5


def second_look(ink: np.ndarray, parts: list[Part], doubted: list[bool], score: Scorer,
                max_parts: int = MAX_PARTS, sureness: list[float] | None = None,
                height: float | None = None) -> list[Part]:
    """`parts` of `find_parts(ink, score)` once read (`doubted`: read in doubt; `sureness`: each
    one's score as read, scored here when not given; `height`: the digit height `find_parts`
    measured, measured again when not given), those that hold two touching digits cut in two; left
    to right, or `parts` itself when none is cut.

    Raises:
        TooManyPartsError: more than `max_parts` digits.
    """
    height = digit_height(ink) if height is None else height
    tried = [doubt and MAYBE_ROOMY * height < part.width <= ROOMY * height
             for doubt, part in zip(doubted, parts, strict=True)]
    done = cut_all(parts, height, score, max_parts, tried, SURE_RECUT) if any(tried) else parts
    known = dict(zip(parts, sureness, strict=True)) if sureness is not None else {}
    done = _cut_at_necks(done, height, score, known)
    if len(done) > max_parts:
        raise TooManyPartsError(len(done), max_parts)
    return parts if done is parts else sorted(done, key=lambda part: part.box[0] + part.box[2])


def _cut_at_necks(parts: list[Part], height: float, score: Scorer, known: dict[Part, float]) -> list[Part]:
    """Each part that narrows to a neck between two sides that read as digits, cut there (`known`:
    the parts' scores as read, where known)."""
    necks = {part: _neck(part, height) for part in parts
             if part.width >= NECK_FROM * height and known.get(part, 0.0) < NECK_SURE}
    necks = {part: neck for part, neck in necks.items() if neck is not None}
    if not necks:
        return parts
    unknown = [part for part in necks if part not in known]
    sides = [side for _, pair in necks.values() for side in pair]
    scores = iter(np.log(np.maximum(score([part.ink for part in unknown] + sides), 1e-6)))
    wholes = {part: next(scores) for part in unknown} | {part: np.log(max(known[part], 1e-6))
                                                         for part in necks if part in known}
    done: list[Part] = []
    for part in parts:
        if part not in necks:
            done.append(part)
            continue
        crossed, (left, right) = necks[part]
        pair = (next(scores), next(scores))
        margin = NECK_TIE - NECK_SLOPE * crossed / height
        cut = (wholes[part] < np.log(NECK_SURE) and min(pair) >= np.log(SURE_DIGIT)
               and sum(pair) >= wholes[part] - margin)
        done += [part_of(part, left), part_of(part, right)] if cut else [part]
    return done


def _neck(part: Part, height: float) -> tuple[float, tuple[np.ndarray, np.ndarray]] | None:
    """(ink crossed, (left ink, right ink) at the part's size) of the cut path through `part` that
    crosses the least ink, at most NECK digit heights of it, leaving each side at least SHORT
    high; None when there is none."""
    edges, _ = boundaries(part.ink, max(1, round(NARROWEST * height)), max(2.0, CUT_SPACING * height))
    crossed = [float(part.ink[np.arange(part.height), path].sum()) for path in edges[1:-1]]
    columns = np.arange(part.width)[np.newaxis, :]
    for index in np.argsort(crossed, kind="stable"):
        if crossed[index] > NECK * height:
            return None
        left = columns < edges[1 + index][:, np.newaxis]
        pair = (without_slivers(np.where(left, part.ink, 0)), without_slivers(np.where(left, 0, part.ink)))
        if all(ink_rows(side) >= SHORT * height for side in pair):
            return crossed[index], pair
    return None

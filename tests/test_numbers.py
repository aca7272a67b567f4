"""Finding a number's digits from the shapes alone, without a model: parts left to right, pieces of
ink, the cuts between touching and overlapping digits, each scored by stand-ins for a model.

Numbers are composed from MNIST *test* digits (never training ones). Reading them with a trained
model is in test_numbers_read.py; the command line in test_numbers_cli.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.kit.composed_numbers import composed_numbers, side_by_side
from tests.kit.number_images import centred_in, first_of, five_with_a_lifted_bar
from training.data import components
from training.data.components import ink_pieces, label_components, label_components_each
from training.data.ink import EmptyDrawingError, ink_map
from training.data.second_look import second_look
from training.data.segment import CLOSE, TooManyPartsError, digit_height, find_parts

# A 5 of MNIST's test split whose bar was drawn beside its stem, apart from it.
BAR_BESIDE_STEM = 694

# --- The shapes alone, without a model --------------------------------------------------------------


def test_digits_with_gaps_are_found_left_to_right(mnist):
    numbers = composed_numbers(mnist.x_test, mnist.y_test, 20, kind="gaps", seed=3)
    found = [find_parts(ink_map(number.image)) for number in numbers]
    right = [len(parts) == len(number.text)
             and all(centred_in(part.box, truth) for part, truth in zip(parts, number.boxes, strict=True))
             for parts, number in zip(found, numbers, strict=True)]
    assert sum(right) >= 18, right


def test_a_five_whose_bar_was_drawn_apart_is_one_part():
    five = five_with_a_lifted_bar()
    assert len(np.unique(label_components(five > 0)[five > 0])) == 2  # two strokes that do not touch
    parts = find_parts(ink_map(five))
    rows, columns = np.flatnonzero(five.any(axis=1)), np.flatnonzero(five.any(axis=0))
    assert [part.box for part in parts] == [(columns[0], rows[0], columns[-1] + 1, rows[-1] + 1)]


def test_a_short_stroke_beside_a_digit_joins_it_when_they_read_better_together(mnist):
    five = np.asarray(Image.fromarray(mnist.x_test[BAR_BESIDE_STEM]).resize((84, 84), Image.BILINEAR))
    ink = ink_map(five)
    (bar, stem) = sorted(find_parts(ink), key=lambda part: part.height)  # apart as shapes alone
    assert bar.box[0] >= stem.box[2]  # beside the stem, not over it

    def reading(together: float):  # both strokes together read `together`, anything narrower 0.5
        return lambda inks: np.array([together if inked_width(ink) > 1.5 * max(stem.width, bar.width) else 0.5
                                      for ink in inks])

    assert len(find_parts(ink, reading(0.9))) == 1
    assert len(find_parts(ink, reading(0.3))) == 2
    # Two tall strokes as close stay two digits, however well they read together.
    ones = ink_map(side_by_side([first_of(mnist, 1), first_of(mnist, 1)], gap=10))
    left, right = find_parts(ones)
    assert right.box[0] - left.box[2] <= CLOSE * digit_height(ones)
    assert len(find_parts(ones, lambda inks: np.array([0.9 if inked_width(ink) > 40 else 0.5
                                                       for ink in inks]))) == 2


def inked_width(ink: np.ndarray) -> int:
    """Columns from the first with ink to the last (a crop keeps its part's size, blank around it)."""
    columns = np.flatnonzero(ink.any(axis=0))
    return int(columns[-1] + 1 - columns[0])


def test_too_many_parts_and_blank_images_are_refused(mnist):
    digits = [first_of(mnist, digit % 10) for digit in range(13)]
    with pytest.raises(TooManyPartsError, match=r"^too many parts to read as a number: 13 \(at most 12"):
        find_parts(ink_map(side_by_side(digits)))
    assert len(find_parts(ink_map(side_by_side(digits[:12])))) == 12
    with pytest.raises(EmptyDrawingError):
        find_parts(np.zeros((60, 200), np.float32))


def test_a_wide_part_is_cut_only_into_stretches_that_read_surely_as_digits(mnist):
    ink = np.zeros((28, 40), np.float32)
    for digit, x in ((4, 0), (2, 12)):  # a 4 and a 2 that overlap: one piece, wider than a digit
        np.maximum(ink[:, x:x + 28], first_of(mnist, digit) / 255, out=ink[:, x:x + 28])
    assert len(np.unique(label_components(ink > 0)[ink > 0])) == 1

    def reading_all(score: float):
        return lambda inks: np.full(len(inks), score)

    assert len(find_parts(ink, reading_all(0.9))) == 2
    # Every stretch in doubt: kept whole, as a letter cut into digit-like strokes must be (its doubt shows).
    assert len(find_parts(ink, reading_all(0.3))) == 1


def one_touching_a_three(mnist) -> np.ndarray:
    """The ink map of a 1 and a 3 of MNIST's test split that touch: one piece, one digit wide."""
    one, three = (first_of(mnist, digit, skip)[:, np.flatnonzero(first_of(mnist, digit, skip).any(axis=0))]
                  for digit, skip in ((1, 2), (3, 3)))
    ink = np.zeros((28, one.shape[1] + three.shape[1] - 1), np.float32)
    ink[:, :one.shape[1]] = one / 255
    np.maximum(ink[:, one.shape[1] - 1:], three / 255, out=ink[:, one.shape[1] - 1:])
    assert len(np.unique(label_components(ink > 0)[ink > 0])) == 1
    return ink


def test_a_doubted_part_as_narrow_as_one_digit_is_tried_in_pieces(mnist, monkeypatch):
    import training.data.second_look as looks

    monkeypatch.setattr(looks, "NECK_SURE", 0.0)  # no part is tried at a neck: the doubt alone decides
    ink = one_touching_a_three(mnist)

    def reading_pieces(score: float):  # the whole pair reads poorly, a digit-wide stretch as `score`
        return lambda inks: np.array([score if ink.any(axis=0).sum() < 14 else 0.2 for ink in inks])

    parts = find_parts(ink, reading_pieces(0.9))
    assert len(parts) == 1  # no wider than a digit: not cut before it is read
    assert len(second_look(ink, parts, [True], reading_pieces(0.9))) == 2
    # Read without doubt, or into pieces that are not sure digits either: kept whole.
    assert len(second_look(ink, parts, [False], reading_pieces(0.9))) == 1
    assert len(second_look(ink, parts, [True], reading_pieces(0.45))) == 1


def test_a_part_read_as_one_digit_is_cut_where_it_narrows_to_a_neck(mnist):
    ink = one_touching_a_three(mnist)

    def reading(whole: float, side: float):  # the pair (as wide as a digit) reads `whole`, a side `side`
        return lambda inks: np.array([whole if ink.any(axis=0).sum() >= 14 else side for ink in inks])

    parts = find_parts(ink, reading(0.45, 0.9))
    assert len(parts) == 1  # no wider than a digit, and read without doubt
    cut = second_look(ink, parts, [False], reading(0.45, 0.9))
    assert len(cut) == 2 and cut[0].box[2] <= cut[1].box[0] + 1  # a 1, then a 3
    assert cut[0].width < cut[1].width
    # Kept whole: sides in doubt (a letter with a neck, say), or a part read surely as it is.
    assert len(second_look(ink, parts, [False], reading(0.45, 0.3))) == 1
    assert len(second_look(ink, parts, [False], reading(0.45, 0.9), sureness=[0.8])) == 1


def flood_fill_pieces(mask: np.ndarray) -> np.ndarray:
    """The 8-connected pieces of `mask` found one pixel at a time, each labelled by its first pixel."""
    height, width = mask.shape
    labels = np.full(mask.shape, -1)
    for start in np.flatnonzero(mask):
        if labels.flat[start] >= 0:
            continue
        stack = [start]
        labels.flat[start] = start
        while stack:
            y, x = divmod(stack.pop(), width)
            for ny in range(max(0, y - 1), min(height, y + 2)):
                for nx in range(max(0, x - 1), min(width, x + 2)):
                    if mask[ny, nx] and labels[ny, nx] < 0:
                        labels[ny, nx] = start
                        stack.append(ny * width + nx)
    return np.where(mask, labels, 0)


def test_ink_pieces_are_the_pieces_a_flood_fill_finds(mnist, monkeypatch):
    rng = np.random.default_rng(0)
    masks = [rng.random(rng.integers(1, 30, 2)) < density for density in np.linspace(0.05, 0.95, 150)]
    snake = np.zeros((41, 41), bool)  # one long stroke winding back and forth: many rounds to settle
    snake[::4] = True
    snake[1::8, -1] = snake[2::8, -1] = snake[3::8, -1] = True
    snake[5::8, 0] = snake[6::8, 0] = snake[7::8, 0] = True
    masks += [snake, snake[::-1], snake.T]
    masks += [ink_map(number.image) > 0 for number in composed_numbers(mnist.x_test, mnist.y_test, 10,
                                                                       kind="touching", seed=5)]
    for mask in masks:
        np.testing.assert_array_equal(label_components(mask), flood_fill_pieces(mask))
        # The segmentation's pieces: the same, with each one's box and ink.
        ink = np.where(mask, rng.uniform(0.1, 1.0, mask.shape), 0.0)
        labels, boxes, masses = ink_pieces(ink)
        firsts = np.unique(flood_fill_pieces(mask)[mask])
        assert len(boxes) == len(masses) == len(firsts)
        for index, first in enumerate(firsts):
            ys, xs = np.nonzero(mask & (flood_fill_pieces(mask) == first))
            assert (labels[ys, xs] == index).all()
            assert list(boxes[index]) == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            assert masses[index] == pytest.approx(ink[ys, xs].sum())
        assert (labels[~mask] == -1).all()
    assert len(np.unique(label_components(snake)[snake])) == 1
    # A number's candidate crops are labelled side by side, in one pass or in a few when there are
    # many: each keeps its own pieces, in the same order, however the crops' inks line up at their edges.
    for cells_per_pass in (components.LABELLED_TOGETHER, 2000):
        monkeypatch.setattr(components, "LABELLED_TOGETHER", cells_per_pass)
        for mask, together in zip(masks, label_components_each(masks), strict=True):
            alone = label_components(mask)
            assert together.shape == mask.shape
            assert np.array_equal(np.unique(alone[mask], return_inverse=True)[1],
                                  np.unique(together[mask], return_inverse=True)[1])


# --- Cutting overlapping digits apart, scored by a stand-in for a model -------------------------------


def overlapping(left_digit: np.ndarray, right_digit: np.ndarray, overlap: int) -> tuple[np.ndarray, list]:
    """An ink map (3× MNIST's scale, cropped to the ink) of two digits overlapping by `overlap`
    columns, and each digit's ink as a mask of the same size."""
    strips = [digit[:, digit.any(axis=0)] / 255 for digit in (left_digit, right_digit)]
    width = sum(strip.shape[1] for strip in strips) - overlap
    planes = [np.zeros((28, width), np.float32) for _ in strips]
    planes[0][:, :strips[0].shape[1]], planes[1][:, width - strips[1].shape[1]:] = strips
    rows = np.maximum(*planes).any(axis=1)
    planes = [np.kron(plane[rows], np.ones((3, 3), np.float32)) for plane in planes]
    return np.maximum(*planes), [plane > 0 for plane in planes]


def like_a_model(ink: np.ndarray, digits: list):
    """A stand-in scorer for `find_parts` on `overlapping`'s ink: a crop reads as surely as it matches
    one whole digit's ink (intersection over union); a crop of another size reads as 0.5."""

    def score(inks: list[np.ndarray]) -> np.ndarray:
        return np.array([max(((crop > 0) & d).sum() / ((crop > 0) | d).sum() for d in digits)
                         if crop.shape == ink.shape else 0.5 for crop in inks])

    return score


def part_mask(shape: tuple[int, int], part) -> np.ndarray:
    """Where a found part's ink lies in the whole ink map."""
    mask = np.zeros(shape, bool)
    mask[part.box[1]:part.box[3], part.box[0]:part.box[2]] = part.ink > 0
    return mask


def test_a_digit_cut_from_an_overlapping_neighbour_keeps_the_stroke_the_cut_crossed(mnist, monkeypatch):
    import training.data.segment as segment

    def covered(ink: np.ndarray, digits: list) -> float:
        """How much of its own ink the worse covered of the two digits found holds."""
        parts = find_parts(ink, like_a_model(ink, digits))
        assert len(parts) == 2
        found = [part_mask(ink.shape, part) for part in parts]
        return min((mask & digit).sum() / digit.sum() for mask, digit in zip(found, digits, strict=True))

    pairs = []
    for index in range(0, 60, 2):  # two digits that touch, no 1 among them (a 1 is barely cut)
        ink, digits = overlapping(mnist.x_test[index], mnist.x_test[index + 1], 3)
        mask = ink > 0
        if 1 not in mnist.y_test[index:index + 2] and len(np.unique(label_components(mask)[mask])) == 1:
            pairs.append((ink, digits))
    shared = [covered(ink, digits) for ink, digits in pairs]
    monkeypatch.setattr(segment, "SHARED", 0.0)  # each side only the ink up to its cut paths
    alone = [covered(ink, digits) for ink, digits in pairs]
    assert all(a >= b for a, b in zip(shared, alone, strict=True)), (shared, alone)
    assert sum(a > b + 0.05 for a, b in zip(shared, alone, strict=True)) >= 3, (shared, alone)


def test_overlapping_digits_are_also_tried_apart_along_straight_cuts(mnist, monkeypatch):
    import training.data.cuts as cuts
    import training.data.segment as segment

    def parted(ink: np.ndarray, digits: list) -> bool:
        """Whether the ink is found as two parts, each mostly one digit's ink and little else."""
        parts = find_parts(ink, like_a_model(ink, digits))
        if len(parts) != 2:
            return False
        for part, digit in zip(parts, digits, strict=True):
            mask = part_mask(ink.shape, part)
            if (mask & digit).sum() / (mask | digit).sum() < 0.8:
                return False
        return True

    pairs = [overlapping(mnist.x_test[index], mnist.x_test[index + 1], 4) for index in range(0, 80, 2)
             if 1 not in mnist.y_test[index:index + 2]]  # a 1 is narrower than the overlap
    straight = [parted(ink, digits) for ink, digits in pairs]
    bent = cuts.boundaries
    monkeypatch.setattr(segment, "boundaries", lambda ink, narrowest, spacing, straight=False:
                        bent(ink, narrowest, spacing))  # the paths round the ink alone
    curved = [parted(ink, digits) for ink, digits in pairs]
    assert sum(straight) > sum(curved), (sum(straight), sum(curved))
    assert sum(s and not c for s, c in zip(straight, curved, strict=True)) >= 3, (straight, curved)


def test_a_narrow_digit_beside_a_gap_is_a_candidate_though_its_cut_path_runs_straight_down():
    from training.data.cuts import boundaries, stretches

    ink = np.zeros((20, 40), np.float32)
    ink[:, 3:6] = 1.0  # a 1, a blank gap, then something wide
    ink[:, 15:38] = 1.0
    edges, vertical = boundaries(ink, 2, 3.0, straight=True)
    found = stretches(ink, edges, 2, 40, vertical, narrowest_straight=16)
    # The path traced down the gap is straight, but it is a path: the 1 alone need not be 16 wide.
    ones = [stretch for stretch in found if np.array_equal(stretch.ink != 0, ink * (np.arange(40) < 6) != 0)]
    assert ones and not any(vertical[stretch.right] for stretch in ones)

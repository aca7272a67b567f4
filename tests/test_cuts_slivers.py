"""A cut between touching digits leaves each side a sliver of its neighbour's stroke: the sliver goes,
the digit stays, whether one side is cleared or a number's hundred candidate sides together.

Digits are MNIST *test* digits (never training ones).
"""

from __future__ import annotations

import numpy as np

from training.data import components
from training.data.cuts import without_slivers, without_slivers_each


def side_with_sliver(digit: np.ndarray, sliver_mass_share: float,
                     at_right: bool) -> tuple[np.ndarray, np.ndarray]:
    """The digit's ink (28×34) with a short stroke of a neighbour apart from it at one edge, holding
    `sliver_mass_share` of the digit's ink; and the mask of that stroke."""
    ink = np.zeros((28, 34), np.float32)
    ink[:, 3:31] = digit / 255
    sliver = np.zeros_like(ink, dtype=bool)
    rows = slice(10, 18)
    sliver[rows, 33 if at_right else 0] = True
    ink[sliver] = sliver_mass_share * ink.sum() / sliver.sum()
    return ink, sliver


def test_a_side_loses_its_neighbours_sliver_and_keeps_its_digit(mnist):
    digit = mnist.x_test[0]  # a 7
    ink, sliver = side_with_sliver(digit, 0.03, at_right=True)  # a few pixels of a neighbour's stroke
    kept = without_slivers(ink)
    assert not kept[sliver].any(), "the neighbour's sliver was left on the side"
    np.testing.assert_array_equal(kept[~sliver], ink[~sliver])  # the digit, every pixel of it
    # A piece as heavy as a stroke of the digit's own (a 5's bar drawn apart) is no sliver: it stays.
    heavy, _ = side_with_sliver(digit, 0.4, at_right=True)
    np.testing.assert_array_equal(without_slivers(heavy), heavy)


def test_sides_cleared_together_are_the_sides_cleared_one_by_one(mnist, monkeypatch):
    # Side by side, one side's sliver at its right edge lies a blank column from the next side's at its
    # left: each must still be weighed against its own digit only.
    sides = []
    for index in range(12):
        ink, _ = side_with_sliver(mnist.x_test[index], 0.02 + 0.02 * index, at_right=index % 2 == 0)
        sides.append(ink if index % 3 else ink[:, ::-1].copy())
    sides.append(np.zeros((28, 34), np.float32))  # a side with no ink left at all
    alone = [without_slivers(side) for side in sides]
    for cells_per_pass in (components.LABELLED_TOGETHER, 3000):  # one row, or several
        monkeypatch.setattr(components, "LABELLED_TOGETHER", cells_per_pass)
        together = without_slivers_each(sides)
        assert len(together) == len(sides)
        for one, other in zip(alone, together, strict=True):
            assert other.dtype == np.float32 and other.shape == one.shape
            np.testing.assert_array_equal(other, one)
    assert sum(not np.array_equal(one, side) for one, side in zip(alone, sides, strict=True)) >= 3

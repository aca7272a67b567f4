"""Where two touching digits part: paths from top to bottom through the least ink."""

# A straight cut through digits that overlap slices strokes of both; a path may bend round
# them. Each path runs down one row at a time, stepping at most one column left or right, and
# costs the ink it crosses plus a little per sideways step (so that it runs straight through
# blank space).

from __future__ import annotations

import numpy as np

from training.data.ink import label_components

# What a sideways step costs, in ink units (a fully inked pixel costs 1).
STEP_COST = 0.1
# Pieces of a side lighter than this share of its heaviest piece are slivers of the neighbour.
SLIVER = 0.1


def cut_paths(ink: np.ndarray, narrowest: int, spacing: float, count: int) -> list[np.ndarray]:
    """Up to `count` cheapest paths through `ink` (H, W), each a column per row (H,), ending at
    least `spacing` columns apart and leaving both sides at least `narrowest` columns wide.

    The cut leaves pixels left of the path's column on the left side, the rest on the right.
    """
    width = ink.shape[1]
    if width < 2 * narrowest:
        return []
    # Outside the band a side would be too narrow: the paths never go there.
    band = np.full(width, np.inf)
    band[narrowest:width - narrowest + 1] = 0
    total, moves = _cheapest_paths(ink + band)
    ends = np.arange(narrowest, width - narrowest + 1)
    # The cheapest first; among equals (blank columns) the nearest the middle.
    ends = ends[np.lexsort((np.abs(ends - width / 2), total[ends]))]
    chosen: list[int] = []
    for end in ends:
        if all(abs(end - other) >= spacing for other in chosen):
            chosen.append(int(end))
        if len(chosen) == count:
            break
    return [_trace(moves, end) for end in chosen]


def split_at(ink: np.ndarray, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ink left of `path` and the ink on or right of it, each at the full size of `ink`,
    without the slivers the path cut off the other digit's strokes."""
    left = np.arange(ink.shape[1])[np.newaxis, :] < path[:, np.newaxis]
    return _without_slivers(np.where(left, ink, 0)), _without_slivers(np.where(left, 0, ink))


def _without_slivers(side: np.ndarray) -> np.ndarray:
    """`side` without the pieces of ink far lighter than its heaviest one."""
    mask = side > 0
    _, pieces = np.unique(label_components(mask)[mask], return_inverse=True)
    masses = np.bincount(pieces, weights=side[mask])
    keep = np.zeros_like(mask)
    keep[mask] = masses[pieces] >= SLIVER * masses.max()
    return np.where(keep, side, 0).astype(np.float32)


def _cheapest_paths(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cost of the cheapest path ending at each column of the last row, and each pixel's
    step (-1, 0, 1: the column it came from, relative to its own)."""
    height, width = ink.shape
    total = ink[0].astype(np.float64)
    moves = np.zeros((height, width), np.int8)
    for row in range(1, height):
        padded = np.pad(total, 1, constant_values=np.inf)
        options = np.stack([padded[:-2] + STEP_COST, padded[1:-1], padded[2:] + STEP_COST])
        best = options.argmin(axis=0)
        moves[row] = best - 1
        total = options[best, np.arange(width)] + ink[row]
    return total, moves


def _trace(moves: np.ndarray, end: int) -> np.ndarray:
    path = np.empty(len(moves), int)
    column = end
    for row in range(len(moves) - 1, -1, -1):
        path[row] = column
        column += int(moves[row, column])
    return path

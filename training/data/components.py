"""Connected pieces of ink: a mask's cells as runs along its rows, grouped 8-connected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

# The most mask cells `label_components_each` labels in one pass.
LABELLED_TOGETHER = 1 << 22


class Runs(NamedTuple):
    """A mask's True cells as runs along its rows, in raster order, with their components."""

    rows: np.ndarray  # (R,) the row of each run
    starts: np.ndarray  # (R,) its first column
    ends: np.ndarray  # (R,) one past its last column
    component: np.ndarray  # (R,) the index of its component's first run (8-connected)


def ink_runs(mask: np.ndarray) -> Runs:
    """`mask`'s True cells as runs along rows, each knowing its 8-connected component."""
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    # A few hundred runs are far fewer than a number's ink pixels.
    span = width + 2
    framed = np.zeros((height, span), bool)
    framed[:, 1:-1] = mask
    # With a blank cell at each end of every row, the changes along the flattened rows alternate:
    # a run's first cell, then the cell after its last.
    changes = np.flatnonzero(framed.reshape(-1)[1:] != framed.reshape(-1)[:-1]) + 1
    rows, starts = np.divmod(changes[0::2], span)
    ends = changes[1::2] - rows * span
    starts, ends = starts - 1, ends - 1  # columns of the mask, not of the framed rows
    # A run touches the runs of the row above that reach from one column left of it to one right;
    # those are consecutive in raster order.
    first = np.searchsorted(rows * span + ends, (rows - 1) * span + starts, side="left")
    last = np.searchsorted(rows * span + starts, (rows - 1) * span + ends, side="right")
    counts = np.maximum(last - first, 0)
    lower = np.repeat(np.arange(len(starts)), counts)
    upper = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    # Each run points towards the smallest run index it connects to: along every touch whose runs
    # still point apart, the larger root is hooked under the smaller, then every pointer jumps
    # to its root. Hooking roots, not runs, settles a long stroke in a few rounds.
    parent = np.arange(len(starts))
    while True:
        above, below = parent[upper], parent[lower]
        apart = above != below
        if not apart.any():
            break
        np.minimum.at(parent, np.maximum(above, below)[apart], np.minimum(above, below)[apart])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return Runs(rows, starts, ends, parent)


def run_pixels(runs: Runs, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The flat indices of the runs' cells in an image `width` wide, and each cell's run."""
    lengths = runs.ends - runs.starts
    run_index = runs.rows * width + runs.starts
    pixels = np.repeat(run_index - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    return pixels, np.repeat(np.arange(len(lengths)), lengths)


def label_components(mask: np.ndarray) -> np.ndarray:
    """8-connected components: each True cell gets the smallest flat index in its component
    (False cells get 0 too: read the labels where the mask is True)."""
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    labels = np.zeros(height * width, np.int64)
    if not mask.any():
        return labels.reshape(height, width)
    runs = ink_runs(mask)
    pixels, run_of = run_pixels(runs, width)
    # Runs are in raster order, so a component's first run holds its smallest flat index.
    first_cell = runs.rows * width + runs.starts
    labels[pixels] = first_cell[runs.component][run_of]
    return labels.reshape(height, width)


def ink_pieces(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 8-connected pieces of an ink map (ink 1.0 on 0.0), in raster order of their first cell:
    labels (H, W) (-1: no ink), boxes (K, 4: x0, y0, x1, y1, exclusive) and ink masses (K,)."""
    mask = ink > 0
    if not mask.any():
        return np.full(ink.shape, -1), np.zeros((0, 4), int), np.zeros(0)
    runs = ink_runs(mask)
    # Pieces in raster order of their first cell; boxes are found over runs, not pixels.
    firsts, piece = np.unique(runs.component, return_inverse=True)
    x0, x1, y1 = (np.full(len(firsts), fill) for fill in (ink.shape[1], 0, 0))
    np.minimum.at(x0, piece, runs.starts)
    np.maximum.at(x1, piece, runs.ends)
    np.maximum.at(y1, piece, runs.rows + 1)
    pixels, run_of = run_pixels(runs, ink.shape[1])
    labels = np.full(ink.size, -1)
    labels[pixels] = piece[run_of]
    boxes = np.stack([x0, runs.rows[firsts], x1, y1], axis=1)
    return labels.reshape(ink.shape), boxes, np.bincount(labels[pixels], weights=ink.ravel()[pixels])


def label_components_each(masks: list[np.ndarray]) -> list[np.ndarray]:
    """`label_components` of each mask, found in few passes: masks side by side, a blank column
    between them so that no piece reaches across. Each mask's labels group its cells as
    `label_components` does and keep their order (a piece that starts earlier in raster order has
    a smaller label), but they are flat indices into a row of masks, not into the mask."""
    masks = [np.asarray(mask, bool) for mask in masks]
    labels: list[np.ndarray] = []
    for held, row, columns in side_by_side(masks, bool):
        row_labels = label_components(row)
        labels += [row_labels[:mask.shape[0], column:column + mask.shape[1]]
                   for mask, column in zip(masks[held], columns, strict=True)]
    return labels


def side_by_side(planes: list[np.ndarray], dtype: type) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """The planes (2-D) laid side by side in rows, a blank column after each so that no piece
    reaches across: for each row, which planes it holds, the row, and each plane's first column.

    Labelling costs a few dozen array operations whatever the mask's size: a number's hundred
    candidate crops are far cheaper labelled together than one by one. A row holds at most
    LABELLED_TOGETHER cells, so that the crops of a large photo do not take much memory at once.
    """
    start = 0
    while start < len(planes):
        end, cells = start + 1, planes[start].size
        while end < len(planes) and cells + planes[end].size <= LABELLED_TOGETHER:
            cells += planes[end].size
            end += 1
        held = planes[start:end]
        columns = np.cumsum([0] + [plane.shape[1] + 1 for plane in held])
        row = np.zeros((max(plane.shape[0] for plane in held), int(columns[-1])), dtype)
        for plane, column in zip(held, columns[:-1], strict=True):
            row[:plane.shape[0], column:column + plane.shape[1]] = plane
        yield slice(start, end), row, columns[:-1]
        start = end

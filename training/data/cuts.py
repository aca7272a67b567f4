"""Where touching digits part: paths from top to bottom through the least ink, and the set of
cuts whose parts read best together."""

# A straight cut through digits that overlap slices strokes of both; a path may bend round
# them. Each path runs down one row at a time, stepping at most one column left or right, and
# costs the ink it crosses plus a little per sideways step (so that it runs straight through
# blank space). Paths are traced from the bottom row up and from the top row down: the two
# trees find different routes between the same digits.
#
# A part that may hold several digits is divided by a chain of those paths: every stretch of
# ink between two paths (or a path and an edge) that could be one digit is read, and the chain
# whose stretches read best together wins (dynamic programming over the paths, left to right).

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from training.data.components import ink_runs, run_pixels, side_by_side

# What a sideways step costs, in ink units (a fully inked pixel costs 1).
STEP_COST = 0.1
# Pieces of a side lighter than this share of its heaviest piece are slivers of the neighbour.
SLIVER = 0.1
# Two paths closer than this share of the window width on average are one: such paths part the
# same digits, and each path kept adds a reading of every stretch it bounds. Chosen on numbers
# composed with other seeds than the bench's, where it read as many numbers right as 0.25 did.
SAME_PATH = 0.75
# Without a model, a stretch wider than SHAPE_WIDEST digit heights loses SHAPE_SLOPE per height.
SHAPE_WIDEST = 1.4
SHAPE_SLOPE = 4.0


@dataclass(frozen=True)
class Stretch:
    """The ink between two of a part's boundaries (0 and `len(paths) + 1` are its edges)."""

    left: int
    right: int
    ink: np.ndarray  # at the full size of the part's ink, 0 outside the stretch


def cut_paths(ink: np.ndarray, narrowest: int, spacing: float) -> list[np.ndarray]:
    """The cheapest path through `ink` (H, W) ending in each window of `spacing` columns, each a
    column per row (H,), leaving both sides at least `narrowest` columns wide.

    The cheapest paths overall crowd into the clearest gap; one per window finds a way between
    every two digits, even where they overlap. The cut leaves pixels left of the path's column
    on the left side, the rest on the right.
    """
    width = ink.shape[1]
    if width < 2 * narrowest:
        return []
    # Outside the band a side would be too narrow: the paths never go there.
    band = np.full(width, np.inf)
    band[narrowest:width - narrowest + 1] = 0
    total, moves = _cheapest_paths(ink + band)
    ends = []
    for start in np.arange(narrowest, width - narrowest + 1, max(1.0, spacing)):
        window = np.arange(int(start), min(int(start + max(1.0, spacing)), width - narrowest + 1))
        if len(window):
            ends.append(int(window[np.argmin(total[window])]))
    return [_trace(moves, end) for end in dict.fromkeys(ends)]


def boundaries(ink: np.ndarray, narrowest: int, spacing: float,
               straight: bool = False) -> tuple[list[np.ndarray], list[bool]]:
    """The part's left edge, the distinct cut paths traced from the bottom and from the top (and,
    when `straight`, a vertical cut every `spacing` columns), and its right edge, left to right by
    their mean column; and whether each is one of the vertical cuts (a traced path may run
    straight down too, and is no less a path for it)."""
    height, width = ink.shape
    down = cut_paths(ink, narrowest, spacing)
    up = [path[::-1] for path in cut_paths(ink[::-1], narrowest, spacing)]
    paths: list[np.ndarray] = []
    for path in down + up:
        if all(np.abs(path - other).mean() >= SAME_PATH * spacing for other in paths):
            paths.append(path)
    # Where digits overlap, a path bends round one of them and leaves the stroke it went round on
    # the wrong side; a vertical cut gives each digit its own columns, the overlap to neither.
    traced = len(paths)
    if straight and width >= 2 * narrowest:
        # Column i is narrowest + i × step, rounded down, as the exported page steps (np.arange
        # steps by its own rounding, and put a cut a column lower than the page for some heights).
        step = max(1.0, spacing)
        columns = itertools.takewhile(lambda column: column < width - narrowest + 1,
                                      (narrowest + i * step for i in itertools.count()))
        paths += [np.full(height, column) for column in dict.fromkeys(int(column) for column in columns)]
    order = sorted(range(len(paths)), key=lambda index: float(paths[index].mean()))
    return ([np.zeros(height, int), *(paths[index] for index in order), np.full(height, width)],
            [False, *(index >= traced for index in order), False])


def stretches(ink: np.ndarray, edges: list[np.ndarray], narrowest: float, widest: float,
              vertical: list[bool] | None = None, narrowest_straight: float = 0.0,
              lowest: float = 0.0) -> list[Stretch]:
    """The ink between each pair of boundaries whose columns are `narrowest` to `widest` apart on
    average (`narrowest_straight` beside a `vertical` cut, as `boundaries` flags them; slivers of
    the neighbours removed) and at least `lowest` rows high, that lies on some chain of such
    stretches from the left edge to the right; and the whole, which is always a candidate."""
    last = len(edges) - 1
    # A vertical cut through a wide digit leaves a stroke that reads surely as a 1.
    vertical = np.array(vertical or [False] * len(edges))
    paths = np.stack(edges)
    totals = paths.sum(axis=1)  # a spread is a difference of totals over rows, exact in integers
    sides = {}
    # The stretches from one boundary are cut out together, a few array operations for them all.
    for left in range(last):
        rights = np.arange(left + 1, last + 1)
        spread = (totals[rights] - totals[left]) / ink.shape[0]
        least = np.where(vertical[left] | vertical[rights], max(narrowest, narrowest_straight), narrowest)
        rights = rights[(least <= spread) & (spread <= widest)]
        sides |= _between(ink, paths, left, [int(right) for right in rights if (left, right) != (0, last)])
        if left == 0:  # the whole, in its place among the stretches from the left edge
            sides |= _between(ink, paths, 0, [last])
    # Ink too low already, or off every chain, is never read: removing slivers only lowers it.
    sides = {link: side for link, side in sides.items()
             if link == (0, last) or ink_rows(side[2]) >= lowest}
    # Slivers are found within each stretch's own columns, once per distinct ink, all together.
    links = _on_chains(last, list(sides))
    keys = [(sides[link][0], sides[link][2].tobytes()) for link in links]
    distinct = {key: sides[link][2] for key, link in zip(keys, links, strict=True)}
    cleaned = dict(zip(distinct, without_slivers_each(list(distinct.values())), strict=True))
    rows = {key: ink_rows(side) for key, side in cleaned.items()}
    found = []
    for (left, right), key in zip(links, keys, strict=True):
        if rows[key] and ((left, right) == (0, last) or rows[key] >= lowest):
            x0, x1, _ = sides[left, right]
            full = np.zeros_like(ink)
            full[:, x0:x1] = cleaned[key]
            found.append(Stretch(left, right, full))
    return [found[i] for i in _on_chains(last, [(s.left, s.right) for s in found], indices=True)]


def _between(ink: np.ndarray, paths: np.ndarray, left: int, rights: list[int]) -> dict:
    """{(left, right): (x0, x1, the ink between the two paths in columns x0 to x1)} for each right."""
    if not rights:
        return {}
    x0, ends = int(paths[left].min()), paths[rights].max(axis=1)
    window = np.arange(x0, int(ends.max()))
    inside = (window >= paths[left][:, np.newaxis])[np.newaxis] & (window < paths[rights][:, :, np.newaxis])
    cut = np.where(inside, ink[np.newaxis, :, x0:x0 + len(window)], 0)
    return {(left, right): (x0, int(end), side[:, :end - x0])
            for right, end, side in zip(rights, ends, cut, strict=True)}


def _on_chains(last: int, links: list[tuple[int, int]], indices: bool = False) -> list:
    """The links (or their indices) on some chain from boundary 0 to boundary `last`, in order."""
    reached, reaches = {0}, {last}
    for left, right in sorted(links, key=lambda link: link[1]):
        if left in reached:
            reached.add(right)
    for left, right in sorted(links, key=lambda link: -link[0]):
        if right in reaches:
            reaches.add(left)
    kept = [i for i, (left, right) in enumerate(links) if left in reached and right in reaches]
    return kept if indices else [links[i] for i in kept]


def ink_rows(ink: np.ndarray) -> int:
    """How many rows from the top of `ink` to its bottom (0 without ink)."""
    rows = np.flatnonzero(ink.any(axis=1))
    return int(rows[-1] + 1 - rows[0]) if len(rows) else 0


def widened(ink: np.ndarray, edges: list[np.ndarray], left: int, right: int, reach: int) -> np.ndarray:
    """The stretch of `ink` between boundaries `left` and `right`, reaching `reach` columns past
    each cut path into the neighbour (never past the part's edges), slivers removed."""
    columns = np.arange(ink.shape[1])[np.newaxis, :]
    start = edges[left] - (reach if left > 0 else 0)
    end = edges[right] + (reach if right < len(edges) - 1 else 0)
    inside = (columns >= start[:, np.newaxis]) & (columns < end[:, np.newaxis])
    return without_slivers(np.where(inside, ink, 0))


def cropped(box: tuple[int, int, int, int], ink: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The box (x0, y0, x1, y1) and ink of `ink`'s inked rectangle, `ink` being `box`'s."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    x0, y0 = box[0] + int(cols[0]), box[1] + int(rows[0])
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return (x0, y0, x0 + crop.shape[1], y0 + crop.shape[0]), np.ascontiguousarray(crop)


def best_chain(ends: int, links: Sequence[tuple[int, int]], gains: np.ndarray) -> list[int]:
    """The links (left, right) that chain boundary 0 to boundary `ends` with the greatest sum of
    gains, as indices into `links`, left to right; ties go to the chain of fewer links."""
    best = np.full(ends + 1, -np.inf)
    count = np.zeros(ends + 1, int)
    came = np.full(ends + 1, -1)
    best[0] = 0.0
    for index in sorted(range(len(links)), key=lambda i: links[i][1]):
        left, right = links[index]
        total = best[left] + gains[index]
        fewer = count[left] + 1 < count[right]
        if total > best[right] + 1e-9 or (total > best[right] - 1e-9 and fewer):
            best[right], count[right], came[right] = total, count[left] + 1, index
    if came[ends] < 0:
        raise ValueError("no chain of links reaches the last boundary")
    chain, at = [], ends
    while at > 0:
        chain.append(int(came[at]))
        at = links[came[at]][0]
    return chain[::-1]


def shape_score(height: float) -> Callable[[list[np.ndarray]], np.ndarray]:
    """Without a model: a stretch up to SHAPE_WIDEST digit heights wide is surely a digit (1.0),
    wider ones less so the wider they are."""

    def score(inks: list[np.ndarray]) -> np.ndarray:
        widths = np.array([np.ptp(np.flatnonzero(ink.any(axis=0))) + 1 for ink in inks]) / height
        return np.exp(-SHAPE_SLOPE * np.maximum(widths - SHAPE_WIDEST, 0))

    return score


def without_slivers(side: np.ndarray) -> np.ndarray:
    """`side` without the pieces of ink far lighter than its heaviest one."""
    return without_slivers_each([side])[0]


def without_slivers_each(sides: list[np.ndarray]) -> list[np.ndarray]:
    """`without_slivers` of each side (float32), their pieces found and weighed together."""
    kept: list[np.ndarray] = []
    for held, row, columns in side_by_side(sides, np.float32):
        runs = ink_runs(row > 0)
        firsts, piece_of_run = np.unique(runs.component, return_inverse=True)
        cells, run_of_cell = run_pixels(runs, row.shape[1])
        flat = row.reshape(-1)
        masses = np.bincount(piece_of_run[run_of_cell], weights=flat[cells], minlength=len(firsts))
        # A piece's first run is its top left: the column it starts in says whose side it is.
        owner = np.searchsorted(columns, runs.starts[firsts], side="right") - 1
        heaviest = np.zeros(len(columns))
        np.maximum.at(heaviest, owner, masses)
        light = (masses < SLIVER * heaviest[owner])[piece_of_run]
        flat[cells[light[run_of_cell]]] = 0
        kept += [row[:side.shape[0], column:column + side.shape[1]]
                 for side, column in zip(sides[held], columns, strict=True)]
    return kept


def _cheapest_paths(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cost of the cheapest path ending at each column of the last row, and each pixel's
    step (-1, 0, 1: the column it came from, relative to its own)."""
    height, width = ink.shape
    moves = np.zeros((height, width), np.int8)
    # Each row's totals sit between two columns of inf; the three ways in are filled in place
    # (this loop is most of the time a number takes to read).
    padded = np.full(width + 2, np.inf)
    padded[1:-1] = ink[0]
    options = np.empty((3, width))
    for row in range(1, height):
        np.add(padded[:-2], STEP_COST, out=options[0])
        options[1] = padded[1:-1]
        np.add(padded[2:], STEP_COST, out=options[2])
        moves[row] = options.argmin(axis=0) - 1
        np.add(options.min(axis=0), ink[row], out=padded[1:-1])
    return padded[1:-1].copy(), moves


def _trace(moves: np.ndarray, end: int) -> np.ndarray:
    path = np.empty(len(moves), int)
    column = end
    for row in range(len(moves) - 1, -1, -1):
        path[row] = column
        column += int(moves[row, column])
    return path

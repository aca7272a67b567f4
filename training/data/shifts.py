"""Test-time views: a digit's answer averages the logits of the image and its four 1-pixel shifts.

A model trained with shifted digits reads each shift a little differently; the mean of the five
readings is steadier than any one of them: default runs read MNIST test better from the five views
than from the image alone, with each seed tried (see BENCHMARKS.md). Only the answer uses them:
explanations, neighbours and the doubt rule's distances read the image as drawn (view 0).
The exported page builds the same views in `web_export/static/model.js`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# (rows down, columns right); the first view is the image itself.
SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))
VIEWS = len(SHIFTS)


def shifted_views(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) images → (N × VIEWS, 28, 28): each image's views in a row, SHIFTS' order.

    Pixels shifted in from outside are blank (0), as on a canvas: nothing wraps around.
    """
    images = np.asarray(images)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    height, width = images.shape[1:]
    views = np.stack([padded[:, 1 - down:1 - down + height, 1 - right:1 - right + width]
                      for down, right in SHIFTS], axis=1)
    return views.reshape(-1, height, width)


def mean_over_views(values: np.ndarray) -> np.ndarray:
    """(N × VIEWS, ...) rows from `shifted_views`' images → (N, ...) means, one per image."""
    values = np.asarray(values)
    return values.reshape(-1, VIEWS, *values.shape[1:]).mean(axis=1)


def answer_logits(logits_of: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> np.ndarray:
    """The logits the answer is read from: `logits_of` each view, averaged per image (N, 10)."""
    images = np.asarray(images)
    if len(images) == 0:
        return np.zeros((0, 10), np.float32)
    return mean_over_views(logits_of(shifted_views(images)))

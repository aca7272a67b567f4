"""The views an answer averages: the image and its four 1-pixel shifts, nothing wrapping around."""

from __future__ import annotations

import numpy as np

from training.data.shifts import SHIFTS, VIEWS, answer_logits, mean_over_views, shifted_views


def test_each_view_moves_the_ink_one_pixel_and_blank_pixels_shift_in():
    images = np.zeros((2, 28, 28), np.float32)
    images[0, 5, 7] = 1.0
    images[1, 0, 27] = 1.0  # in the corner: a shift out of the grid loses it instead of wrapping
    views = shifted_views(images).reshape(2, VIEWS, 28, 28)
    assert SHIFTS[0] == (0, 0)
    np.testing.assert_array_equal(views[:, 0], images)
    for index, (down, right) in enumerate(SHIFTS):
        assert [tuple(p) for p in np.argwhere(views[0, index])] == [(5 + down, 7 + right)]
    corner = [len(np.argwhere(view)) for view in views[1]]
    assert corner == [1, 0, 1, 1, 0]  # right and up push it off the grid


def test_the_answer_is_the_mean_of_the_views_logits():
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28)).astype(np.float32)
    weights = rng.normal(size=(28 * 28, 10)).astype(np.float32)

    def logits_of(batch):
        return batch.reshape(len(batch), -1) @ weights

    views = shifted_views(images)
    expected = np.stack([logits_of(views[i * VIEWS:(i + 1) * VIEWS]).mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(answer_logits(logits_of, images), expected, rtol=1e-5)
    np.testing.assert_allclose(mean_over_views(logits_of(views)), expected, rtol=1e-5)
    assert answer_logits(logits_of, images[:0]).shape == (0, 10)

"""The real-handwriting check: digits by writers outside MNIST, placed the way a drawing arrives."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kit.optdigits import CHECK_INDICES, optdigits_canvas, optdigits_inputs


def test_the_check_uses_only_the_first_900_scanned_digits_and_keeps_their_labels():
    from sklearn.datasets import load_digits

    assert (min(CHECK_INDICES), max(CHECK_INDICES)) == (0, 899)  # 900–1796 stay held back, unread
    images, labels = optdigits_canvas(range(20))
    np.testing.assert_array_equal(labels, load_digits().target[:20])
    assert images.shape == (20, 280, 280) and images.dtype == np.uint8
    again, _ = optdigits_canvas(range(20))
    np.testing.assert_array_equal(images, again)  # the same check every time


def test_digits_land_at_different_sizes_and_places_and_reach_the_model_mnist_style():
    images, _ = optdigits_canvas(range(40))
    inked = images > 40
    heights = inked.any(axis=2).sum(axis=1)
    tops = inked.any(axis=2).argmax(axis=1)
    assert heights.max() - heights.min() > 40 and tops.max() - tops.min() > 40
    inputs, _ = optdigits_inputs(range(40))
    ink = inputs.reshape(40, 28, 28)
    mass = ink.sum(axis=(1, 2))
    grid = np.arange(28)
    centre_row = (ink.sum(axis=2) @ grid) / mass
    centre_col = (ink.sum(axis=1) @ grid) / mass
    assert np.abs(centre_row - 14).max() < 1.5 and np.abs(centre_col - 14).max() < 1.5
    assert (ink.max(axis=(1, 2)) > 0.7).all()  # dark strokes, as MNIST has


@pytest.mark.slow
def test_the_benchmark_reports_each_source_with_its_errors_and_confusions(trained_store):
    from scripts.bench_real_writers import measure

    section = measure(str(trained_store.root), None)
    names = [row["measure"] for row in section["rows"]]
    for source in ("MNIST test", "optdigits 0–899", "hard set"):
        assert any(name.startswith(source) and name.endswith("read right") for name in names), source
        assert any(name.startswith(source) and name.endswith("most confused") for name in names), source
    assert any("thickest pens" in name for name in names)
    scribbles = next(row for row in section["rows"] if row["measure"].endswith("flagged: scribble"))
    assert scribbles["value"].endswith("%")

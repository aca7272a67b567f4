"""The hard check set and the non-digits: fixed by their seed, every style present, labels by construction."""

from __future__ import annotations

import numpy as np

from tests.kit.hard_digits import STYLES, make_hard_digits, per_style_accuracy
from tests.kit.nondigits import KINDS, make_nondigits


def test_the_same_seed_gives_the_same_hard_digits_and_every_style_has_its_share():
    images, labels, styles = make_hard_digits(per_style=10, seed=3)
    again, _, _ = make_hard_digits(per_style=10, seed=3)
    assert images.shape == (10 * len(STYLES), 280, 280) and images.dtype == np.uint8
    assert (images == again).all()
    assert {s: (styles == s).sum() for s in STYLES} == dict.fromkeys(STYLES, 10)
    # Shape styles are one digit by construction; the others cycle through all ten.
    assert set(labels[styles == "european-1"]) == {1} and set(labels[styles == "crossed-7"]) == {7}
    assert set(labels[styles == "marker"]) == set(range(10))
    assert all((image > 0).sum() > 50 for image in images)  # every image has ink
    assert not (make_hard_digits(per_style=10, seed=4)[0] == images).all()


def test_per_style_accuracy_reports_each_style_and_the_overall_share():
    labels = np.array([1, 1, 7, 7])
    styles = np.array(["european-1", "european-1", "crossed-7", "crossed-7"])
    result = per_style_accuracy(np.array([1, 4, 7, 7]), labels, styles)
    assert result == {"european-1": 0.5, "crossed-7": 1.0, "overall": 0.75}


def test_nondigits_are_fixed_by_their_seed_and_have_every_kind():
    images, kinds = make_nondigits(per_kind=4, seed=0)
    assert (images == make_nondigits(per_kind=4, seed=0)[0]).all()
    assert list(kinds) == [kind for kind in KINDS for _ in range(4)]
    assert all((image > 0).sum() > 20 for image in images)

"""The exported page's number mode in headless Chromium, with the real tf.js and the exported model.

The page finds the digits in JavaScript (segment.js, cuts.js, numbers.js) by the rules of
training/data/segment.py and cuts.py; it must read the same number, with the same boxes and the
same words, as `training.reading.numbers.read_number` for every image of the check set: numbers
composed from MNIST test digits (with gaps, and touching), numbers in handwriting typefaces, and
a few images that take other paths (too large to read whole, in colour, ink on transparency).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.kit.composed_numbers import compose, composed_numbers, side_by_side
from tests.kit.export_number_page import NUMBER, as_python_reads, as_the_page_reads, open_image
from tests.kit.export_page import open_page, requests_elsewhere
from training.data.components import label_components
from training.data.ink import ink_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

NUMBERS_PER_KIND = 20


def check_set(kind: str, mnist) -> list[tuple[str, np.ndarray]]:
    """(name, image) of one kind of the check set."""
    if kind in ("gaps", "touching"):
        numbers = composed_numbers(mnist.x_test, mnist.y_test, NUMBERS_PER_KIND, kind=kind, seed=7)
        return [(f"{kind}-{i}-{n.text}", n.image) for i, n in enumerate(numbers)]
    if kind == "typefaces":
        from tests.kit.typefaces import TYPEFACES, font_file, typeset_numbers

        if not font_file(TYPEFACES[0]).exists():
            pytest.skip("the @fontsource fonts are missing (npm ci installs them)")
        return [(f"{n.typeface}-{n.text}", n.image) for n in typeset_numbers(len(TYPEFACES), seed=7)]
    if kind == "narrow-pairs":
        return narrow_pairs(mnist)
    if kind == "ones-touching":
        return ones_touching(mnist)
    if kind == "wide-digits":
        return wide_digits(mnist)
    # Other paths: an image shrunk before it is read, a colour photo, a drawing on a transparent
    # background, a 5 whose bar was drawn beside its stem (a short stroke that may join it).
    digits = [mnist.x_test[i] for i in range(3)]
    large = compose(digits, [int(d) for d in mnist.y_test[:3]], np.random.default_rng(1), scale=16).image
    row = side_by_side([mnist.x_test[i] for i in range(3, 7)])
    colour = np.stack([255 - row // 2, 255 - row, 240 - row // 3], axis=-1).astype(np.uint8)
    transparent = np.zeros((*row.shape, 4), np.uint8)
    transparent[..., 3] = row
    bar_beside = np.asarray(Image.fromarray(mnist.x_test[694]).resize((84, 84), Image.BILINEAR))
    return [("large", large), ("colour", colour), ("transparent", transparent), ("bar-beside", bar_beside)]


def wide_digits(mnist, count: int = 40) -> list[tuple[str, np.ndarray]]:
    """(name, image) of single MNIST test digits at least as wide as high, enlarged as a drawing is:
    cuts read well in some of them, and a digit that reads surely whole stays one."""
    def wide(image: np.ndarray) -> bool:
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        return cols[-1] - cols[0] >= rows[-1] - rows[0]

    chosen = [i for i in range(len(mnist.x_test)) if wide(mnist.x_test[i])][:count]
    return [(f"wide-{mnist.y_test[i]}-{i}", np.asarray(Image.fromarray(mnist.x_test[i]).resize((112, 112),
                                                                                             Image.BILINEAR)))
            for i in chosen]


# MNIST test digits (indices) that are narrow and, drawn touching, make one part no wider than it
# is high; a quickly trained model doubts some of them, and a second look cuts those.
NARROW_PAIRS = ((1262, 286), (112, 286), (175, 499), (621, 621), (5, 497), (112, 65), (175, 497), (443, 65))


def narrow_pairs(mnist) -> list[tuple[str, np.ndarray]]:
    """(name, image) of two narrow digits touching: one part that only a second look, once it
    reads in doubt, may cut."""
    pairs = []
    for first, second in NARROW_PAIRS:
        left, right = (image[:, np.flatnonzero(image.any(axis=0))] for image in mnist.x_test[[first, second]])
        canvas = np.zeros((44, left.shape[1] + right.shape[1] + 15), np.uint8)
        canvas[8:36, 8:8 + left.shape[1]] = left
        window = canvas[8:36, 7 + left.shape[1]:7 + left.shape[1] + right.shape[1]]
        np.maximum(window, right, out=window)
        image = np.asarray(Image.fromarray(canvas).resize((canvas.shape[1] * 3, 132), Image.BILINEAR))
        pairs.append((f"narrow-{mnist.y_test[first]}{mnist.y_test[second]}-{first}-{second}", image))
    return pairs


def ones_touching(mnist, count: int = 36) -> list[tuple[str, np.ndarray]]:
    """(name, image) of a 1 touching another digit, one piece of ink: a part that reads as one digit
    and that only a cut at its neck (`training.data.second_look`) may divide. Enough of them that a
    few are cut at a neck whichever way the test model reads them."""
    rng = np.random.default_rng(3)
    ones, others = np.flatnonzero(mnist.y_test == 1), np.flatnonzero(mnist.y_test != 1)
    pairs = []
    while len(pairs) < count:
        chosen = [int(rng.choice(ones)), int(rng.choice(others))][::rng.choice([1, -1])]
        pair = compose(list(mnist.x_test[chosen]), [int(mnist.y_test[i]) for i in chosen], rng,
                       kind="touching", scale=2)
        mask = ink_map(pair.image) > 0
        if len(np.unique(label_components(mask)[mask])) == 1:
            pairs.append((f"ones-touching-{pair.text}-{chosen[0]}-{chosen[1]}", pair.image))
    return pairs


@pytest.mark.parametrize("kind", ["gaps", "touching", "typefaces", "narrow-pairs", "ones-touching",
                                  "wide-digits", "other-paths"])
def test_the_page_and_python_read_the_same_number_in_every_image(page, default_site, predictor, mnist,
                                                                 tmp_path, kind, monkeypatch):
    import training.data.second_look as looks
    import training.reading.numbers as numbers

    images = check_set(kind, mnist)
    # So are parts cut at a neck.
    neck_cuts = []
    cut_at_necks = looks._cut_at_necks
    monkeypatch.setattr(looks, "_cut_at_necks", lambda parts, *rest: neck_cuts.append(
        len(done := cut_at_necks(parts, *rest)) - len(parts)) or done)
    # Parts cut only once read in doubt (`second_look`) are among those the page must agree on.
    second_cuts = []
    first_look = numbers.second_look
    monkeypatch.setattr(numbers, "second_look", lambda ink, parts, *rest: second_cuts.append(
        len(again := first_look(ink, parts, *rest)) - len(parts)) or again)
    # So are digits read surely whole, kept as one where parts were found.
    kept_whole = []
    as_one = numbers._as_one
    monkeypatch.setattr(numbers, "_as_one",
                        lambda ink, parts: kept_whole.append(len(parts)) or as_one(ink, parts))
    # So are wide digits cut in two, then read whole again as surer whole than a half.
    unbroken, unbroken_calls, read_whole_again = numbers._unbroken, [], []
    monkeypatch.setattr(numbers, "_unbroken", lambda parts: unbroken_calls.append(unbroken(parts))
                        or unbroken_calls[-1])
    log = open_page(page, default_site.as_uri() + "/index.html")
    page.get_by_role("button", name="A number").click()
    differences = []
    for name, image in images:
        path = tmp_path / f"{name}.png"
        Image.fromarray(image).save(path)
        unbroken_calls.clear()
        expected, shown = as_python_reads(predictor, path), open_image(page, path)
        read_whole_again.append(any(unbroken_calls) and len(expected[1]) == 1)
        if shown is None or as_the_page_reads(shown) != expected:
            differences.append((name, expected, shown and as_the_page_reads(shown)))
    assert not differences, f"{len(differences)} of {len(images)} differ: {differences}"
    assert kind != "narrow-pairs" or any(second_cuts)
    assert kind != "ones-touching" or any(neck_cuts)
    assert kind != "wide-digits" or any(found > 1 for found in kept_whole)
    assert kind != "wide-digits" or any(read_whole_again)
    # What the page shows is that reading: the number in large type and a box over each digit.
    expect(page.locator(NUMBER)).to_have_attribute("data-number", expected[0])
    expect(page.locator(NUMBER)).to_have_text(expected[0])
    expect(page.locator("#number-boxes")).to_have_attribute("data-count", str(len(expected[1])))
    expect(page.locator("#number-digits li")).to_have_count(len(expected[1]))
    assert not log.errors and not requests_elsewhere(page, log, default_site.as_uri() + "/"), log.requests

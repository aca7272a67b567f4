"""Reading whole numbers: the digits found left to right, each read as one digit is, doubt said where.

Numbers are composed from MNIST *test* digits (never training ones): with gaps, or touching and
overlapping by up to 15% of a digit's width. The floors on shares were set below what the quickly
trained model of `trained_store` reads (see the report of issue 29).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.kit.cli import cli
from tests.kit.composed_numbers import compose, composed_numbers, side_by_side
from tests.kit.drawn_digits import TEMPLATES
from tests.kit.nondigits import nondigits_of_kind
from tests.kit.typefaces import typeset_numbers
from training.data.components import ink_pieces, label_components
from training.data.ink import EmptyDrawingError, ink_map
from training.data.second_look import second_look
from training.data.segment import TooManyPartsError, find_parts


def first_of(mnist, digit: int, skip: int = 0) -> np.ndarray:
    """A test-split image of `digit` (the `skip`-th one)."""
    return mnist.x_test[np.flatnonzero(mnist.y_test == digit)[skip]]


def five_with_a_lifted_bar(size: int = 200, pen: int = 14) -> np.ndarray:
    """A 5 whose bar was drawn after lifting the pen: two separate strokes, white on black."""
    body, _ = TEMPLATES[5][0]
    bar = [(0.3, -0.12), (0.95, -0.15)]  # starts right of the stem, above it: the ink does not meet

    def place(x: float, y: float) -> tuple[float, float]:
        return size * (0.3 + 0.4 * x), size * (0.25 + 0.6 * y)

    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    for stroke in (body, bar):
        draw.line([place(x, y) for x, y in stroke], fill=255, width=pen, joint="curve")
    return np.asarray(image)


def with_a_faint_speck(digit: np.ndarray) -> np.ndarray:
    """A 28×28 digit at 3 times the size, and far right of it a speck of a fortieth of its ink:
    a single digit's reading keeps it, the search for digits drops it."""
    canvas = np.zeros((84, 220), np.uint8)
    canvas[:, :84] = np.asarray(Image.fromarray(digit).resize((84, 84), Image.BILINEAR))
    canvas[40:44, 200:204] = min(255, round(255 * ink_map(canvas).sum() / 40 / 16))
    return canvas


def read_right(predictor, mnist, digit: int) -> np.ndarray:
    """The first test-split image of `digit` that the model reads right on its own."""
    return next(image for image in mnist.x_test[mnist.y_test == digit][:50]
                if predictor.classify(image).digit == digit)


def centred_in(box: tuple, truth: tuple) -> bool:
    """Whether the middle of `box` lies within the columns of `truth`."""
    return truth[0] <= (box[0] + box[2]) / 2 < truth[2]


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


def test_ink_pieces_are_the_pieces_a_flood_fill_finds(mnist):
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


# --- With the quickly trained model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def predictor(trained_store):
    from training.reading.for_run import load_predictor

    return load_predictor(trained_store)


@pytest.mark.slow
def test_numbers_with_gaps_read_whole_and_right(predictor, mnist):
    from training.reading.numbers import read_number

    numbers = composed_numbers(mnist.x_test, mnist.y_test, 30, kind="gaps", seed=2)
    readings = [read_number(predictor, number.image) for number in numbers]
    right = [reading.number == number.text for reading, number in zip(readings, numbers, strict=True)]
    # What the model reads in each digit alone: the number mode should lose little to finding them.
    alone = ["".join(str(predictor.classify(mnist.x_test[i]).digit) for i in number.sources)
             for number in numbers]
    as_alone = [reading.number == text for reading, text in zip(readings, alone, strict=True)]
    assert sum(right) >= 19, [reading.number for reading in readings]
    assert sum(as_alone) >= 25
    for reading, number in zip(readings, numbers, strict=True):
        if len(reading.digits) == len(number.text):
            assert [centred_in(digit.box, truth) for digit, truth in zip(reading.digits, number.boxes,
                                                                        strict=True)].count(False) == 0


@pytest.mark.slow
def test_touching_digits_are_cut_into_two_boxes(predictor, mnist):
    from training.reading.numbers import read_number

    rng = np.random.default_rng(4)
    pairs = []
    while len(pairs) < 30:  # pairs whose ink is one piece: only a cut can tell the digits apart
        chosen = rng.choice(len(mnist.x_test), 2, replace=False)
        pair = compose(list(mnist.x_test[chosen]), [int(mnist.y_test[i]) for i in chosen], rng,
                       kind="touching", scale=2)
        ink = ink_map(pair.image) > 0
        if len(np.unique(label_components(ink)[ink])) == 1:
            pairs.append(pair)
    readings = [read_number(predictor, pair.image) for pair in pairs]
    split = [len(reading.digits) == 2 and all(centred_in(digit.box, truth) for digit, truth
                                               in zip(reading.digits, pair.boxes, strict=True))
             for reading, pair in zip(readings, pairs, strict=True)]
    assert sum(split) >= 15, [reading.number for reading in readings]


@pytest.mark.slow
def test_a_1_touching_its_neighbour_is_read_as_two_digits(predictor, mnist, monkeypatch):
    import training.data.second_look as looks
    from training.reading.numbers import read_number

    rng = np.random.default_rng(11)
    ones = [image for image in mnist.x_test[mnist.y_test == 1][:200] if predictor.classify(image).digit == 1]
    others = [(image, label) for image, label in zip(mnist.x_test[:300], mnist.y_test[:300], strict=True)
              if label != 1 and predictor.classify(image).digit == label]
    pairs = []
    while len(pairs) < 40:  # a 1 and a digit whose ink is one piece, no wider than a digit is high
        (other, label), one = others[rng.integers(len(others))], ones[rng.integers(len(ones))]
        digits, text = [one, other], [1, int(label)]
        if rng.random() < 0.5:
            digits, text = digits[::-1], text[::-1]
        pair = compose(digits, text, rng, kind="touching", scale=2)
        mask = ink_map(pair.image) > 0
        one_piece = len(np.unique(label_components(mask)[mask])) == 1
        if one_piece and mask.any(axis=0).sum() <= mask.any(axis=1).sum():
            pairs.append(pair)
    right = sum(read_number(predictor, pair.image).number == pair.text for pair in pairs)
    monkeypatch.setattr(looks, "NECK_SURE", 0.0)  # as before necks were looked for
    before = sum(read_number(predictor, pair.image).number == pair.text for pair in pairs)
    assert right > before, (right, before)


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


@pytest.mark.slow
def test_after_a_second_look_every_digit_reads_as_it_reads_afresh(predictor, mnist):
    from training.data.preprocess import ink_to_mnist
    from training.reading.numbers import part_scorer, read_number

    recut = 0
    # Typefaces join digits the quickly trained model doubts: some are cut again.
    for number in typeset_numbers(150, seed=6):
        ink = ink_map(number.image)
        score = part_scorer(predictor)
        parts = find_parts(ink, score)
        if len(parts) < 2:  # one part is read as the whole image is
            continue
        _, verdicts = predictor.judge_batch(np.stack([ink_to_mnist(part.ink) for part in parts]))
        again = second_look(ink, parts, [verdict.unsure for verdict in verdicts], score)
        if len(again) == len(parts):
            continue
        recut += 1
        # The parts the second look kept were not read again: their first reading stands.
        reading = read_number(predictor, number.image)
        probabilities, verdicts = predictor.judge_batch(np.stack([ink_to_mnist(part.ink) for part in again]))
        assert [digit.verdict for digit in reading.digits] == verdicts
        np.testing.assert_allclose([digit.probabilities for digit in reading.digits], probabilities,
                                   rtol=0, atol=1e-6)
        assert [digit.box for digit in reading.digits] == [part.box for part in again]
    assert recut >= 1


@pytest.mark.slow
def test_a_42_reads_42_with_two_boxes_left_to_right(predictor, mnist):
    from training.reading.numbers import read_number

    four, two = (read_right(predictor, mnist, digit) for digit in (4, 2))
    number = compose([four, two], [4, 2], np.random.default_rng(0), scale=3, polarity="black-on-white")
    reading = read_number(predictor, number.image)
    assert reading.number == "42" and not reading.unsure
    left, right = (digit.box for digit in reading.digits)
    assert left[2] <= right[0]
    for box, truth in zip((left, right), number.boxes, strict=True):
        assert max(abs(a - b) for a, b in zip(box, truth, strict=True)) <= 3  # pixels of the image


@pytest.mark.slow
def test_boxes_are_in_the_pixels_of_an_image_too_large_to_read_whole(predictor, mnist):
    from training.data.ink import MAX_SIDE
    from training.reading.numbers import read_number

    digits = [read_right(predictor, mnist, digit) for digit in (3, 1, 4)]
    number = compose(digits, [3, 1, 4], np.random.default_rng(1), scale=16)
    assert number.image.shape[1] > MAX_SIDE  # read at a smaller size, answered at this one
    reading = read_number(predictor, number.image)
    assert len(reading.digits) == 3
    for digit, truth in zip(reading.digits, number.boxes, strict=True):
        assert max(abs(a - b) for a, b in zip(digit.box, truth, strict=True)) <= 16  # a pixel, read small


@pytest.mark.slow
def test_a_five_with_a_lifted_bar_stays_one_digit(predictor, mnist):
    from training.reading.numbers import read_number

    five = five_with_a_lifted_bar()
    alone = read_number(predictor, five)
    assert len(alone.digits) == 1
    number = read_number(predictor, side_by_side([first_of(mnist, 3), five, first_of(mnist, 2)]))
    assert len(number.digits) == 3
    assert number.digits[1].box[1] == min(digit.box[1] for digit in number.digits)  # the bar is in it


@pytest.mark.slow
def test_a_mark_that_is_no_digit_makes_the_number_unsure_and_says_where(predictor, mnist):
    from training.reading.numbers import read_number

    marks = [mark for kind in ("letter", "scribble") for mark in nondigits_of_kind(kind, 15)]
    # Marks the doubt rule flags on their own, each put between a 4 and a 2.
    flagged = [mark for mark in marks if predictor.classify(mark).verdict.not_a_digit]
    readings = [read_number(predictor, side_by_side([first_of(mnist, 4), mark, first_of(mnist, 2)]))
                for mark in flagged]
    said = [reading.unsure and "2nd" in reading.message for reading in readings]
    assert len(flagged) >= 10
    assert sum(said) >= 0.6 * len(flagged), [reading.message for reading in readings]


@pytest.mark.slow
def test_one_digit_in_number_mode_is_the_single_digit_answer(predictor, mnist):
    from training.reading.numbers import read_number

    images = [*mnist.x_test[:100], 255 - mnist.x_test[100], five_with_a_lifted_bar(),
              with_a_faint_speck(mnist.x_test[0])]
    readings = [read_number(predictor, image).digits for image in images]
    # A digit much wider than high may be cut in two when the model reads it poorly.
    assert sum(len(digits) == 1 for digits in readings) >= 97
    assert len(readings[-1]) == len(readings[-2]) == len(readings[-3]) == 1
    for image, digits in zip(images, readings, strict=True):
        if len(digits) == 1:
            single = predictor.classify(image)
            assert digits[0].digit == single.digit and digits[0].verdict == single.verdict
            np.testing.assert_array_equal(digits[0].probabilities, single.probabilities)


@pytest.mark.slow
def test_blank_and_oversized_images_are_clear_errors(predictor):
    from training.reading.numbers import read_number

    with pytest.raises(EmptyDrawingError):
        read_number(predictor, np.full((80, 300), 255, np.uint8))
    huge = np.broadcast_to(np.uint8(0), (8000, 8000))  # no memory: the size is refused first
    with pytest.raises(ValueError, match=r"^the image is too large: 8000×8000 pixels"):
        read_number(predictor, huge)


# --- The command line --------------------------------------------------------------------------------


@pytest.fixture
def number_files(tmp_path, mnist):
    """2026 (black on white), a blank page, 13 digits, a file that is not an image, 4?2 with a letter."""
    files = {name: tmp_path / f"{name}.png" for name in ("2026", "blank", "thirteen", "text", "letter")}
    digits = [first_of(mnist, int(d)) for d in "2026"]
    Image.fromarray(255 - side_by_side(digits)).save(files["2026"])
    Image.new("L", (300, 80), 255).save(files["blank"])
    Image.fromarray(side_by_side([first_of(mnist, d % 10) for d in range(13)])).save(files["thirteen"])
    files["text"].write_text("not an image")
    return files


@pytest.mark.slow
def test_cli_number_json_lines(store_copy, number_files):
    names = ("2026", "blank", "thirteen", "text")
    result = cli("training", "predict", "--number", "--json", *(str(number_files[n]) for n in names),
                 env={"MNIST_STUDIO_MODELS": str(store_copy.root)})
    assert result.returncode == 1, result.stderr  # some files held no number that could be read
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(number_files[n]) for n in names]
    number = lines[0]
    expected = {"file", "number", "unsure", "digits"} | ({"message"} if number["unsure"] else set())
    assert set(number) == expected
    assert len(number["digits"]) == 4
    assert number["number"] == "".join(str(digit["digit"]) for digit in number["digits"])
    width, height = Image.open(number_files["2026"]).size
    for digit in number["digits"]:
        assert {"digit", "probabilities", "box", "unsure", "top_two"} <= set(digit)
        assert sum(digit["probabilities"]) == pytest.approx(1.0)
        assert int(np.argmax(digit["probabilities"])) == digit["digit"]
        x0, y0, x1, y1 = digit["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert [digit["box"][0] for digit in number["digits"]] == sorted(d["box"][0] for d in number["digits"])
    assert lines[1] == {"file": str(number_files["blank"]), "error": "empty"}
    assert lines[2]["error"] == "too_many_parts" and "at most 12 digits" in lines[2]["message"]
    assert lines[3]["error"] == "unreadable" and "not a readable image" in lines[3]["message"]


@pytest.mark.slow
def test_cli_number_lines_say_where_the_doubt_is(store_copy, predictor, number_files, mnist):
    from training.reading.numbers import read_number

    # The first letter that makes "4?2" unsure, as the library reads it.
    for mark in nondigits_of_kind("letter", 15):
        image = side_by_side([first_of(mnist, 4), mark, first_of(mnist, 2)])
        Image.fromarray(image).save(number_files["letter"])
        reading = read_number(predictor, number_files["letter"])
        if reading.unsure:
            break
    files = [str(number_files[n]) for n in ("2026", "letter", "blank")]
    result = cli("training", "predict", "--number", *files, env={"MNIST_STUDIO_MODELS": str(store_copy.root)})
    assert result.returncode == 0, result.stderr
    first, second, third = result.stdout.splitlines()
    assert first.startswith(f"{files[0]}: ") and first.removeprefix(f"{files[0]}: ")[:4].isdigit()
    assert second == f"{files[1]}: {reading.number} ({reading.message})"
    assert third == f"{files[2]}: empty drawing, no digit to read"
    result = cli("training", "predict", "--number", "--explain", files[0],
                 env={"MNIST_STUDIO_MODELS": str(store_copy.root)})
    assert result.returncode == 2 and "--explain reads one digit" in result.stderr


def test_ordinals_name_positions():
    from training.reading.numbers import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


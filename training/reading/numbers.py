"""Read a whole number: its digits found (`training.data.segment`), each read as one digit is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from training.core.probabilities import softmax
from training.data.ink import MAX_PIXELS, EmptyDrawingError, ImageLike, ink_map, load_image
from training.data.preprocess import inks_to_mnist
from training.data.second_look import second_look
from training.data.segment import MAX_PARTS, SURE_DIGIT, Part, Scorer, find_parts_and_height
from training.reading.doubt import Verdict
from training.reading.predictor import Predictor, prediction_fields

Box = tuple[int, int, int, int]
# How fast a part's score falls with its distance from the digits, in doubt thresholds: two
# touching digits lie further from every digit than each of them does. At the threshold a sure
# reading scores SURE_DIGIT: the segmentation cuts a part only into stretches that score more.
FAR = -math.log(SURE_DIGIT)
# Batches of crops are padded to a power of two up to this many, to a multiple of it beyond.
BATCH_STEP = 32
# A drawing whose ink scores this much read whole is one digit, neither cut nor looked at again: a
# wide 0 or 3 also reads well in two halves. A number squeezed whole into 28×28 lies far from every
# digit and scores far less. Chosen on numbers composed from MNIST test digits with other seeds
# than the bench's, and on test digits past the bench's.
ONE_DIGIT = 0.6
# No digit is this many times as wide as high: wider ink is never read whole first, which spares a
# long number that reading.
ONE_DIGIT_WIDEST = 2.0
# Ink cut into parts with no blank column between them is read whole again when the whole's log
# score is at least its least sure part's less this tie: one piece of ink is more often one digit
# than two. Chosen on MNIST test digits 2000-3999 and numbers with other seeds than the bench's.
ONE_PIECE_TIE = 0.05


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: what it reads as, and where it is in the image."""

    digit: int
    probabilities: np.ndarray  # (10,), calibrated, as for a single digit
    box: Box  # x0, y0, x1, y1 in the input image's pixels; x1 and y1 exclusive, as Pillow's crop
    verdict: Verdict
    image28: np.ndarray  # (28, 28): the digit as the model saw it


@dataclass(frozen=True)
class NumberReading:
    """The digits of a number, left to right, and whether to trust them."""

    digits: tuple[DigitReading, ...]

    @property
    def number(self) -> str:
        """The digits read, best guesses included: "2026"."""
        return "".join(str(digit.digit) for digit in self.digits)

    @property
    def unsure(self) -> bool:
        """True when some digit is doubted or some part is no digit at all."""
        return any(digit.verdict.unsure for digit in self.digits)

    @property
    def message(self) -> str:
        """The sentence to show: the number, or where the doubt is."""
        doubts = [_doubt(position, digit.verdict) for position, digit in enumerate(self.digits, start=1)
                  if digit.verdict.unsure]
        if not doubts:
            return f"Predicted number: {self.number}"
        sentence = "; ".join(doubts)
        return sentence[0].upper() + sentence[1:]


def read_number(predictor: Predictor, image: ImageLike, max_digits: int = MAX_PARTS) -> NumberReading:
    """Find the digits of a number in an image of any width and read each like `Predictor.classify`.

    A number of one digit reads exactly as `classify` reads the image; so does ink that reads surely
    as one digit whole (`ONE_DIGIT`), even where two halves of it would read well too, and ink cut
    into parts with no blank column between them that reads whole about as surely as its least sure
    part (`ONE_PIECE_TIE`).

    Raises:
        EmptyDrawingError: there is no ink to read.
        ValueError: not an image, too large, or more than `max_digits` parts.
    """
    if isinstance(image, str | Path | bytes):
        image = load_image(image)
    width, height = (image.shape[1], image.shape[0]) if isinstance(image, np.ndarray) else image.size
    if width * height > MAX_PIXELS:  # files are refused when opened; arrays here
        raise ValueError(f"the image is too large: {width}×{height} pixels (the limit is "
                         f"{MAX_PIXELS // 10**6} million)")
    ink = ink_map(image)
    prepared: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    scorer = part_scorer(predictor, prepared)
    parts, digit_height = find_parts_and_height(ink, scorer, max_digits)
    whole = _as_one(ink, parts) if parts else None
    readable_whole = whole is not None and whole.width <= ONE_DIGIT_WIDEST * whole.height
    whole_score = float(scorer([ink])[0]) if readable_whole else None
    one_digit = whole_score is not None and whole_score >= ONE_DIGIT
    if one_digit:
        parts = [whole]
    size = (width, height)
    readings, sureness = _read_parts(predictor, ink, parts, prepared, size, whole=len(parts) == 1)
    if not readings:
        raise EmptyDrawingError()
    if one_digit:
        return NumberReading(tuple(readings.values()))
    # A part as narrow as one digit may be two that touch (read in doubt, or narrowing to a neck):
    # tried in pieces, read again.
    doubted = [part in readings and readings[part].verdict.unsure for part in parts]
    again = second_look(ink, parts, doubted, scorer, max_digits, [sureness.get(part, 0.0) for part in parts],
                        digit_height)
    if len(again) != len(parts):
        # The parts the second look left as they were (the same objects) keep their reading.
        readings |= _read_parts(predictor, ink, [part for part in again if part not in readings],
                                prepared, size, whole=False)[0]
        parts = again
    read = [part for part in parts if part in readings]
    if (whole_score is not None and len(read) > 1 and _unbroken(read)
            and whole_score >= np.exp(-ONE_PIECE_TIE) * scorer([part.ink for part in read]).min()):
        # Ink with no blank column across it that reads as one digit about as surely as its least
        # sure part does (as two strokes are joined): a wide digit whose halves read as digits too.
        read_whole = _read_parts(predictor, ink, [whole], prepared, size, whole=True)[0]
        return NumberReading(tuple(read_whole.values()))
    return NumberReading(tuple(readings[part] for part in read))


def _as_one(ink: np.ndarray, parts: list[Part]) -> Part:
    """All the parts found as one: their boxes' union, and the ink within it."""
    x0, y0 = min(part.box[0] for part in parts), min(part.box[1] for part in parts)
    x1, y1 = max(part.box[2] for part in parts), max(part.box[3] for part in parts)
    return Part((x0, y0, x1, y1), np.ascontiguousarray(ink[y0:y1, x0:x1]))


def _unbroken(parts: list[Part]) -> bool:
    """No blank column runs between the parts (left to right): they were cut from one piece of ink."""
    return all(right.box[0] <= left.box[2] for left, right in pairwise(parts))


def _read_parts(predictor: Predictor, ink: np.ndarray, parts: list[Part], prepared: dict,
                size: tuple[int, int], *, whole: bool) -> tuple[dict[Part, DigitReading], dict[Part, float]]:
    """Each part read as one digit, in one batch (`whole`: the one part is all the ink, read as
    `classify` reads it), and how surely it is one (as `part_scorer` scores it); a mark too faint
    to read is no digit of the number and is left out."""
    images, boxes, read = [], [], []
    for part in parts:
        try:
            images.append(_prepared(ink if whole else part.ink, prepared))
        except EmptyDrawingError:
            continue
        boxes.append(_scaled(part.box, size[0] / ink.shape[1], size[1] / ink.shape[0], size))
        read.append(part)
    if not images:
        return {}, {}
    probabilities, verdicts, distances = predictor.judge_batch_with_distances(np.stack(images))
    readings = {part: DigitReading(digit=verdict.digit, probabilities=row, box=box, verdict=verdict,
                                   image28=image28)
                for part, row, verdict, box, image28 in zip(read, probabilities, verdicts, boxes, images,
                                                            strict=True)}
    return readings, dict(zip(read, _sureness(predictor, probabilities, distances), strict=True))


def part_scorer(predictor: Predictor, prepared: dict | None = None) -> Scorer:
    """How surely ink crops are one digit each with `predictor` (`training.data.segment.Scorer`):
    the top calibrated probability, times how near the crop lies to the digits the model knows
    (the doubt rule's distance: e^-FAR at its threshold, 1 on a digit's mean).

    A crop is read as it is, without the shifted views an answer averages over: scores only choose
    among the cuts of a number (a touching one has over a hundred crops), and the digits found are
    then read as any digit is.

    Each crop's 28×28 image (None: too little ink) goes into `prepared`, keyed by the crop's id
    with the crop kept alive beside it, so that the parts found need not be prepared again.
    """
    prepared = {} if prepared is None else prepared

    def score(inks: list[np.ndarray]) -> np.ndarray:
        if not inks:
            return np.zeros(0)
        # Many stretches of a part hold the same ink (cut paths that part only in blank rows):
        # each distinct crop is prepared and read once.
        first: dict[tuple, int] = {}
        which = np.array([first.setdefault((ink.shape, ink.tobytes()), len(first)) for ink in inks])
        distinct = [inks[i] for i in np.unique(which, return_index=True)[1]]
        images = _prepared_each(distinct, prepared)
        readable = [image is not None for image in images]  # None: too little ink to be a digit
        images = [np.zeros((28, 28), np.float32) if image is None else image for image in images]
        for ink, index in zip(inks, which, strict=True):  # every crop finds its 28×28 image
            prepared[id(ink)] = (ink, prepared[id(distinct[index])][1])
        # Batches padded to a few sizes: each new batch size costs memory in TensorFlow.
        count = len(images)
        padded = np.zeros((max(8, 1 << (count - 1).bit_length()) if count <= BATCH_STEP
                           else -(-count // BATCH_STEP) * BATCH_STEP, 28, 28), np.float32)
        padded[:count] = images
        logits, features = predictor.logits_and_doubt_features(padded, shifted=False)
        logits, features = logits[:count], features[:count]
        distances = None if predictor.doubt is None else predictor.doubt.distances(features)
        sureness = _sureness(predictor, softmax(logits / predictor.temperature), distances)
        return np.where(readable, sureness, 0.0)[which]

    return score


def _sureness(predictor: Predictor, probabilities: np.ndarray,
              distances: np.ndarray | list | None) -> np.ndarray:
    """`part_scorer`'s score from calibrated probabilities (N, 10) and the doubt rule's distances
    (there are none without a doubt rule)."""
    doubt = predictor.doubt
    if doubt is None:
        return probabilities.max(axis=1)
    return probabilities.max(axis=1) * np.exp(-FAR * np.asarray(distances, np.float64) / doubt.max_distance)


def number_fields(reading: NumberReading) -> dict:
    """A number's answer as `predict --number --json` prints it.

    `digits` holds each digit's fields as `predict --json` prints one digit, and its `box`; an
    unsure number also carries the sentence saying where the doubt is (`message`).
    """
    fields = {"number": reading.number, "unsure": reading.unsure,
              "digits": [{**prediction_fields(digit.probabilities, digit.verdict), "box": list(digit.box)}
                         for digit in reading.digits]}
    if reading.unsure:
        fields["message"] = reading.message
    return fields


def ordinal(position: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd"."""
    suffix = "th" if 10 <= position % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    return f"{position}{suffix}"


def _doubt(position: int, verdict: Verdict) -> str:
    if verdict.not_a_digit:
        return f"the {ordinal(position)} part does not look like a digit"
    first, second = verdict.top_two
    return f"not sure about the {ordinal(position)} digit — {first} or {second}"


def _prepared(ink: np.ndarray, prepared: dict) -> np.ndarray:
    """`ink_to_mnist(ink)`, once per crop."""
    image = _prepared_each([ink], prepared)[0]
    if image is None:
        raise EmptyDrawingError()
    return image


def _prepared_each(inks: list[np.ndarray], prepared: dict) -> list[np.ndarray | None]:
    """`inks_to_mnist(inks)`, each crop prepared once (None: too little ink to be a digit)."""
    fresh = [ink for ink in inks if id(ink) not in prepared or prepared[id(ink)][0] is not ink]
    for ink, image in zip(fresh, inks_to_mnist(fresh), strict=True):
        prepared[id(ink)] = (ink, image)
    return [prepared[id(ink)][1] for ink in inks]


def _scaled(box: Box, scale_x: float, scale_y: float, size: tuple[int, int]) -> Box:
    """A box in the ink map's pixels → the input image's (the ink map of a large image is smaller)."""
    x0, y0, x1, y1 = box
    return (math.floor(x0 * scale_x), math.floor(y0 * scale_y),
            min(size[0], math.ceil(x1 * scale_x)), min(size[1], math.ceil(y1 * scale_y)))

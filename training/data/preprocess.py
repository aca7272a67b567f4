"""Turn a drawing or a photo of a digit into a 28×28 MNIST-style image: ink 1.0 on 0.0.

MNIST's authors cropped each digit to its ink, scaled the longer side to 20 px with
anti-aliasing and put the centre of mass at the centre of a 28×28 field. We do the same, after
finding the ink whatever its colours (`training.data.ink`) and after bringing the pen width to
MNIST's typical width, because a model trained on MNIST has only ever seen 2–3 px strokes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from training.data.ink import (
    EmptyDrawingError,
    ImageLike,
    drop_specks,
    drop_specks_each,
    grow,
    ink_map,
    load_image,
)

__all__ = ["EmptyDrawingError", "ImageLike", "ink_to_mnist", "inks_to_mnist", "load_image", "to_mnist"]

SIZE = 28
INK_BOX = 20
# Index coordinates of MNIST's mean centre of mass: the field's centre, where the training set's
# mean lies to within rounding.
CENTRE = 14.0
# Intermediate resolution: the longer side of the digit while pen width is adjusted. Four times
# the final box, so that a change of one work pixel is a quarter of an MNIST pixel.
WORK_BOX = 4 * INK_BOX
# MNIST's median stroke width in work pixels, rounded: the median `stroke_width` of the first 3,000
# training digits scaled to WORK_BOX.
TARGET_STROKE = 10.0
# Pen widths within this factor of the target are left alone: MNIST varies as much.
STROKE_TOLERANCE = 1.15
# Alternating square and cross steps grow an octagon: about this many pixels per side per step.
GROWTH_PER_STEP = 1.09
# Blank work pixels around the digit while its pen is thickened: more than the most steps a pen
# of no width takes to reach the target, so that no stroke grows into the edge. Any wider margin
# gives the same digit, in more time.
WORK_MARGIN = round(TARGET_STROKE / (2 * GROWTH_PER_STEP)) + 2


def to_mnist(image: ImageLike) -> np.ndarray:
    """A drawing or photo of one digit as MNIST would show it: (28, 28) float32, ink 1.0.

    Args:
        image: a PIL image; an array (H, W), (H, W, 3) or (H, W, 4), uint8 in 0..255 or float
            in 0..1; or a path or the bytes of an image file. Light ink on dark, dark ink on
            light and strokes on a transparent background all work.

    Raises:
        EmptyDrawingError: there is no ink.
        ValueError: the input is not an image (wrong shape, NaN, unreadable file).
    """
    return ink_to_mnist(ink_map(image))


def ink_to_mnist(ink: np.ndarray) -> np.ndarray:
    """`to_mnist` from an ink map (`training.data.ink.ink_map`, or one digit's part of it).

    Raises:
        EmptyDrawingError: there is too little ink to be a digit.
    """
    return _normalise(drop_specks(ink))


def inks_to_mnist(inks: list[np.ndarray]) -> list[np.ndarray | None]:
    """`ink_to_mnist` of each ink map (a number's candidate crops), their specks found together;
    None for one with too little ink to be a digit."""
    return [None if ink is None else _normalise(ink) for ink in drop_specks_each(inks)]


# --- Size, position and pen width --------------------------------------------------------------


def _normalise(ink: np.ndarray) -> np.ndarray:
    digit = _crop(ink, 0.0)
    height, width = digit.shape
    factor = WORK_BOX / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    # Area averaging when shrinking is the anti-aliasing MNIST used; bilinear when enlarging.
    resample = Image.BOX if factor < 1 else Image.BILINEAR
    resized = np.asarray(Image.fromarray(digit, "F").resize(size, resample))
    # The margin by hand: np.pad's set-up costs more than the copy on a plane this small.
    work = np.zeros((size[1] + 2 * WORK_MARGIN, size[0] + 2 * WORK_MARGIN), np.float32)
    np.clip(resized, 0, 1, out=work[WORK_MARGIN:-WORK_MARGIN, WORK_MARGIN:-WORK_MARGIN])
    work = normalise_stroke(work)
    work = _crop(work, 0.02)
    return _place(work)


def stroke_width(ink: np.ndarray) -> float:
    """Mean pen width in pixels: ink area over half the area a one-pixel dilation adds.

    A stroke of width w and length L has area wL and grows by about 2L per pixel of dilation;
    4/π corrects for a square kernel growing diagonal strokes by up to √2.
    """
    area = float(ink.sum())
    grown = float(grow(ink, 1).sum()) - area
    if grown <= 0:
        return 0.0
    return 2 * area / grown * (4 / np.pi)


def normalise_stroke(work: np.ndarray) -> np.ndarray:
    """Thicken thin pens and thin thick ones to MNIST's width (work scale, margin around ink)."""
    width = stroke_width(work)
    if TARGET_STROKE / STROKE_TOLERANCE <= width <= TARGET_STROKE * STROKE_TOLERANCE:
        return work
    steps = round(abs(TARGET_STROKE - width) / (2 * GROWTH_PER_STEP))
    if steps == 0:
        return work
    if width < TARGET_STROKE:
        thicker = grow(work, steps)
        return thicker / thicker.max()
    for tries in range(3):
        # Eroding a blob can wipe it out; then erode less.
        thinner = -grow(-work, max(1, steps >> tries))
        if thinner.max() > 0.5:
            return thinner
    return work


def _crop(plane: np.ndarray, threshold: float) -> np.ndarray:
    inked = plane > threshold
    rows = np.flatnonzero(inked.any(axis=1))
    cols = np.flatnonzero(inked.any(axis=0))
    if rows.size == 0:
        raise EmptyDrawingError()
    return np.ascontiguousarray(plane[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], dtype=np.float32)


def _place(work: np.ndarray) -> np.ndarray:
    """Scale the longer side to 20 px and put the centre of mass at MNIST's centre, in one resample."""
    height, width = work.shape
    scale = INK_BOX / max(height, width)  # output pixels per work pixel
    total = float(work.sum())
    centre_y = float(work.sum(axis=1) @ np.arange(height)) / total
    centre_x = float(work.sum(axis=0) @ np.arange(width)) / total
    pad = int(np.ceil(SIZE / scale)) + 1
    # Pillow pads a crop reaching past the image with zeros, without a NumPy copy of the padding.
    padded = Image.fromarray(work, "F").crop((-pad, -pad, width + pad, height + pad))
    # Pillow's box is in continuous coordinates, where pixel i spans [i, i + 1).
    left = centre_x + 0.5 + pad - (CENTRE + 0.5) / scale
    top = centre_y + 0.5 + pad - (CENTRE + 0.5) / scale
    box = (left, top, left + SIZE / scale, top + SIZE / scale)
    image = padded.resize((SIZE, SIZE), Image.BOX, box=box)
    return np.clip(np.asarray(image, dtype=np.float32), 0, 1)

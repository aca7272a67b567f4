"""Find the ink in any image of a digit: read the file safely, tell pen from background, drop specks.

The first half of MNIST-style preprocessing (`training.data.preprocess.to_mnist` does the rest):
whatever the colours, the result is ink 1.0 on 0.0 at the image's own size.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from training.core.errors import first_line
from training.data.components import label_components_each

# Photos are shrunk first: a digit needs far fewer pixels than a camera gives.
MAX_SIDE = 1024
# Refused before decoding: larger files or images are a mistake or an attack (a 20,000×20,000
# PNG of one colour is a few hundred KB but 400 MB once decoded, and several GB as floats).
MAX_FILE_BYTES = 50 * 10**6
MAX_PIXELS = 40 * 10**6
# Less contrast than this (in 0..1) between the darkest and lightest pixel is a blank page.
MIN_CONTRAST = 0.15
# Ink groups lighter than this share of all ink, once nearby strokes are joined, are specks.
SPECK_SHARE = 0.02
# Speck search grid: the image is pooled to at most this many cells a side, strokes closer than
# GROUP_CELLS cells count as one group (a 5's detached bar, a 4 drawn in two strokes).
GRID = 64
GROUP_CELLS = 2

EMPTY_MESSAGE = "The canvas is empty: draw a digit."


class EmptyDrawingError(ValueError):
    """The image holds no ink (or only a few dots): there is nothing to classify."""

    def __init__(self, message: str = EMPTY_MESSAGE):
        super().__init__(message)


ImageLike = Image.Image | np.ndarray | str | Path | bytes


def load_image(source: str | Path | bytes) -> Image.Image:
    """Open an image file (path or its bytes), decoded and turned upright as the camera held it.

    Hostile files are refused before they are decoded: more than MAX_FILE_BYTES, or more than
    MAX_PIXELS once decoded (a tiny PNG can claim 20,000×20,000 pixels). An animated image gives
    its first frame.

    Raises:
        ValueError: the file is missing, empty, too large or not an image Pillow can read.
    """
    name = "the image data" if isinstance(source, bytes) else str(source)
    try:
        size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    except FileNotFoundError:
        raise ValueError(f"{name} does not exist") from None
    except OSError as error:
        raise ValueError(f"{name} cannot be read ({error.strerror or error})") from None
    if size == 0:
        raise ValueError(f"{name} is empty (0 bytes), not an image")
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{name} is too large ({size / 1e6:.0f} MB); the limit is "
                         f"{MAX_FILE_BYTES // 10**6} MB")
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as opened:
            # JPEG decodes at 1/2, 1/4 or 1/8 scale for free: a camera's 48 MP become a few.
            opened.draft(opened.mode, (2 * MAX_SIDE, 2 * MAX_SIDE))
            width, height = opened.size
            if width * height <= MAX_PIXELS:
                image = ImageOps.exif_transpose(opened)  # copies and decodes: safe after close
                image.load()
    except IsADirectoryError:
        raise ValueError(f"{name} is a folder, not an image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{name} is too large to decode safely (over {MAX_PIXELS // 10**6} million "
                         "pixels)") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name} is not a readable image (not a format Pillow knows)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = first_line(error)
        raise ValueError(f"{name} is not a readable image ({reason})") from None
    if width * height > MAX_PIXELS:
        raise ValueError(f"{name} is too large: {width}×{height} pixels (the limit is "
                         f"{MAX_PIXELS // 10**6} million); a photo of one digit needs far fewer")
    return image


# --- Finding the ink --------------------------------------------------------------------------


def ink_map(image: ImageLike) -> np.ndarray:
    """Ink intensity of any image, (H, W) float32: 1.0 where the pen was, 0.0 on the background.

    A transparent background means the alpha channel is the ink. Otherwise the background is
    the image's border (most of it: a digit may touch the edge), and the ink is whatever
    differs from it the most, darker or lighter.
    """
    if _is_rgba_bytes(image):  # the Draw page's canvas: only its alpha channel need be converted
        alpha = image[..., 3].astype(np.float32) / 255
        if np.median(_border(alpha)) < 0.5:
            if alpha.max() <= 0:
                raise EmptyDrawingError()
            return alpha / alpha.max()
    pixels = _as_float_array(image)
    if max(pixels.shape[:2]) > MAX_SIDE:
        pixels = _shrink(pixels)
    if pixels.shape[2] in (2, 4) and np.median(_border(pixels[..., -1])) < 0.5:
        ink = pixels[..., -1]
        if ink.max() <= 0:
            raise EmptyDrawingError()
        return np.ascontiguousarray(ink / ink.max(), dtype=np.float32)
    colour = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., :1]
    gray = colour @ np.array([0.299, 0.587, 0.114], np.float32) if colour.shape[2] == 3 else colour[..., 0]
    background = float(np.median(_border(gray)))
    darker, lighter = background - gray, gray - background
    contrast = darker if darker.max() > lighter.max() else lighter
    np.maximum(contrast, 0, out=contrast)
    scale = float(contrast.max())
    if scale < MIN_CONTRAST:
        raise EmptyDrawingError()
    # Paper texture and sensor noise sit on the border too: what rises no higher is not ink.
    floor = min(0.5 * scale, max(0.1 * scale, 3 * float(np.percentile(_border(contrast), 75))))
    ink = (contrast - floor) / (scale - floor)
    return np.clip(ink, 0, 1, out=ink).astype(np.float32, copy=False)


def _is_rgba_bytes(image: ImageLike) -> bool:
    """A uint8 (H, W, 4) array that needs no shrinking and is large enough to hold a digit."""
    return (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 4 and min(image.shape[:2]) >= 8 and max(image.shape[:2]) <= MAX_SIDE)


def _as_float_array(image: ImageLike) -> np.ndarray:
    """Any accepted input as float32 (H, W, C) in 0..1 with C in 1..4."""
    if isinstance(image, str | Path | bytes):
        image = load_image(image)
    if isinstance(image, Image.Image):
        return _pil_to_array(image)
    if not isinstance(image, np.ndarray):
        raise ValueError(f"expected an image or an array, got {type(image).__name__}")
    array = image
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an array of shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if min(array.shape[:2]) < 8:
        raise ValueError(f"an image of {array.shape[0]}×{array.shape[1]} px is too small to hold a digit")
    if array.dtype == bool:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"expected numbers, got an array of {array.dtype}")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError("the image contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise ValueError(f"pixel values must lie in 0..1 or 0..255, got {low:g}..{high:g}")
    # Floats are 0..1 by convention; values above 1 can only mean the 0..255 scale.
    return array / 255 if high > 1 else array


def _pil_to_array(image: Image.Image) -> np.ndarray:
    if image.mode.startswith("I;16"):
        # 16-bit scans: 0..65535 whatever the values used, so a dark image stays dark.
        return (np.asarray(image, dtype=np.float32) / 65535)[..., np.newaxis]
    if image.mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("the image contains NaN or infinite values")
        high = max(float(array.max()), 1.0)
        return (array / (255 if high <= 255 else 65535 if high <= 65535 else high))[..., np.newaxis]
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if has_alpha:
        image = image.convert("RGBA")
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return _as_float_array(np.asarray(image))


def _shrink(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    factor = MAX_SIDE / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(pixels[..., c]), "F").resize(size, Image.BOX))
                for c in range(pixels.shape[2])]
    return np.stack(channels, axis=-1)


def _border(plane: np.ndarray) -> np.ndarray:
    """The outermost 2-pixel frame of a 2-D array, flattened."""
    return np.concatenate([plane[:2].ravel(), plane[-2:].ravel(), plane[2:-2, :2].ravel(),
                           plane[2:-2, -2:].ravel()])


# --- Stray specks -----------------------------------------------------------------------------


def drop_specks(ink: np.ndarray) -> np.ndarray:
    """Remove small blobs far from the digit; strokes close to each other stay together.

    Raises:
        EmptyDrawingError: too little ink remains to be a digit.
    """
    kept = drop_specks_each([ink])[0]
    if kept is None:
        raise EmptyDrawingError()
    return kept


def drop_specks_each(inks: list[np.ndarray]) -> list[np.ndarray | None]:
    """`drop_specks` of each ink map, their groups of strokes found together; None for one with too
    little ink to be a digit."""
    grids = [_speck_grid(ink) for ink in inks]
    kept: list[np.ndarray | None] = [None] * len(inks)
    inked = [index for index, grid in enumerate(grids) if grid is not None]
    grown = [grow((grids[index][1] > 0).astype(np.float32), GROUP_CELLS) > 0 for index in inked]
    for index, groups in zip(inked, label_components_each(grown), strict=True):
        kept[index] = _without_specks(inks[index], *grids[index], groups)
    return kept


def _speck_grid(ink: np.ndarray) -> tuple[int, np.ndarray] | None:
    """The cell size of `ink`'s speck search grid and the ink in each cell; None when the whole is
    too little ink to be a digit."""
    height, width = ink.shape
    cell = max(1, -(-max(height, width) // GRID))
    if cell == 1:  # a small crop is its own grid
        mass = np.asarray(ink, np.float32)
    else:
        rows, cols = -(-height // cell), -(-width // cell)
        padded = np.zeros((rows * cell, cols * cell), np.float32)
        padded[:height, :width] = ink
        mass = padded.reshape(rows, cell, cols, cell).sum(axis=(1, 3))
    # A few pixels of ink is a tap or a smudge, not a digit.
    return None if float(mass.sum()) < max(4.0, 1e-4 * height * width) else (cell, mass)


def _without_specks(ink: np.ndarray, cell: int, mass: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """`ink` without the groups of grid cells (`groups`, labels of the grown inked cells) lighter
    than SPECK_SHARE of all its ink, the heaviest group always kept."""
    height, width = ink.shape
    total = float(mass.sum())
    inked = mass > 0
    labels = groups[inked]
    if labels.min() == labels.max():  # one group: the digit, whole
        return ink
    _, group = np.unique(labels, return_inverse=True)
    group_mass = np.bincount(group, weights=mass[inked])
    keep_group = group_mass >= SPECK_SHARE * total
    keep_group[group_mass.argmax()] = True  # the heaviest group is the digit, however faint
    keep = np.zeros_like(inked)
    keep[inked] = keep_group[group]
    if keep[inked].all():
        return ink
    keep_pixels = np.repeat(np.repeat(keep, cell, axis=0), cell, axis=1)[:height, :width]
    return np.where(keep_pixels, ink, 0).astype(np.float32)


def padded_by_one(plane: np.ndarray, fill: float | int | None = None) -> np.ndarray:
    """`plane` with a one-cell border: `fill`, or its edge cells repeated when None.

    What `np.pad` does, without its set-up cost, which on planes this small outweighs the work:
    numbers call this thousands of times per image.
    """
    height, width = plane.shape
    padded = np.empty((height + 2, width + 2), dtype=plane.dtype)
    padded[1:-1, 1:-1] = plane
    if fill is None:
        padded[0, 1:-1], padded[-1, 1:-1] = plane[0], plane[-1]
        padded[:, 0], padded[:, -1] = padded[:, 1], padded[:, -2]
    else:
        padded[0], padded[-1], padded[:, 0], padded[:, -1] = fill, fill, fill, fill
    return padded


# --- Morphology (also used to even out pen widths) ------------------------------------------


def grow(plane: np.ndarray, steps: int) -> np.ndarray:
    """Grayscale dilation by `steps` one-pixel steps, alternating square and cross kernels."""
    result = plane
    for step in range(steps):
        padded = padded_by_one(result)
        centre = padded[1:-1, 1:-1]
        if step % 2 == 0:
            rows = np.maximum(np.maximum(padded[:-2], padded[1:-1]), padded[2:])
            result = np.maximum(np.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])
        else:
            result = np.maximum.reduce([centre, padded[:-2, 1:-1], padded[2:, 1:-1],
                                        padded[1:-1, :-2], padded[1:-1, 2:]])
    return result

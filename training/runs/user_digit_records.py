"""One user digit as the store takes it and gives it back: the records, and the image forms kept."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Drawings are kept as PNGs of at most this many pixels a side (a photo needs no more to look at).
PNG_MAX_SIDE = 560


@dataclass(frozen=True)
class NewDigit:
    """A digit to save: the 28×28 image and its label, and where it came from."""

    image28: np.ndarray  # (28, 28) uint8, ink 255 on 0
    label: int
    drawing_png: bytes | None = None
    prediction: int | None = None
    probabilities: Sequence[float] | None = None
    run_id: str | None = None
    source: str = "draw"


@dataclass(frozen=True)
class UserDigit:
    """A saved digit as read back from the store."""

    digit_id: int
    label: int
    image28: np.ndarray
    prediction: int | None
    probabilities: list[float] | None
    run_id: str | None
    source: str
    created_at: str
    held_out: bool


@dataclass(frozen=True)
class SaveReport:
    """What one write did: the ids of the digits added, and how many were already there."""

    added: list[int]
    duplicates: int


def as_image28(image: np.ndarray) -> np.ndarray:
    """A 28×28 image as stored: uint8 0..255; floats in 0..1 (the preprocessor's output) are scaled.

    Raises:
        ValueError: not (28, 28), or values outside 0..1 (floats) or 0..255 (integers).
    """
    array = np.asarray(image)
    if array.shape != (28, 28):
        raise ValueError(f"a digit must be a 28×28 image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise ValueError("a 28×28 float image must hold values in 0..1")
        return np.round(array * 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer) and array.min() >= 0 and array.max() <= 255:
        return array.astype(np.uint8)
    raise ValueError(f"a 28×28 image must be uint8 (0..255) or float (0..1), got {array.dtype}")


def content_hash(image28: np.ndarray) -> str:
    """The dedup key: two saves of the same 28×28 image are one digit."""
    return hashlib.sha256(as_image28(image28).tobytes()).hexdigest()


def png_bytes(image: Image.Image | np.ndarray, max_side: int = PNG_MAX_SIDE) -> bytes:
    """A drawing or photo as PNG bytes, shrunk to `max_side` (uint8 or 0..1 float arrays accepted)."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            scale = 255 if np.issubdtype(image.dtype, np.floating) and image.max() <= 1 else 1
            image = np.clip(np.round(image * scale), 0, 255).astype(np.uint8)
        image = Image.fromarray(image)
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA")
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()

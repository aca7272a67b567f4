"""Pixels as the model reads them: uint8 0..255 → float32 0..1."""

from __future__ import annotations

import numpy as np


def unit_pixels(images: np.ndarray) -> np.ndarray:
    """float32 images in 0..1 from uint8 ones, the same values as `astype(float32) / 255`: divided
    as they are converted, so that a large set needs one new array, not two."""
    return np.divide(images, np.float32(255), dtype=np.float32)

"""What the pages show besides charts: byte sizes, durations and digit images enlarged (no Streamlit)."""

from __future__ import annotations

import numpy as np

from training.core.progress import format_duration  # noqa: F401 - one format for the CLI and the pages


def format_bytes(size: int) -> str:
    """'812 B', '45.3 KB', '1.2 MB' (powers of 1000, as browsers show downloads)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def upscale(image: np.ndarray, factor: int = 8) -> np.ndarray:
    """A 2-D image in 0..1 enlarged with nearest neighbour, as uint8, so that each pixel stays crisp."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {array.shape}")
    pixels = np.rint(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    return pixels.repeat(factor, axis=0).repeat(factor, axis=1)

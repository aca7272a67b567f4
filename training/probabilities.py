"""Logits to probabilities, in NumPy (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis."""
    # In float64, so that each row sums to 1 to within rounding, whatever the logits' range.
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)

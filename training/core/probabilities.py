"""Logits to probabilities, in NumPy (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis."""
    # In float64, so that each row sums to 1 to within rounding, whatever the logits' range.
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def percent(probability: float) -> str:
    """A probability as a percentage that never rounds to an absolute 0% or 100%."""
    if probability < 0.001:
        return "under 0.1%"
    if probability > 0.999:
        return "over 99.9%"
    return f"{probability:.1%}"

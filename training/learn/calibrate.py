"""Temperature scaling (Guo et al. 2017) and expected calibration error, in NumPy."""

from __future__ import annotations

import numpy as np

# The temperature is searched in this range (log-spaced); outside it the model is broken, not
# miscalibrated.
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0
SEARCH_STEPS = 80


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T that minimises the negative log-likelihood of softmax(logits / T).

    Fitted on held-out data (the validation split). The NLL is convex in 1/T, so a golden-section
    search over log T finds the one minimum. Returns 1.0 when there is nothing to fit on.

    Args:
        logits: (N, classes) raw model outputs.
        labels: (N,) integer classes.
    """
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(f"expected logits (N, classes) and labels (N,), "
                         f"got {logits.shape} and {labels.shape}")
    if len(logits) == 0 or not np.isfinite(logits).all():
        return 1.0
    low, high = np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    nll_a = negative_log_likelihood(logits, labels, np.exp(a))
    nll_b = negative_log_likelihood(logits, labels, np.exp(b))
    for _ in range(SEARCH_STEPS):
        if nll_a < nll_b:
            high, b, nll_b = b, a, nll_a
            a = high - ratio * (high - low)
            nll_a = negative_log_likelihood(logits, labels, np.exp(a))
        else:
            low, a, nll_a = a, b, nll_b
            b = low + ratio * (high - low)
            nll_b = negative_log_likelihood(logits, labels, np.exp(b))
    return float(np.exp((low + high) / 2))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true digits under softmax(logits / T): what T minimises."""
    scaled = logits / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(scaled - top).sum(axis=1)) + top[:, 0]
    return float((log_sum - scaled[np.arange(len(labels)), labels]).mean())


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: |accuracy − confidence| averaged over equal-width confidence bins, weighted by count.

    Confidence is the top probability; bins split 0..1 into `bins` equal parts (right edges
    included), as in Guo et al. 2017.
    """
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels)
    if len(probabilities) == 0:
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, weights=correct, minlength=bins)
                 - np.bincount(which, weights=confidence, minlength=bins))
    return float(gap.sum() / count.sum())

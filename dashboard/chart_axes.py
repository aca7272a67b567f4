"""Axis domains, ticks and tick formats fitted to the plotted values (numbers only, no Altair)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ACCURACY_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
LOSS_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
MIN_TICKS, MAX_TICKS = 4, 8


def epoch_ticks(epochs: int) -> list[int]:
    """Integer epochs to label: every one up to 12, then a round step (at most ~12 labels)."""
    step = 1
    for candidate in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        step = candidate
        if epochs / candidate <= 12:
            break
    if step <= 2:
        return list(range(1, epochs + 1, step))
    return [1, *range(step, epochs + 1, step)]


def accuracy_axis(values: np.ndarray) -> tuple[list[float], list[float]]:
    """A domain from the lowest value rounded down to 100%, and its ticks (4 to 8 of them)."""
    low = float(np.clip(values.min(), 0, 1)) if len(values) else 0.0
    for step in ACCURACY_STEPS:
        start = max(0.0, min(_rounded_out(low, low, step)[0], 1.0 - (MIN_TICKS - 1) * step))
        if round((1.0 - start) / step) + 1 <= MAX_TICKS:
            return [start, 1.0], _ticks(start, 1.0, step)
    return [0.0, 1.0], _ticks(0.0, 1.0, 0.2)


def linear_axis(values: np.ndarray) -> tuple[list[float], list[float]]:
    """A domain from 0 to the highest value rounded up, and its ticks."""
    high = float(values.max()) if len(values) else 1.0
    for step in LOSS_STEPS:
        _, stop = _rounded_out(0.0, max(high, 1e-9), step)
        stop = max(stop, (MIN_TICKS - 1) * step)
        if round(stop / step) + 1 <= MAX_TICKS:
            return [0.0, stop], _ticks(0.0, stop, step)
    stop = float(10 ** math.ceil(math.log10(high)))
    return [0.0, stop], _ticks(0.0, stop, stop / 5)


def log_axis(values: np.ndarray) -> tuple[list[float], list[float]]:
    """A domain between powers of ten around the (positive) values, ticked at 1, 2 and 5 of each decade."""
    low = 10.0 ** math.floor(math.log10(values.min()))
    high = 10.0 ** math.ceil(math.log10(values.max()))
    if high <= low:
        high = low * 10
    ticks = [mantissa * 10.0 ** exponent
             for exponent in range(round(math.log10(low)), round(math.log10(high)))
             for mantissa in (1, 2, 5)]
    return [low, high], [_tidy(tick) for tick in ticks] + [_tidy(high)]


def percent_format(ticks: Sequence[float]) -> str:
    """'.0%' when every tick is a whole percent, else '.1%' (e.g. 98.5%)."""
    whole = all(abs(tick * 100 - round(tick * 100)) < 1e-6 for tick in ticks)
    return ".0%" if whole else ".1%"


def decimal_format(ticks: Sequence[float]) -> str:
    """As many decimals as the finest tick needs."""
    for decimals in range(5):
        if all(abs(tick * 10**decimals - round(tick * 10**decimals)) < 1e-6 for tick in ticks):
            return f".{decimals}f"
    return ".4f"


def _rounded_out(low: float, high: float, step: float) -> tuple[float, float]:
    # Rounded before floor/ceil, so that 0.98 / 0.005 = 195.99999… still counts as 196.
    return (_tidy(math.floor(round(low / step, 6)) * step), _tidy(math.ceil(round(high / step, 6)) * step))


def _ticks(start: float, stop: float, step: float) -> list[float]:
    return [_tidy(start + index * step) for index in range(round((stop - start) / step) + 1)]


def _tidy(value: float) -> float:
    return round(value, 10)

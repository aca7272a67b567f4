"""Temperature scaling and expected calibration error on data whose calibration is known."""

from __future__ import annotations

import numpy as np
import pytest

from training.learn.calibrate import expected_calibration_error, fit_temperature
from training.reading.predictor import softmax


def sampled(temperature: float, count: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / temperature): calibrated at that T."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, (count, 10))
    probabilities = softmax(logits / temperature)
    labels = np.array([rng.choice(10, p=row) for row in probabilities])
    return logits, labels


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_the_labels_were_drawn_with(true_temperature):
    logits, labels = sampled(true_temperature)
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.05)


def test_the_fitted_temperature_lowers_the_calibration_error_of_an_overconfident_model():
    logits, labels = sampled(2.5)
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits / fit_temperature(logits, labels)), labels)
    assert before > 0.1 and after < 0.02


def test_ece_is_zero_when_confidence_matches_accuracy_and_the_gap_otherwise():
    labels = np.zeros(4, int)
    right = np.tile([0.8, 0.2] + [0.0] * 8, (4, 1))
    assert expected_calibration_error(right, labels) == pytest.approx(0.2)  # 100% right at 80%
    half = right.copy()
    half[:2] = [0.2, 0.8] + [0.0] * 8  # half of them wrong, all at 80%: accuracy 50%
    assert expected_calibration_error(half, labels) == pytest.approx(0.3)


def test_nothing_to_fit_on_gives_temperature_one_and_bad_shapes_are_refused():
    assert fit_temperature(np.zeros((0, 10)), np.zeros(0, int)) == 1.0
    with pytest.raises(ValueError, match="expected logits"):
        fit_temperature(np.zeros((5, 10)), np.zeros(4, int))

"""How a model measures up: accuracy, loss, the confusion matrix and mistakes; batch norm refreshed."""

from __future__ import annotations

import keras
import numpy as np

from training.core.pixels import unit_pixels

MAX_MISTAKES_KEPT = 500


def accuracy_and_loss(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Share of right answers and mean cross-entropy of the true labels."""
    true_probability = probabilities[np.arange(len(labels)), labels]
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    return accuracy, float(-np.log(np.clip(true_probability, 1e-12, 1.0)).mean())


def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, loss, confusion matrix (rows: true digit) and the mistakes, most confident first."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence)][:MAX_MISTAKES_KEPT]
    accuracy, loss = accuracy_and_loss(probabilities, labels)
    return {
        "test_accuracy": accuracy,
        "test_loss": loss,
        "confusion_matrix": confusion.tolist(),
        "mistakes": [
            (int(i), int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]]))
            for i in order
        ],
    }


def recalibrate_batch_norm(model: keras.Model, images: np.ndarray, batches: int = 8,
                           batch_size: int = 512) -> None:
    """Set batch-norm moving statistics to the final weights' statistics on training images
    (float32 in 0..1, or uint8).

    Moving averages lag behind weights that are still changing; after a short run (a few dozen
    steps) the lag alone can push test accuracy to chance. Averaging the batch statistics of the
    final weights over a few thousand images (as SWA's `update_bn` does) removes the lag.
    """
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers or len(images) == 0:
        return
    momenta = [layer.momentum for layer in layers]
    order = np.random.default_rng(0).permutation(len(images))[: batches * batch_size]
    try:
        for index, start in enumerate(range(0, len(order), batch_size)):
            for layer in layers:  # a running mean of the batch statistics: 0, 1/2, 2/3, ...
                layer.momentum = index / (index + 1)
            batch = images[np.sort(order[start:start + batch_size])]
            model(unit_pixels(batch) if batch.dtype == np.uint8 else batch, training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum

"""Fast single-image and batch predictions from a stored model, with MNIST-style preprocessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from training.preprocess import ImageLike, to_mnist
from training.store import ModelStore, StoreError

if TYPE_CHECKING:  # TensorFlow is imported when a Predictor is built, not when this module is.
    import keras

NO_MODEL_MESSAGE = "No trained model yet: run `python -m training train` or use the dashboard's Train page."
# Large batches are cut into chunks of this size to bound memory; one call per chunk.
CHUNK = 1024


@dataclass(frozen=True)
class Prediction:
    """The digit a model reads in an image, how sure it is, and the 28×28 image it saw."""

    digit: int
    confidence: float
    probabilities: np.ndarray  # (10,), digits 0..9 in order, summing to 1
    image28: np.ndarray  # (28, 28) float32, ink 1.0


class Predictor:
    """A loaded model ready for quick predictions; safe to share between threads.

    `model.predict` sets up a dataset and a loop on every call (tens of milliseconds); here the
    model's forward pass is compiled once for any batch size of 28×28 images and warmed up.
    """

    def __init__(self, model: keras.Model, run_id: str | None = None):
        import tensorflow as tf

        self.model = model
        self.run_id = run_id
        self._logits = tf.function(
            lambda images: model(images, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)],
        )
        self._logits(tf.zeros([1, 28, 28]))  # traces now, so that the first user waits less

    def probabilities_batch(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) for images (N, 28, 28) in 0..1 (uint8 0..255 is accepted too)."""
        images = _as_model_input(images)
        if len(images) == 0:
            return np.zeros((0, 10))
        logits = np.concatenate([self._logits(images[start:start + CHUNK]).numpy()
                                 for start in range(0, len(images), CHUNK)])
        return softmax(logits)

    def probabilities(self, image28: np.ndarray) -> np.ndarray:
        """Probabilities (10,) of digits 0..9 for one (28, 28) image in 0..1."""
        image28 = np.asarray(image28)
        if image28.shape != (28, 28):
            raise ValueError(f"expected a (28, 28) image, got shape {image28.shape}; "
                             "use classify() for drawings of any size")
        return self.probabilities_batch(image28[np.newaxis])[0]

    def classify(self, image: ImageLike) -> Prediction:
        """Preprocess a drawing or photo like MNIST (`to_mnist`) and read the digit.

        Raises:
            EmptyDrawingError: there is no ink to read.
            ValueError: the input is not an image.
        """
        image28 = to_mnist(image)
        probabilities = self.probabilities(image28)
        digit = int(probabilities.argmax())
        return Prediction(digit=digit, confidence=float(probabilities[digit]),
                          probabilities=probabilities, image28=image28)


def load_predictor(store: ModelStore, run_id: str | None = None) -> Predictor:
    """A Predictor for a run of the store, the active run by default.

    Raises:
        StoreError: there is no trained model, or the run is missing or damaged.
    """
    run_id = run_id or store.active_id()
    if run_id is None:
        raise StoreError(NO_MODEL_MESSAGE)
    return Predictor(store.load_model(run_id), run_id=run_id)


def _as_model_input(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255
    if not (np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)):
        raise ValueError(f"expected numbers, got an array of {images.dtype}")
    images = np.ascontiguousarray(images, dtype=np.float32)
    if not np.isfinite(images).all():
        raise ValueError("the images contain NaN or infinite values")
    return images


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis."""
    # In float64, so that each row sums to 1 to within rounding, whatever the logits' range.
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)

"""Fast single-image and batch predictions from a stored model, with MNIST-style preprocessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from training.core.pixels import unit_pixels
from training.core.probabilities import percent, softmax
from training.data.preprocess import ImageLike, to_mnist
from training.data.shifts import VIEWS, mean_over_views, shifted_views
from training.reading.doubt import DoubtModel, Verdict, doubt_feature_tensor, judge, verdict_message

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
    verdict: Verdict | None = None  # whether to trust it: a digit, or doubt

    @property
    def message(self) -> str:
        """The headline to show: the digit, or doubt in words."""
        return verdict_message(self.verdict or judge(self.probabilities, None, None))

    @property
    def detail(self) -> str:
        """The line under the headline (Markdown): how sure, and the best guess when in doubt."""
        sure = percent(self.confidence)
        if self.verdict is not None and self.verdict.not_a_digit:
            # A high probability here is among the ten digits only: say why it is doubted anyway.
            return (f"Best guess: {self.digit}, probability **{sure}** among the ten digits, but the "
                    "drawing is unlike all the digits the model learned from")
        if self.verdict is not None and self.verdict.unsure:
            return f"Best guess: {self.digit}, probability **{sure}**"
        return f"Probability **{sure}**"


class Predictor:
    """A loaded model ready for quick predictions; safe to share between threads.

    `model.predict` sets up a dataset and a loop on every call, longer than one image takes; here the
    model's forward pass is compiled once for any batch size of 28×28 images and warmed up.
    """

    def __init__(self, model: keras.Model, run_id: str | None = None, temperature: float = 1.0,
                 doubt: DoubtModel | None = None):
        import tensorflow as tf

        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"the temperature must be a positive number, not {temperature!r}")
        import keras

        self.model = model
        self.run_id = run_id
        # Logits are divided by it before the softmax: probabilities calibrated on validation data.
        self.temperature = float(temperature)
        # Set by load_predictor: flags drawings that are probably not one digit.
        self.doubt: DoubtModel | None = doubt
        # The features are what the last layer reads (the neighbours are found there); the doubt
        # rule reads them and the last conv block's averaged channels (`doubt_feature_tensor`).
        doubt_features, self.doubt_blocks = doubt_feature_tensor(model)
        twin = keras.Model(model.inputs, [model.outputs[0], model.layers[-1].input, doubt_features])
        self._feature_size = int(model.layers[-1].input.shape[-1])
        self._outputs = tf.function(
            lambda images: twin(images, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)], autograph=False,
        )
        # With the views (`training.data.shifts`): every view's logits, but the features of the
        # image itself only (each VIEWS-th row), so that the other views' are never copied out.
        self._view_outputs = tf.function(
            lambda views: _first_view_features(twin(views, training=False)),
            input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)], autograph=False,
        )
        self._outputs(tf.zeros([1, 28, 28]))  # traces now, so that the first user waits less
        self._view_outputs(tf.zeros([VIEWS, 28, 28]))

    def image_logits(self, images: np.ndarray) -> np.ndarray:
        """The logits (N, 10) of the images as drawn, without the shifted views."""
        return self._all_outputs(images, views=False)[0]

    def features(self, images: np.ndarray) -> np.ndarray:
        """What the last layer reads (N, F) for the images as drawn: the neighbours are found here."""
        return self._all_outputs(images, views=False)[1]

    def doubt_features(self, images: np.ndarray) -> np.ndarray:
        """What the doubt rule reads (N, sum(doubt_blocks)) for the images as drawn."""
        return self._all_outputs(images, views=False)[2]

    def features_and_doubt_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the last layer reads and what the doubt rule reads, from one pass over the images."""
        _, features, doubt_features = self._all_outputs(images, views=False)
        return features, doubt_features

    def logits_and_doubt_features(self, images: np.ndarray, *,
                                  shifted: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The answer's logits (N, 10), before the temperature, and the doubt rule's features;
        without `shifted`, the logits of the images alone (not the mean over their shifted views)."""
        logits, _, doubt_features = self._all_outputs(images, views=shifted)
        return logits, doubt_features

    def _all_outputs(self, images: np.ndarray, *, views: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Logits, features and doubt features; with `views` the logits are the mean over
        `training.data.shifts`' shifts (the answer) while the features stay those of the image itself."""
        images = _as_model_input(images)
        if len(images) == 0:
            return (np.zeros((0, 10), np.float32), np.zeros((0, self._feature_size), np.float32),
                    np.zeros((0, sum(self.doubt_blocks)), np.float32))
        if views:
            batch, size, outputs = shifted_views(images), CHUNK - CHUNK % VIEWS, self._view_outputs
        else:
            batch, size, outputs = images, CHUNK, self._outputs
        chunks = [outputs(batch[start:start + size]) for start in range(0, len(batch), size)]
        logits, features, doubt_features = (np.concatenate([chunk[part].numpy() for chunk in chunks])
                                            for part in range(3))
        return (mean_over_views(logits) if views else logits), features, doubt_features

    def logits_batch(self, images: np.ndarray) -> np.ndarray:
        """The answer's logits (N, 10) for images (N, 28, 28), before the temperature: the mean
        over the image and its 1-pixel shifts (`training.data.shifts`)."""
        return self._all_outputs(images, views=True)[0]

    def probabilities_batch(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, 10) for images (N, 28, 28) in 0..1 (uint8 0..255 too)."""
        return softmax(self.logits_batch(images) / self.temperature)

    def judge_batch(self, images: np.ndarray) -> tuple[np.ndarray, list[Verdict]]:
        """Calibrated probabilities (N, 10) and a Verdict for each image: a digit, or doubt."""
        probabilities, verdicts, _ = self.judge_batch_with_distances(images)
        return probabilities, verdicts

    def judge_batch_with_distances(self, images: np.ndarray) -> tuple[np.ndarray, list[Verdict], list]:
        """`judge_batch`, and each image's distance from the digits the doubt rule measures (None
        without a doubt rule)."""
        logits, features = self.logits_and_doubt_features(images)
        probabilities = softmax(logits / self.temperature)
        distances = ([None] * len(logits) if self.doubt is None or len(logits) == 0
                     else [float(d) for d in self.doubt.distances(features)])
        verdicts = [judge(row, d, self.doubt) for row, d in zip(probabilities, distances, strict=True)]
        return probabilities, verdicts, distances

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
        probabilities, verdicts = self.judge_batch(image28[np.newaxis])
        digit = verdicts[0].digit
        return Prediction(digit=digit, confidence=float(probabilities[0, digit]),
                          probabilities=probabilities[0], image28=image28, verdict=verdicts[0])


def prediction_fields(probabilities: np.ndarray, verdict: Verdict) -> dict:
    """One drawing's answer as `predict --json` prints it: the digit, the ten probabilities, doubt.

    `unsure` is true when the drawing is probably not one clear digit; `top_two` are the two most
    likely digits; an unsure answer also carries the sentence the Draw page shows (`message`).
    """
    fields = {"digit": verdict.digit, "probabilities": [float(p) for p in probabilities],
              "unsure": verdict.unsure, "top_two": list(verdict.top_two)}
    if verdict.unsure:
        fields.update(not_a_digit=verdict.not_a_digit, message=verdict.message)
    return fields


def _first_view_features(outputs: list) -> tuple:
    """(logits, features, doubt features) of a batch of views: the features of each first view."""
    logits, features, doubt_features = outputs
    return logits, features[::VIEWS], doubt_features[::VIEWS]


def _as_model_input(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
    if images.dtype == np.uint8:
        return unit_pixels(images)
    if not (np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)):
        raise ValueError(f"expected numbers, got an array of {images.dtype}")
    images = np.ascontiguousarray(images, dtype=np.float32)
    if not np.isfinite(images).all():
        raise ValueError("the images contain NaN or infinite values")
    return images

"""Why a model answered: occlusion sensitivity over the 28×28 input and what each layer sees."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # TensorFlow is imported when an Explainer is built, not when this module is.
    import keras

# A square of PATCH×PATCH pixels is blanked at every STRIDE-th position: 81 images, one batch
# (only those whose patch holds ink are computed: blanking blank paper changes nothing).
# 4 px (not 6 or 8): the map stays on the strokes (on test digits, more of its mass lies near the
# ink than with 6 px patches), and a 4 px patch still covers a stroke's width.
# Stride 3 (not 2): half the copies (81, not 169), so the exported page's map stays quick in
# single-threaded WebAssembly (see BENCHMARKS.md); the map stays on the ink as well as at stride 2
# on test digits.
PATCH = 4
STRIDE = 3
# The layers whose outputs are shown, in the order the data flows: the CNN's conv blocks after
# their ReLU (before pooling), the MLP's hidden layer.
SHOWN_LAYERS = ("relu1", "relu2", "relu3", "hidden")


def patch_corners(size: int = 28, patch: int = PATCH, stride: int = STRIDE) -> list[tuple[int, int]]:
    """Top-left corners of the occluding patches; the last row and column touch the border."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return [(row, col) for row in starts for col in starts]


def occluded_batch(image28: np.ndarray, corners: list[tuple[int, int]], patch: int = PATCH) -> np.ndarray:
    """The original image first, then one copy per corner with that patch blanked (set to 0, paper)."""
    batch = np.repeat(image28[np.newaxis].astype(np.float32), len(corners) + 1, axis=0)
    for index, (row, col) in enumerate(corners, start=1):
        batch[index, row:row + patch, col:col + patch] = 0.0
    return batch


def inked_corners(image28: np.ndarray, corners: list[tuple[int, int]], patch: int = PATCH) -> np.ndarray:
    """Positions (into `corners`) of the patches that hold some ink: blanking the others changes nothing."""
    inked = np.asarray(image28) != 0
    return np.array([index for index, (row, col) in enumerate(corners)
                     if inked[row:row + patch, col:col + patch].any()], dtype=np.int64)


def all_logits(logits: np.ndarray, inked: np.ndarray, corners: int) -> np.ndarray:
    """Every occluded copy's logits from the inked ones': blanking a blank patch leaves the original."""
    full = np.repeat(logits[:1], corners + 1, axis=0)
    full[1 + inked] = logits[1:]
    return full


def sensitivity_from_logits(logits: np.ndarray, corners: list[tuple[int, int]], target: int,
                            patch: int = PATCH, size: int = 28) -> np.ndarray:
    """Per pixel, the mean drop of the target's logit over the patches that cover it.

    Logits, not probabilities: a confident answer's probability barely moves (0.9999 → 0.9995)
    while its logit still says which strokes held it up.
    """
    drops = logits[0, target] - logits[1:, target]
    total = np.zeros((size, size), np.float64)
    count = np.zeros((size, size), np.float64)
    for drop, (row, col) in zip(drops, corners, strict=True):
        total[row:row + patch, col:col + patch] += drop
        count[row:row + patch, col:col + patch] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


class Explainer:
    """One model's explanations; its forward passes are compiled once, so build one per run."""

    def __init__(self, model: keras.Model):
        import keras
        import tensorflow as tf

        self.model = model
        self.layer_names = [layer.name for layer in model.layers if layer.name in SHOWN_LAYERS]
        outputs = [model.get_layer(name).output for name in self.layer_names]
        self._features = keras.Model(model.inputs[0], outputs) if outputs else None
        self._logits = tf.function(lambda images: model(images, training=False),
                                   input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])
        # The Draw page wants both: the occluded copies' logits and the first image's maps come
        # from one forward pass of the batch (the maps are cut to the first image in the graph).
        if outputs:
            both = keras.Model(model.inputs[0], [model.outputs[0], *outputs])

            def logits_and_maps(images):
                logits, *maps = both(images, training=False)
                return logits, [layer[:1] for layer in maps]
        else:
            def logits_and_maps(images):
                return model(images, training=False), []
        self._logits_and_maps = tf.function(
            logits_and_maps, input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])
        self.corners = patch_corners()
        self._lock = threading.Lock()

    def occlusion_map(self, image28: np.ndarray, target: int | None = None) -> np.ndarray:
        """(28, 28): how much blanking each region lowers the target's logit (the top answer by default).

        Positive where ink holds the answer up; zero where blanking changes nothing (blank paper).
        """
        image28 = _checked(image28)
        logits, _ = self._occluded_pass(image28, self._logits)
        if target is None:
            target = int(np.argmax(logits[0]))
        return sensitivity_from_logits(logits, self.corners, target)

    def explain(self, image28: np.ndarray, target: int | None = None
                ) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
        """`occlusion_map` and `feature_maps` together, from one batched forward pass."""
        image28 = _checked(image28)
        logits, maps = self._occluded_pass(image28, self._logits_and_maps)
        if target is None:
            target = int(np.argmax(logits[0]))
        layers = [(name, layer.numpy()[0]) for name, layer in zip(self.layer_names, maps, strict=True)]
        return sensitivity_from_logits(logits, self.corners, target), layers

    def _occluded_pass(self, image28: np.ndarray, forward) -> tuple[np.ndarray, list]:
        """One forward pass of the original and its copies with an inked patch blanked (only some of
        the 81 for a drawn digit); the logits of every copy (N+1, 10) and whatever else `forward` gives."""
        inked = inked_corners(image28, self.corners)
        outputs = forward(occluded_batch(image28, [self.corners[index] for index in inked]))
        logits, rest = outputs if isinstance(outputs, tuple) else (outputs, [])
        return all_logits(np.asarray(logits), inked, len(self.corners)), rest

    def feature_maps(self, image28: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """(layer name, activations) per shown layer in data-flow order: (H, W, C) maps or (units,)."""
        if self._features is None:
            return []
        with self._lock:  # a Keras functional model called eagerly from two threads at once
            outputs = self._features(_checked(image28)[np.newaxis], training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return [(name, np.asarray(output)[0]) for name, output in zip(self.layer_names, outputs, strict=True)]


_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def explainer_for(model: keras.Model) -> Explainer:
    """The model's Explainer, built on first use and kept as long as the model lives."""
    explainer = _EXPLAINERS.get(model)
    if explainer is None:
        explainer = _EXPLAINERS[model] = Explainer(model)
    return explainer


def occlusion_map(model: keras.Model, image28: np.ndarray) -> np.ndarray:
    """(28, 28) occlusion sensitivity of the model's top answer for one 28×28 image in 0..1."""
    return explainer_for(model).occlusion_map(image28)


def feature_maps(model: keras.Model, image28: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each conv block's (H, W, C) maps, or the MLP's hidden activations, for one 28×28 image."""
    return explainer_for(model).feature_maps(image28)


def _checked(image28: np.ndarray) -> np.ndarray:
    image28 = np.asarray(image28, dtype=np.float32)
    if image28.shape != (28, 28):
        raise ValueError(f"expected a (28, 28) image, got shape {image28.shape}")
    if not np.isfinite(image28).all():
        raise ValueError("the image contains NaN or infinite values")
    return image28

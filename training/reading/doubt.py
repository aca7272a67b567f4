"""Honest about doubt: flag a drawing that is probably not one digit instead of naming a digit."""

# Two signals, each with a threshold read off the validation split (never the test set):
# - the calibrated top probability: low when the model hesitates between digits;
# - the distance of the model's features to the nearest digit (Mahalanobis, Lee et al. 2018, one
#   covariance shared by the classes, in the top principal directions): large for scribbles,
#   letters and pairs of digits, which a softmax often reads confidently as some digit. The
#   features are two layers, as Lee et al. recommend: what the last layer reads, and the last conv
#   block's channels averaged over the image; each block is whitened on its own and their squared
#   distances add up (one covariance, block-diagonal). With both layers more of the non-digits
#   were flagged than with the last layer alone, and as many after each retraining (the last layer
#   alone varied with it), for few MNIST test digits flagged (non-digit seed 0 to choose, seed 1 to
#   report; see BENCHMARKS.md).
# Either one over its threshold flags the drawing. The statistics are fitted once per run (it
# reads thousands of MNIST images) and cached, written atomically.
#
# Which digits the rule must answer: people write less neatly than MNIST's validation digits, so
# "hesitant" is read off validation digits varied the way training varies them (pen, gaps, slant,
# soft scans), not off clean ones; with clean ones, ordinary digits by writers outside MNIST were
# flagged far more often than they were misread. The distance threshold stays on clean digits:
# distorted ones sit far from the classes' centres too, and fitting on them let most scribbles
# through.

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.core.files import write_npz_atomic

if TYPE_CHECKING:
    import keras

DOUBT_FILE = "doubt.npz"
FORMAT = 2  # 2: two feature blocks (1 read the last layer's input only)
# Share of clean validation digits the distance may flag, and of distorted ones the confidence may.
FLAG_RATE = 0.015
HESITANT_RATE = 0.02
# Principal directions kept for the distance, in each feature block (as good as twice as many on
# seed 0, and the exported page's whitening matrix stays small); training images the statistics use.
COMPONENTS = 64
FIT_IMAGES = 10_000
# Cached statistics kept (each file is small); the least recently written go first.
CACHE_KEEP = 50


@dataclass(frozen=True)
class DoubtModel:
    """What it takes to flag a drawing: feature statistics and the two thresholds."""

    mean: np.ndarray  # (F,) feature mean
    projection: np.ndarray  # (F, K): centred features → whitened principal coordinates
    centres: np.ndarray  # (10, K): each digit's mean in those coordinates
    min_confidence: float  # a top calibrated probability below this is doubt
    max_distance: float  # a squared distance to the nearest digit above this is no digit

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance (N,) of each feature row to the nearest digit's mean."""
        z = (np.asarray(features, np.float64) - self.mean) @ self.projection
        squared = (z**2).sum(axis=1, keepdims=True) - 2 * z @ self.centres.T + (self.centres**2).sum(axis=1)
        return np.maximum(squared.min(axis=1), 0.0)

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old file, the new one, or none."""
        arrays = {name: getattr(self, name).astype(np.float32) for name in ("mean", "projection", "centres")}
        write_npz_atomic(path, format=FORMAT, min_confidence=self.min_confidence,
                         max_distance=self.max_distance, **arrays)

    @classmethod
    def load(cls, path: Path) -> DoubtModel:
        """Read a saved DoubtModel; ValueError when the file is missing, damaged or of another format."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["format"]) != FORMAT:
                    raise ValueError(f"{path} has format {int(data['format'])}, not {FORMAT}")
                model = cls(mean=data["mean"], projection=data["projection"], centres=data["centres"],
                            min_confidence=float(data["min_confidence"]),
                            max_distance=float(data["max_distance"]))
        except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} cannot be read: {error}") from error
        features, components = model.projection.shape
        if model.mean.shape != (features,) or model.centres.shape != (10, components):
            raise ValueError(f"{path} has arrays of mismatched shapes")
        return model


def fit_doubt(train_features: np.ndarray, train_labels: np.ndarray, validation_features: np.ndarray,
              validation_confidence: np.ndarray, *, blocks: tuple[int, ...] | None = None,
              components: int = COMPONENTS, flag_rate: float = FLAG_RATE,
              hesitant_rate: float = HESITANT_RATE) -> DoubtModel:
    """Fit the statistics on training features, then both thresholds on validation digits.

    Args:
        train_features, train_labels: features (N, F) of training images and their digits.
        validation_features: features (M, F) of the validation images; `flag_rate` of them end up
            beyond the distance threshold.
        validation_confidence: the top calibrated probability of the digits the rule must answer
            (the validation images, distorted as in training); `hesitant_rate` of them fall below
            the confidence threshold.
        blocks: the widths of the feature blocks, in column order (default: one block of F); each
            is whitened on its own, so the projection is block-diagonal and distances add up.
    """
    features = np.asarray(train_features, np.float64)
    labels = np.asarray(train_labels)
    blocks = blocks or (features.shape[1],)
    if sum(blocks) != features.shape[1]:
        raise ValueError(f"blocks {blocks} do not add up to {features.shape[1]} features")
    mean = features.mean(axis=0)
    centred = features - mean
    projections, centres = [], []
    start = 0
    for width in blocks:
        projection, block_centres = _whitened_block(centred[:, start:start + width], labels, components)
        padded = np.zeros((features.shape[1], projection.shape[1]))
        padded[start:start + width] = projection
        projections.append(padded)
        centres.append(block_centres)
        start += width
    model = DoubtModel(mean=mean, projection=np.concatenate(projections, axis=1),
                       centres=np.concatenate(centres, axis=1), min_confidence=0.0, max_distance=np.inf)
    return DoubtModel(
        mean=model.mean, projection=model.projection, centres=model.centres,
        min_confidence=float(np.quantile(validation_confidence, hesitant_rate)),
        max_distance=float(np.quantile(model.distances(validation_features), 1 - flag_rate)),
    )


def _whitened_block(centred: np.ndarray, labels: np.ndarray, components: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One block's projection (F_b, K) onto whitened principal coordinates, and the digits'
    centres (10, K)."""
    _, _, directions = np.linalg.svd(centred, full_matrices=False)
    basis = directions[: min(components, len(directions))].T  # (F_b, K)
    z = centred @ basis
    class_means = np.stack([z[labels == digit].mean(axis=0) for digit in range(10)])
    within = z - class_means[labels]
    covariance = within.T @ within / len(z) + 1e-6 * np.eye(z.shape[1])
    whiten = np.linalg.cholesky(np.linalg.inv(covariance))  # inverse covariance = whiten @ whiten.T
    return basis @ whiten, class_means @ whiten


@dataclass(frozen=True)
class Verdict:
    """What to tell the user about one drawing."""

    digit: int
    top_two: tuple[int, int]
    unsure: bool  # flagged: not a confident single digit
    not_a_digit: bool  # flagged because it is far from every digit the model knows

    @property
    def message(self) -> str:
        return verdict_message(self)


def judge(probabilities: np.ndarray, distance: float | None, doubt: DoubtModel | None) -> Verdict:
    """The verdict for one drawing from its calibrated probabilities and feature distance."""
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    top_two = (int(order[0]), int(order[1]))
    if doubt is None:
        return Verdict(digit=top_two[0], top_two=top_two, unsure=False, not_a_digit=False)
    far = distance is not None and distance > doubt.max_distance
    hesitant = float(probabilities[top_two[0]]) < doubt.min_confidence
    return Verdict(digit=top_two[0], top_two=top_two, unsure=far or hesitant, not_a_digit=far)


def verdict_message(verdict: Verdict) -> str:
    """The sentence the Draw page and the exported page show."""
    if verdict.not_a_digit:
        return "This does not look like a digit"
    if verdict.unsure:
        first, second = verdict.top_two
        return f"Not sure — it could be {first} or {second}"
    return f"Predicted digit: {verdict.digit}"


def doubt_feature_tensor(model: keras.Model) -> tuple[keras.KerasTensor, tuple[int, ...]]:
    """The features the doubt rule reads, as a tensor of `model`'s graph, and its blocks' widths.

    What the last layer reads, then (for a convnet) the last conv block's channels averaged over
    the image. The Predictor and the exported page's graph both build it here, so they agree.
    """
    import keras

    last = model.layers[-1].input
    maps = [layer.output for layer in model.layers
            if isinstance(layer, keras.layers.Activation) and len(layer.output.shape) == 4]
    if not maps:
        return last, (int(last.shape[-1]),)
    pooled = keras.layers.GlobalAveragePooling2D(name="doubt_pooled")(maps[-1])
    features = keras.layers.Concatenate(name="doubt_features")([last, pooled])
    return features, (int(last.shape[-1]), int(pooled.shape[-1]))

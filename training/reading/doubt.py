"""Honest about doubt: flag a drawing that is probably not one digit instead of naming a digit."""

# Two signals, each with a threshold read off digits the rule must answer (never the test set):
# - the calibrated top probability: low when the model hesitates between digits;
# - the distance of the model's features to the nearest digit (Mahalanobis, Lee et al. 2018, one
#   covariance shared by the classes, in the top principal directions): large for scribbles,
#   letters and pairs of digits, which a softmax often reads confidently as some digit. The
#   features are two layers, as Lee et al. recommend: what the last layer reads, and the last conv
#   block's channels averaged over the image; each block is scaled to unit length (its direction,
#   as a cosine nearest-neighbour rule reads it: how strongly a drawing fires says little about
#   whether it is a digit), whitened on its own, and their squared distances add up (one
#   covariance, block-diagonal).
# Either one over its threshold flags the drawing. The statistics are fitted once per run and
# cached, written atomically.
#
# Which digits the rule must answer: people write less neatly than MNIST. The statistics are
# fitted on clean and varied training digits (pen, gaps, slant, soft scans, as training varies
# them): varied digits of one class spread over several styles, so each digit has a few
# prototypes (k-means within the digit), and a drawing is near a digit when it is near one of
# them. The distance threshold is read off validation digits as written, the confidence threshold
# off validation digits varied. With one centre per digit and clean statistics, ordinary digits by
# writers outside MNIST were flagged far more often than they were misread; with the distance
# threshold read off varied digits too, a model trained on few digits read a drawn letter as a
# sure digit (see BENCHMARKS.md).

from __future__ import annotations

import dataclasses
import itertools
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.core.files import write_npz_atomic

if TYPE_CHECKING:
    import keras

DOUBT_FILE = "doubt.npz"
FORMAT = 3  # 3: unit-length blocks and prototypes per digit (2: one centre; 1: the last layer only)
# Shares of the validation digits the distance may flag (as written), and the confidence may (varied).
FLAG_RATE = 0.01
HESITANT_RATE = 0.02
# Principal directions kept for the distance, in each feature block (as good as twice as many on
# seed 0, and the exported page's whitening matrix stays small); training images the statistics use.
COMPONENTS = 64
FIT_IMAGES = 10_000
# Centres per digit: one per style k-means finds among its clean and varied training digits.
PROTOTYPES = 10
KMEANS_ROUNDS = 20
# Cached statistics kept (each file is small); the least recently written go first.
CACHE_KEEP = 50


@dataclasses.dataclass(frozen=True)
class DoubtModel:
    """What it takes to flag a drawing: feature statistics and the two thresholds."""

    mean: np.ndarray  # (F,) feature mean
    projection: np.ndarray  # (F, K): centred features → whitened principal coordinates
    centres: np.ndarray  # (C, K): the digits' prototypes in those coordinates (C = 10 × prototypes)
    min_confidence: float  # a top calibrated probability below this is doubt
    max_distance: float  # a squared distance to the nearest digit above this is no digit

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance (N,) of each feature row to the nearest digit's prototype."""
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
        if model.mean.shape != (features,) or model.centres.ndim != 2 or model.centres.shape[1] != components:
            raise ValueError(f"{path} has arrays of mismatched shapes")
        return model


def fit_doubt(train_features: np.ndarray, train_labels: np.ndarray, answered_features: np.ndarray,
              answered_confidence: np.ndarray, *, blocks: tuple[int, ...] | None = None,
              components: int = COMPONENTS, prototypes: int = PROTOTYPES, flag_rate: float = FLAG_RATE,
              hesitant_rate: float = HESITANT_RATE) -> DoubtModel:
    """Fit the statistics on training features, then both thresholds on digits the rule must answer.

    Args:
        train_features, train_labels: features (N, F) of training images (clean and varied) and
            their digits.
        answered_features, answered_confidence: features (M, F) and top calibrated probabilities
            (M',) of held-out digits the rule must answer (the validation images as written, and
            varied as in training); `flag_rate` of the first end up beyond the distance threshold
            and `hesitant_rate` of the second below the confidence threshold.
        blocks: the widths of the feature blocks, in column order (default: one block of F); each
            is whitened on its own, so the projection is block-diagonal and distances add up.
        prototypes: centres per digit, found by k-means among its training features.
    """
    features = np.asarray(train_features, np.float32)
    labels = np.asarray(train_labels)
    blocks = blocks or (features.shape[1],)
    if sum(blocks) != features.shape[1]:
        raise ValueError(f"blocks {blocks} do not add up to {features.shape[1]} features")
    mean = features.mean(axis=0, dtype=np.float64)
    edges = np.cumsum((0, *blocks))
    spans = list(itertools.pairwise(edges))
    # Centred and multiplied in float32, each block contiguous: the model's features carry no more
    # precision, the last layer's input is wide, and a float64 copy of them all is slow to make.
    block_values = [features[:, start:end] - mean[start:end].astype(np.float32) for start, end in spans]
    bases = [_principal_basis(values, components) for values in block_values]
    coordinates = [(values @ basis.astype(np.float32)).astype(np.float64)
                   for values, basis in zip(block_values, bases, strict=True)]
    # The styles are found where every block counts alike: each whitened by the digits' spread.
    styles = _styles(np.concatenate([z @ _whitening(z, labels)[0] for z in coordinates], axis=1),
                     labels, prototypes)
    projections, centres = [], []
    for (start, end), basis, z in zip(spans, bases, coordinates, strict=True):
        whiten, style_means = _whitening(z, styles)
        padded = np.zeros((features.shape[1], whiten.shape[1]))
        padded[start:end] = basis @ whiten
        projections.append(padded)
        centres.append(style_means @ whiten)
    model = DoubtModel(mean=mean, projection=np.concatenate(projections, axis=1),
                       centres=np.concatenate(centres, axis=1), min_confidence=0.0, max_distance=np.inf)
    return dataclasses.replace(
        model, min_confidence=float(np.quantile(answered_confidence, hesitant_rate)),
        max_distance=float(np.quantile(model.distances(answered_features), 1 - flag_rate)))


def _principal_basis(centred: np.ndarray, components: int) -> np.ndarray:
    """The block's top principal directions (F_b, K), from its F_b × F_b covariance: the same
    directions as an SVD of the N × F_b features, at a fraction of the cost."""
    _, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    return vectors[:, ::-1][:, : min(components, *centred.shape)]


def _whitening(z: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The matrix (K, K) that whitens the spread of `z` (N, K) within its groups, one covariance
    shared by all, and the groups' means (G, K) in z's coordinates."""
    _, index = np.unique(groups, return_inverse=True)
    means = np.stack([z[index == group].mean(axis=0) for group in range(index.max() + 1)])
    within = z - means[index]
    covariance = within.T @ within / len(z) + 1e-6 * np.eye(z.shape[1])
    return np.linalg.cholesky(np.linalg.inv(covariance)), means  # inverse covariance = W @ W.T


def _styles(z: np.ndarray, labels: np.ndarray, prototypes: int) -> np.ndarray:
    """Each row's style (N,): k-means with `prototypes` clusters within each digit, started as
    k-means++ does (each start drawn in proportion to its squared distance from the starts before)
    from a fixed seed, so that a run's rule fits the same way again."""
    styles = np.zeros(len(z), np.int64)
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        if len(rows) == 0:
            raise ValueError(f"no training features of digit {digit}")
        points = z[rows]
        rng = np.random.default_rng(digit)
        centres = points[rng.integers(len(points))][np.newaxis]
        for _ in range(min(prototypes, len(rows)) - 1):
            nearest = _squared_distances(points, centres).min(axis=1)
            centres = np.vstack([centres, points[rng.choice(len(points), p=nearest / nearest.sum())]])
        for _ in range(KMEANS_ROUNDS):
            nearest = _squared_distances(points, centres).argmin(axis=1)
            centres = np.stack([points[nearest == c].mean(axis=0) if (nearest == c).any() else centres[c]
                                for c in range(len(centres))])
        styles[rows] = digit * prototypes + nearest
    return styles


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.maximum((points**2).sum(axis=1, keepdims=True) - 2 * points @ centres.T
                      + (centres**2).sum(axis=1), 0.0)


@dataclasses.dataclass(frozen=True)
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
    the image, each block scaled to unit length. The Predictor and the exported page's graph both
    build it here, so they agree.
    """
    import keras

    last = keras.layers.UnitNormalization(name="doubt_last_unit")(model.layers[-1].input)
    maps = [layer.output for layer in model.layers
            if isinstance(layer, keras.layers.Activation) and len(layer.output.shape) == 4]
    if not maps:
        return last, (int(last.shape[-1]),)
    pooled = keras.layers.GlobalAveragePooling2D(name="doubt_pooled")(maps[-1])
    pooled = keras.layers.UnitNormalization(name="doubt_pooled_unit")(pooled)
    features = keras.layers.Concatenate(name="doubt_features")([last, pooled])
    return features, (int(last.shape[-1]), int(pooled.shape[-1]))

"""Honest about doubt: flag a drawing that is probably not one digit instead of naming a digit."""

# Two signals, each with a threshold read off the validation split (never the test set):
# - the calibrated top probability: low when the model hesitates between digits;
# - the distance of the model's features to the nearest digit (Mahalanobis, Lee et al. 2018, one
#   covariance shared by the classes, in the top principal directions): large for scribbles,
#   letters and pairs of digits, which a softmax often reads confidently as some digit. The
#   features are two layers, as Lee et al. recommend: what the last layer reads, and the last conv
#   block's channels averaged over the image; each block is whitened on its own and their squared
#   distances add up (one covariance, block-diagonal). With the last layer alone 70–83% of the
#   non-digits were flagged, depending on the retraining (six CNNs); with both 90–91%, at 1.5–1.8%
#   of MNIST test digits (three of them; non-digit seed 0 to choose, seed 1 to report).
# Either one over its threshold flags the drawing. The statistics are fitted once per run (a few
# seconds) and cached, written atomically.

from __future__ import annotations

import contextlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.atomic_files import write_npz_atomic

if TYPE_CHECKING:
    import keras

    from training.predict import Predictor

DOUBT_FILE = "doubt.npz"
FORMAT = 2  # 2: two feature blocks (1 read the last layer's input only)
# Share of validation digits each signal may flag; the two together flag about twice as many.
FLAG_RATE = 0.0075
# Principal directions kept for the distance, in each feature block (64: as good as 128 on seed 0,
# and the exported page's whitening matrix stays 0.65 MB); training images the statistics use.
COMPONENTS = 64
FIT_IMAGES = 10_000
# Cached statistics kept (about 0.6 MB each); the least recently written go first.
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
              components: int = COMPONENTS, flag_rate: float = FLAG_RATE) -> DoubtModel:
    """Fit the statistics on training features, then both thresholds on the validation split.

    Args:
        train_features, train_labels: features (N, F) of training images and their digits.
        validation_features: features (M, F) of the validation images.
        validation_confidence: their top calibrated probability (M,).
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
        min_confidence=float(np.quantile(validation_confidence, flag_rate)),
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


def fit_for_predictor(predictor: Predictor) -> DoubtModel:
    """Fit a run's DoubtModel from MNIST (the training images, then the validation split)."""
    from training.config import VALIDATION_SIZE
    from training.data import load_mnist

    data = load_mnist()
    train_images = data.x_train[: min(FIT_IMAGES, len(data.x_train) - VALIDATION_SIZE)]
    train_features = predictor.doubt_features(train_images)
    validation_logits, validation_features = predictor.logits_and_doubt_features(
        data.x_train[-VALIDATION_SIZE:])
    from training.predict import softmax

    confidence = softmax(validation_logits / predictor.temperature).max(axis=1)
    return fit_doubt(train_features, data.y_train[: len(train_images)], validation_features, confidence,
                     blocks=predictor.doubt_blocks)


def doubt_for_run(run_path: Path, predictor: Predictor) -> DoubtModel:
    """The run's DoubtModel: from its folder or the cache, else fitted now and cached.

    The cache (beside the MNIST cache) is keyed by the run and its model file's size and time, so
    the model store itself is never written to.
    """
    run_path = Path(run_path)
    for path in (run_path / DOUBT_FILE, cached_path(run_path)):
        with contextlib.suppress(ValueError):
            return DoubtModel.load(path)
    model = fit_for_predictor(predictor)
    with contextlib.suppress(OSError):  # an unwritable cache only means fitting again next time
        cached_path(run_path).parent.mkdir(parents=True, exist_ok=True)
        model.save(cached_path(run_path))
        _prune(cached_path(run_path).parent)
    return model


def _prune(folder: Path, keep: int = CACHE_KEEP) -> None:
    """Keep the most recently used cached statistics (test runs and old runs leave theirs behind)."""
    files = sorted(folder.glob("*.npz"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in files[keep:]:
        path.unlink(missing_ok=True)


def cached_path(run_path: Path) -> Path:
    from training.data import cache_dir
    from training.store import MODEL_FILE

    try:
        stat = (run_path / MODEL_FILE).stat()
        stamp = f"{stat.st_size}-{stat.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    settings = f"v{FORMAT}-k{COMPONENTS}-n{FIT_IMAGES}-q{FLAG_RATE}"  # new settings, new statistics
    return cache_dir() / "doubt" / f"{run_path.name}-{stamp}-{settings}.npz"


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

"""The MNIST training digits nearest to a drawing in the last hidden layer, from a small per-run index."""

# The default CNN's last hidden layer has 256 values (1,152 in runs before it had a dense layer);
# 60,000 of them in float32 would be 61 MB (276 MB).
# The index keeps BUILD_IMAGES training digits projected on their COMPONENTS principal directions,
# as unit vectors in float16 (a small fraction of that), and a lookup is one small matrix product (cosine).
# Built once after training and saved with the run; a run saved before (or a kept partial run)
# gets it on first use, cached beside the MNIST cache like the doubt rule.

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.core.files import write_npz_atomic

NEIGHBOURS_FILE = "neighbours.npz"
FORMAT = 1
COUNT = 8  # neighbours shown
COMPONENTS = 32  # principal directions kept (48 or 64 voted no better on test digits)
# The first 20,000 training digits (about 2,000 per digit, none from the validation split):
# embedding these takes a fraction of the time that embedding all of them would.
BUILD_IMAGES = 20_000
PCA_IMAGES = 5_000  # the directions are fitted on these (a covariance as wide as the layer: quick)
CACHE_KEEP = 50
MEMORY_KEEP = 8  # indexes held in memory (each is small), the oldest dropped first


@dataclass(frozen=True)
class Neighbour:
    """One training digit near a drawing: its index in the official MNIST training set and its label."""

    index: int
    label: int
    similarity: float  # cosine in the projected space, 1 = same direction


@dataclass(frozen=True)
class NeighbourIndex:
    """Training digits embedded in a model's last hidden layer, projected and normalised."""

    mean: np.ndarray  # (F,) feature mean
    projection: np.ndarray  # (F, K) principal directions
    vectors: np.ndarray  # (N, K) unit rows, float32 in memory, float16 on disk
    labels: np.ndarray  # (N,) digits
    indices: np.ndarray  # (N,) positions in the MNIST training set

    def positions(self, features: np.ndarray, count: int = COUNT) -> np.ndarray:
        """(M, count) rows of the index nearest to each feature row (M, F) (or one (F,)), nearest first."""
        features = np.atleast_2d(np.asarray(features, np.float32))
        if features.shape[1] != len(self.mean):
            raise ValueError(f"expected {len(self.mean)} features, got {features.shape[1]}")
        similarity = unit_rows((features - self.mean) @ self.projection) @ self.vectors.T
        count = min(count, len(self.vectors))
        top = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1)

    def nearest(self, features: np.ndarray, count: int = COUNT) -> list[Neighbour]:
        """The `count` training digits nearest to one drawing's features (F,), nearest first."""
        features = np.asarray(features, np.float32).reshape(1, -1)
        rows = self.positions(features, count)[0]
        similarity = unit_rows((features - self.mean) @ self.projection)[0] @ self.vectors[rows].T
        return [Neighbour(index=int(self.indices[row]), label=int(self.labels[row]), similarity=float(s))
                for row, s in zip(rows, similarity, strict=True)]

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old file, the new one, or none."""
        write_npz_atomic(path, format=FORMAT, mean=self.mean.astype(np.float32),
                         projection=self.projection.astype(np.float32),
                         vectors=self.vectors.astype(np.float16),
                         labels=self.labels.astype(np.uint8), indices=self.indices.astype(np.uint32))

    @classmethod
    def load(cls, path: Path) -> NeighbourIndex:
        """Read a saved index; ValueError when the file is missing, damaged or of another format."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["format"]) != FORMAT:
                    raise ValueError(f"format {int(data['format'])}, not {FORMAT}")
                index = cls(mean=data["mean"], projection=data["projection"],
                            vectors=data["vectors"].astype(np.float32),
                            labels=data["labels"].astype(np.int64),
                            indices=data["indices"].astype(np.int64))
        except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} cannot be read: {error}") from error
        features, components = index.projection.shape
        rows = len(index.vectors)
        if (index.mean.shape != (features,) or index.vectors.shape != (rows, components)
                or index.labels.shape != (rows,) or index.indices.shape != (rows,) or rows == 0):
            raise ValueError(f"{path} has arrays of mismatched shapes")
        return index


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by its length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def build_index(features: np.ndarray, labels: np.ndarray, indices: np.ndarray, *,
                components: int = COMPONENTS, pca_images: int = PCA_IMAGES) -> NeighbourIndex:
    """Project features (N, F) on their top principal directions and keep them as unit vectors.

    Args:
        features: the last hidden layer's values for N training digits.
        labels, indices: their digits and their positions in the MNIST training set.
    """
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or len(features) == 0 or not len(labels) == len(features) == len(indices):
        raise ValueError(f"expected features (N, F) with N labels and indices, got {features.shape}")
    mean = features.mean(axis=0, dtype=np.float64)
    sample = features[:pca_images] - mean
    covariance = sample.T @ sample / len(sample)
    _, vectors = np.linalg.eigh(covariance)  # ascending eigenvalues
    projection = vectors[:, ::-1][:, :min(components, features.shape[1])].astype(np.float32)
    mean = mean.astype(np.float32)
    projected = unit_rows((features - mean) @ projection).astype(np.float16).astype(np.float32)
    return NeighbourIndex(mean=mean, projection=projection, vectors=projected,
                          labels=np.asarray(labels, np.int64), indices=np.asarray(indices, np.int64))

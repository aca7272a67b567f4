"""Varied digits made once per machine: the doubt rule's fit varies the same MNIST digits with the
same seeds at the end of every training, so they are kept beside the MNIST cache."""

from __future__ import annotations

import contextlib
import hashlib
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from training.core.files import write_atomic
from training.data.mnist import cache_dir

FOLDER = "varied"
# Files kept (each a few megabytes); the least recently written go first.
KEEP = 8


def cached_distorted_digits(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """`training.data.augment.distorted_digits(images, labels, seed)`, read from the cache when the
    same digits were varied with the same seed by the same augmentation code and TensorFlow before."""
    images = np.ascontiguousarray(images, np.uint8)
    labels = np.ascontiguousarray(labels, np.int32)
    path = cache_dir() / FOLDER / f"{_stamp(images, labels, seed)}.npy"
    with contextlib.suppress(OSError, ValueError, EOFError):
        varied = np.load(path, allow_pickle=False)
        if varied.shape == images.shape and varied.dtype == np.uint8:
            return varied
    # Imported here, as it imports TensorFlow: a cached copy needs none.
    from training.data.augment import distorted_digits

    varied = distorted_digits(images, labels, seed=seed)
    with contextlib.suppress(OSError):  # an unwritable cache only means varying them again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda file: np.save(file, varied))
        for old in sorted(path.parent.glob("*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]:
            old.unlink(missing_ok=True)
    return varied


def _stamp(images: np.ndarray, labels: np.ndarray, seed: int) -> str:
    """What the varied digits depend on: the augmentation's code, TensorFlow's random numbers,
    the seed, the images and their labels."""
    digest = hashlib.sha256()
    digest.update(Path(find_spec("training.data.augment").origin).read_bytes())
    digest.update(f"tensorflow {version('tensorflow')} seed {seed} shape {images.shape}".encode())
    digest.update(images.tobytes())
    digest.update(labels.tobytes())
    return digest.hexdigest()[:40]

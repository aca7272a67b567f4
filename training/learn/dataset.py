"""The data a training reads: MNIST split into train, validation and test, and the training stream."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from training.core.config import VALIDATION_SIZE, TrainConfig
from training.core.pixels import unit_pixels
from training.data.augment import augment_batch
from training.data.mnist import Mnist


def split(data: Mnist, config: TrainConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train/validation/test; validation is the end of the train set. Validation and test images are
    float32 in 0..1; the training images stay uint8, as the training stream scales each batch as
    it gathers it (a float copy of them all would be four times the memory, made at every start)."""
    n_train = len(data.x_train) - VALIDATION_SIZE
    x_train, y_train = data.x_train[:n_train], data.y_train[:n_train]
    x_val, y_val = data.x_train[n_train:], data.y_train[n_train:]
    x_test, y_test = data.x_test, data.y_test
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    if config.eval_limit:
        x_val, y_val = x_val[: config.eval_limit], y_val[: config.eval_limit]
        x_test, y_test = x_test[: config.eval_limit], y_test[: config.eval_limit]
    return {
        "train": (x_train, y_train.astype(np.int32)),
        "validation": (unit_pixels(x_val), y_val.astype(np.int32)),
        "test": (unit_pixels(x_test), y_test.astype(np.int32)),
    }


def training_dataset(x: np.ndarray, y: np.ndarray, config: TrainConfig, batch_size: int) -> tf.data.Dataset:
    """The run's shuffled global batches of float32 images in 0..1, augmented on the fly when asked;
    `x` is uint8 (0..255) or float32 (0..1).

    Full batches only, exactly `epochs × ceil(len(x) / batch_size)` of them, so that every replica
    of every worker takes the same number of steps. Workers shard it by data (MNIST is one
    in-memory array, not files), each taking its part of every batch.
    """
    # Shuffled positions, gathered a batch at a time: a buffer of positions fills at once, where a
    # buffer of images held the first batch back until every training image had passed through it.
    images, labels = tf.constant(x), tf.constant(y)
    as_unit = ((lambda batch: tf.cast(batch, tf.float32) / 255.0) if images.dtype == tf.uint8
               else (lambda batch: batch))
    dataset = (
        tf.data.Dataset.range(len(x))
        .shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
        .map(tf.autograph.experimental.do_not_convert(
            lambda positions: (as_unit(tf.gather(images, positions)), tf.gather(labels, positions))))
    )
    if config.augment:
        # The last epoch sees the images as they are: the model learns the variations first, then
        # ends on plain MNIST (with gaps cut, a plain last epoch read MNIST test better than augmenting
        # to the end, and kept the hard set's gains).
        augmented_steps = augmented_epochs(config.epochs) * int(np.ceil(len(x) / batch_size))

        # Plain TensorFlow ops, no Python control flow: nothing for AutoGraph to convert, and
        # converting takes a while at every start.
        @tf.autograph.experimental.do_not_convert
        def maybe_augment(step, batch):
            images, labels = batch
            seed = tf.stack([tf.constant(config.seed, tf.int64), step])  # the same run, the same batches
            augmented = tf.cond(step < augmented_steps, lambda: augment_batch(images, labels, seed),
                                lambda: images)
            return augmented, labels

        dataset = dataset.enumerate().map(maybe_augment, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # No autotuning thread: dropping the iterator after the last epoch waited for it, a long
    # "Saving…" in some of the default runs (and a wait even in a bare loop over the batches). The
    # pipeline's fixed defaults keep up with the training step all the same.
    options.autotune.enabled = False
    # Finite, not endless: dropping an endless iterator after the last epoch waited for its
    # teardown, all of it spent after training ("Saving…").
    total_steps = config.epochs * int(np.ceil(len(x) / batch_size))
    return dataset.take(total_steps).with_options(options).prefetch(tf.data.AUTOTUNE)


def augmented_epochs(epochs: int) -> int:
    """How many of an augmented run's epochs augment: all but the last, when there are several."""
    return epochs - 1 if epochs > 1 else epochs

"""Augmentation: varied but still recognisable digits, recorded in the run's configuration."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_augmented_batches_vary_but_keep_the_digit(mnist):
    import tensorflow as tf

    from training.augment import augment_batch

    images = mnist.x_train[:256].astype(np.float32) / 255
    tf.random.set_seed(0)
    augmented = augment_batch(tf.constant(images)).numpy()
    assert augmented.shape == images.shape and augmented.dtype == np.float32
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0
    changed = np.abs(augmented - images).reshape(256, -1).max(axis=1) > 0.2
    assert changed.mean() > 0.9  # nearly every image is transformed
    ink_ratio = augmented.reshape(256, -1).sum(axis=1) / images.reshape(256, -1).sum(axis=1)
    assert 0.4 < np.median(ink_ratio) < 1.8  # scaled and re-penned, never wiped out or smeared
    assert ink_ratio.min() > 0.2
    # The digit stays in frame: ink centre of mass within a few pixels of the original's.
    grid = np.arange(28)
    def centre(batch):
        mass = batch.sum(axis=(1, 2))
        return np.stack([(batch.sum(axis=2) * grid).sum(axis=1) / mass,
                         (batch.sum(axis=1) * grid).sum(axis=1) / mass], axis=1)
    assert np.abs(centre(augmented) - centre(images)).max() < 6


@pytest.mark.slow
def test_augmentation_is_recorded_with_the_run(mnist, tmp_path):
    from training.config import TrainConfig
    from training.store import ModelStore
    from training.train import train

    config = TrainConfig(architecture="mlp", epochs=1, augment=True, train_limit=2000, eval_limit=500)
    run = ModelStore(tmp_path).save(train(config, mnist))
    assert run.record["config"]["augment"] is True

"""The architectures: the training-time batch norm is the same network as Keras's, saved as Keras's."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def test_fused_batch_norm_trains_like_keras_batch_norm():
    from training.learn.models import FusedBatchNormalization

    images = np.random.default_rng(0).normal(2.0, 3.0, size=(16, 14, 14, 8)).astype(np.float32)
    standard, fused = keras.layers.BatchNormalization(momentum=0.9), FusedBatchNormalization(momentum=0.9)
    for layer in (standard, fused):
        layer.build(images.shape)
    np.testing.assert_allclose(fused(images, training=True), standard(images, training=True), atol=1e-5)
    # The same moving averages, so a run's served model does not depend on which layer trained it.
    np.testing.assert_allclose(fused.moving_mean.numpy(), standard.moving_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), standard.moving_variance.numpy(), rtol=1e-5)
    np.testing.assert_allclose(fused(images, training=False), standard(images, training=False), atol=1e-5)


def test_a_model_built_for_training_is_handed_back_in_keras_layers_with_its_weights():
    from training.learn.models import FusedBatchNormalization, build_model, with_standard_layers

    trained = build_model("cnn", for_training=True)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in trained.layers)
    images = np.random.default_rng(1).random((4, 28, 28)).astype(np.float32)
    trained(images, training=True)  # moves the batch-norm statistics off their start
    served = with_standard_layers(trained, "cnn")
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in served.layers)
    assert [layer.name for layer in served.layers] == [layer.name for layer in trained.layers]
    np.testing.assert_allclose(served(images), trained(images), atol=1e-5)

"""The architectures, by name. Every model maps (N, 28, 28) floats in 0..1 to 10 logits."""

from __future__ import annotations

import keras


def build_model(architecture: str, *, for_training: bool = False) -> keras.Model:
    """A fresh, uncompiled model. `mlp` is the 2022 seed's model, `cnn` the default.

    `for_training` builds batch norm as `FusedBatchNormalization`, the same network trained
    faster; `with_standard_layers` turns it back into Keras's own layers to be saved and served.
    """
    if architecture == "mlp":
        return build_mlp()
    if architecture == "cnn":
        return build_cnn(FusedBatchNormalization if for_training else keras.layers.BatchNormalization)
    raise ValueError(f"unknown architecture {architecture!r}")


def with_standard_layers(model: keras.Model, architecture: str) -> keras.Model:
    """The same network with the same weights, built from Keras's own layers only.

    Saved runs hold nothing of ours: any Keras loads them, and the web export reads them as before.
    """
    if not any(isinstance(layer, FusedBatchNormalization) for layer in model.layers):
        return model
    standard = build_model(architecture)
    standard.set_weights(model.get_weights())
    return standard


class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Batch norm whose training step is TensorFlow's fused kernel (statistics, normalisation and,
    backwards, the gradients in one op each) where Keras 3 chains about ten element-wise ops.

    Same results (outputs equal to within float32 rounding, the same moving averages) from a faster
    training step (see BENCHMARKS.md). Inference is Keras's own path.
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None or not self._fusable(inputs):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, data_format="NHWC", is_training=True)
        # The kernel returns the unbiased variance (n - 1); Keras's moving average takes the biased one.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), variance.dtype)
        variance = variance * (count - 1) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs

    def _fusable(self, inputs) -> bool:
        """What the fused kernel does: NHWC float32 images, scale and centre, plain statistics."""
        return (keras.backend.backend() == "tensorflow" and len(inputs.shape) == 4
                and self.axis in (-1, 3) and self.center and self.scale and not self.renorm
                and not self.synchronized and self.compute_dtype == "float32")


def build_mlp() -> keras.Model:
    """The seed's model, exactly: Flatten → Dense 128 relu → Dense 10 logits."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28), name="image"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(128, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="mlp",
    )


CNN_FILTERS = (16, 64, 128)
# Units of the dense layer between the conv blocks and the logits.
CNN_HIDDEN = 256


def build_cnn(batch_norm: type[keras.layers.BatchNormalization] = keras.layers.BatchNormalization,
              filters_per_block: tuple[int, ...] = CNN_FILTERS, hidden: int = CNN_HIDDEN) -> keras.Model:
    """A small convnet sized for 2 CPU cores: three conv blocks with batch norm, a dense hidden layer,
    then logits.

    16 filters in the first block, not 32: they read a 3×3 patch of one grey channel, and the first
    block's full-size batch norm and the second convolution's input are what a step spends most on.
    With them a default run takes faster steps and less time, and is no less accurate on MNIST test
    (see BENCHMARKS.md).

    The hidden layer costs little (a few percent of a step's work, the conv blocks do the rest) and
    lets the network weigh the parts its filters found together before it answers: with it, digits
    by writers outside MNIST read better, and MNIST's own no worse (see BENCHMARKS.md, "Other
    people's handwriting").

    Every layer is named here: Keras's automatic names come from process-wide counters, which
    another thread (a Streamlit script run calling `clear_session`) can reset mid-build.
    """

    def conv_block(x, filters: int, block: int):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{block}")(x)
        # Momentum 0.9 (not 0.99): short runs must end with usable moving statistics too.
        x = batch_norm(momentum=0.9, name=f"norm{block}")(x)
        x = keras.layers.Activation("relu", name=f"relu{block}")(x)
        return keras.layers.MaxPooling2D(name=f"pool{block}")(x)

    inputs = keras.Input(shape=(28, 28), name="image")
    x = keras.layers.Reshape((28, 28, 1), name="channels")(inputs)
    for block, filters in enumerate(filters_per_block, start=1):
        x = conv_block(x, filters, block)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.25, name="dropout_features")(x)
    x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(0.25, name="dropout")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn")

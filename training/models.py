"""The architectures, by name. Every model maps (N, 28, 28) floats in 0..1 to 10 logits."""

from __future__ import annotations

import keras


def build_model(architecture: str) -> keras.Model:
    """A fresh, uncompiled model. `mlp` is the 2022 seed's model, `cnn` the default."""
    builders = {"mlp": build_mlp, "cnn": build_cnn}
    if architecture not in builders:
        raise ValueError(f"unknown architecture {architecture!r}")
    return builders[architecture]()


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


def build_cnn() -> keras.Model:
    """A small convnet sized for 2 CPU cores: three conv blocks with batch norm, then logits.

    Every layer is named here: Keras's automatic names come from process-wide counters, which
    another thread (a Streamlit script run calling `clear_session`) can reset mid-build.
    """

    def conv_block(x, filters: int, block: int):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{block}")(x)
        # Momentum 0.9 (not 0.99): short runs must end with usable moving statistics too.
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"norm{block}")(x)
        x = keras.layers.Activation("relu", name=f"relu{block}")(x)
        return keras.layers.MaxPooling2D(name=f"pool{block}")(x)

    inputs = keras.Input(shape=(28, 28), name="image")
    x = keras.layers.Reshape((28, 28, 1), name="channels")(inputs)
    for block, filters in enumerate((32, 64, 128), start=1):
        x = conv_block(x, filters, block)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.25, name="dropout")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn")

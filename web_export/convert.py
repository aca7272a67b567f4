"""Keras model → TensorFlow.js graph model (softmax on top), via the SavedModel of `model.export()`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # TensorFlow and tensorflowjs are imported only when a conversion happens.
    import keras

QUANTIZE_CHOICES = ("float16", "uint8")


def with_softmax(model: keras.Model) -> keras.Model:
    """The model with a softmax on its logits, so the page receives probabilities directly."""
    import keras

    inputs = keras.Input(shape=(28, 28), name="image")
    probabilities = keras.layers.Softmax(name="probabilities")(model(inputs))
    return keras.Model(inputs, probabilities, name=f"{model.name}_probabilities")


def convert_to_tfjs(model: keras.Model, out_dir: Path, *, quantize: str | None = None) -> None:
    """Write `model.json` and its weight shard(s) into `out_dir` (which must not exist yet).

    A graph model is used because tfjs 4.22 cannot load the layers-model JSON that tensorflowjs
    writes for a Keras 3 model (its InputLayer lacks `batchInputShape`); the graph model
    converted from `model.export()` matches Keras to ~1e-6.
    """
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)} or None, not {quantize!r}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # tensorflowjs imports tensorflow_decision_forests, whose welcome banner imports IPython (not
    # installed) whenever stdout is not a terminal: under pytest, Streamlit, or a redirect.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    from tensorflowjs.converters import tf_saved_model_conversion_v2

    # A bool value marks the dtype as the fallthrough for every weight (see tensorflowjs.quantization).
    dtype_map = {quantize: True} if quantize else None
    with tempfile.TemporaryDirectory(prefix="mnist-savedmodel-") as tmp:
        saved_model = Path(tmp) / "saved_model"
        with_softmax(model).export(str(saved_model), verbose=False)
        tf_saved_model_conversion_v2.convert_tf_saved_model(
            str(saved_model),
            str(out_dir),
            quantization_dtype_map=dtype_map,
            # One shard keeps the bundle simple: the page embeds it in model-data.js anyway.
            weight_shard_size_bytes=1 << 30,
        )

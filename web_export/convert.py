"""Keras model → TensorFlow.js graph model (calibrated probabilities and logits) via a SavedModel."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from training.reading.doubt import doubt_feature_tensor

if TYPE_CHECKING:  # TensorFlow and tensorflowjs are imported only when a conversion happens.
    import keras

    from training.reading.doubt import DoubtModel

QUANTIZE_CHOICES = ("float16", "uint8")
# What the Export tab and `python -m web_export` give unless asked otherwise: half the download of
# float32 weights, and the page still reads every digit and number of the checks as float32 does
# (tests/exported_page/test_web_export_number_browser.py, BENCHMARKS.md "Web export").
DEFAULT_QUANTIZE = "float16"


# What the exported graph's one output holds, in this order (`output_columns`): 10 probabilities,
# with a doubt rule one distance per prototype of the digits, 10 logits.
PROBABILITIES, DISTANCES, LOGITS = "probabilities", "distances", "logits"


def output_columns(distances: int) -> dict[str, list[int]]:
    """{part: [first, end)} columns of the graph's output, as the page reads them (export.json);
    `distances` is the doubt rule's number of prototypes (0 without a doubt rule)."""
    widths = {PROBABILITIES: 10, DISTANCES: distances, LOGITS: 10}
    columns, start = {}, 0
    for part, width in widths.items():
        if width:
            columns[part] = [start, start + width]
            start += width
    return columns


def with_softmax(model: keras.Model, temperature: float = 1.0,
                 doubt: DoubtModel | None = None) -> keras.Model:
    """The model with its calibration folded in: calibrated probabilities of the image as given.

    The page reads its answer from the logits column instead (the mean over `training.data.shifts`' five
    shifts, divided by the manifest's temperature); the probabilities serve any other reader.

    Logits are divided by `temperature` (a Rescaling layer) before the softmax. With `doubt`, more
    outputs follow the ten probabilities: the squared distance of the features to each of the
    digits' prototypes (their minimum is `DoubtModel.distances`), from Dense, Multiply and
    Concatenate layers only.
    The model's own logits (not divided by the temperature) come last: the page's occlusion map
    measures their drop, as `training.reading.explain` does. `output_columns` says where each part lies.
    """
    import keras


    inputs = keras.Input(shape=(28, 28), name="image")
    features, _ = doubt_feature_tensor(model)
    twin = keras.Model(model.inputs, [model.outputs[0], features], name=f"{model.name}_twin")
    logits, features = twin(inputs)
    calibrated = keras.layers.Rescaling(1.0 / temperature, name="calibrated")(logits)
    probabilities = keras.layers.Softmax(name="probabilities")(calibrated)
    parts = [probabilities] if doubt is None else [probabilities, digit_distances(features, doubt)]
    return keras.Model(inputs, keras.layers.Concatenate(name="outputs")([*parts, logits]),
                       name=f"{model.name}_for_tfjs")


def digit_distances(features, doubt: DoubtModel):
    """(N, C) squared distances |z - c|² = |z|² - 2 z·c + |c|², z the whitened coordinates, c each
    of the C prototypes.

    One matrix product over [z², z] gives them all; the page takes the smallest. (A min inside the
    graph needs a reshape and a pooling that tf.js 4.22 mis-fuses with the matrix product.)
    """
    import keras
    import numpy as np

    components = doubt.projection.shape[1]
    prototypes = len(doubt.centres)

    def fixed(layer, inputs: int, *weights):
        layer.build((None, inputs))
        layer.set_weights([np.asarray(w, np.float32) for w in weights])
        layer.trainable = False
        return layer

    whiten = fixed(keras.layers.Dense(components, name="doubt_whiten"), doubt.projection.shape[0],
                   doubt.projection, -doubt.mean @ doubt.projection)
    z = whiten(features)
    squares = keras.layers.Multiply(name="doubt_square")([z, z])
    both = keras.layers.Concatenate(name="doubt_terms")([squares, z])
    kernel = np.concatenate([np.ones((components, prototypes)), -2 * doubt.centres.T])
    distances = fixed(keras.layers.Dense(prototypes, name="doubt_distances"), 2 * components,
                      kernel, (doubt.centres**2).sum(axis=1))
    return distances(both)


def convert_to_tfjs(model: keras.Model, out_dir: Path, *, quantize: str | None = None,
                    temperature: float = 1.0, doubt: DoubtModel | None = None) -> None:
    """Write `model.json` and its weight shard(s) into `out_dir` (which must not exist yet).

    A graph model is used because tfjs 4.22 cannot load the layers-model JSON that tensorflowjs
    writes for a Keras 3 model (its InputLayer lacks `batchInputShape`); the graph model
    converted from `model.export()` matches Keras to within float32 rounding.
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
        with_softmax(model, temperature, doubt).export(str(saved_model), verbose=False)
        tf_saved_model_conversion_v2.convert_tf_saved_model(
            str(saved_model),
            str(out_dir),
            quantization_dtype_map=dtype_map,
            # One shard keeps the bundle simple: the page embeds it in model-data.js anyway.
            weight_shard_size_bytes=1 << 30,
        )

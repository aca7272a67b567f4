"""Train one model on MNIST: data → model → fit with validation → evaluate once on the test set."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from training.config import VALIDATION_SIZE, TrainConfig
from training.data import Mnist, load_mnist
from training.distribute import choose_placement
from training.models import build_model
from training.predict import softmax
from training.progress import BatchProgress, CancelToken, TrainingListener

# Batch progress is reported at most this often, so that reporting stays far below 2% of an epoch.
PROGRESS_INTERVAL_S = 0.25
MAX_MISTAKES_KEPT = 500


@dataclass
class TrainResult:
    """A finished (or stopped) run: the model, what it measured, and how long it took."""

    model: keras.Model
    config: TrainConfig
    history: list[dict[str, float]]
    test_accuracy: float
    test_loss: float
    confusion_matrix: list[list[int]]
    # (test index, true label, predicted label, confidence) for wrong test predictions.
    mistakes: list[tuple[int, int, int, float]]
    duration_s: float
    cancelled: bool
    dataset_sha256: str
    examples: dict[str, int] = field(default_factory=dict)
    replicas: int = 1

    @property
    def epochs_completed(self) -> int:
        return len(self.history)


def split(data: Mnist, config: TrainConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train/validation/test as float32 images in 0..1; validation is the end of the train set."""

    def scaled(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32) / 255.0

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
        "train": (scaled(x_train), y_train.astype(np.int32)),
        "validation": (scaled(x_val), y_val.astype(np.int32)),
        "test": (scaled(x_test), y_test.astype(np.int32)),
    }


def train(
    config: TrainConfig,
    data: Mnist | None = None,
    listener: TrainingListener | None = None,
    cancel: CancelToken | None = None,
) -> TrainResult:
    """Train a model as `config` says, reporting to `listener`; `cancel` stops it between batches.

    A cancelled run still returns its partial model, evaluated on the test set.
    """
    listener = listener or TrainingListener()
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    placement = choose_placement()  # first: a CPU split must precede any TensorFlow work
    if data is None:
        data = load_mnist(on_status=listener.on_status)
    sets = split(data, config)
    keras.utils.set_random_seed(config.seed)

    x_train, y_train = sets["train"]
    batch_size = placement.global_batch_size(config.batch_size)
    batches = int(np.ceil(len(x_train) / batch_size))
    with placement.strategy.scope():
        model = build_model(config.architecture)
        model.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate_schedule(config, batches, placement.learning_rate(config.learning_rate))
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    if placement.replicas > 1:
        listener.on_status(f"Training {placement.name} (global batch {batch_size}).")
    reporter = _ListenerCallback(listener, cancel, config.epochs, batches)
    listener.on_train_begin(config.epochs, batches)
    model.fit(
        training_dataset(x_train, y_train, config, batch_size),
        validation_data=tf.data.Dataset.from_tensor_slices(sets["validation"]).batch(1024),
        epochs=config.epochs,
        callbacks=[reporter],
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
    )

    recalibrate_batch_norm(model, x_train)
    listener.on_status("Measuring test accuracy…")
    x_test, y_test = sets["test"]
    probabilities = predict_probabilities(model, x_test)
    evaluation = evaluate(probabilities, y_test)
    return TrainResult(
        model=model,
        config=config,
        history=reporter.history,
        duration_s=time.perf_counter() - started,
        cancelled=cancel.cancelled,
        dataset_sha256=data.content_sha256(),
        examples={name: len(pair[0]) for name, pair in sets.items()},
        replicas=placement.replicas,
        **evaluation,
    )


def learning_rate_schedule(
    config: TrainConfig, batches: int, peak: float
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The seed's MLP keeps Adam's constant rate; the CNN warms up then decays (one-cycle-like)."""
    if config.architecture == "mlp":
        return peak
    total = config.epochs * batches
    warmup = max(1, int(0.15 * total))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 10,
        decay_steps=max(1, total - warmup),
        alpha=0.01,
        warmup_target=peak,
        warmup_steps=warmup,
    )


def recalibrate_batch_norm(model: keras.Model, images: np.ndarray, batches: int = 8,
                           batch_size: int = 512) -> None:
    """Set batch-norm moving statistics to the final weights' statistics on training images.

    Moving averages lag behind weights that are still changing; after a short run (a few dozen
    steps) the lag alone can push test accuracy to chance. Averaging the batch statistics of the
    final weights over a few thousand images (as SWA's `update_bn` does) removes the lag.
    """
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers or len(images) == 0:
        return
    momenta = [layer.momentum for layer in layers]
    order = np.random.default_rng(0).permutation(len(images))[: batches * batch_size]
    try:
        for index, start in enumerate(range(0, len(order), batch_size)):
            for layer in layers:  # a running mean of the batch statistics: 0, 1/2, 2/3, ...
                layer.momentum = index / (index + 1)
            model(images[np.sort(order[start:start + batch_size])], training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


def training_dataset(x: np.ndarray, y: np.ndarray, config: TrainConfig, batch_size: int) -> tf.data.Dataset:
    """Shuffled batches, augmented on the fly when asked, prefetched behind the training step."""
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    if config.augment:
        from training.augment import augment_batch

        dataset = dataset.map(lambda images, labels: (augment_batch(images), labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def predict_probabilities(model: keras.Model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities for a stack of (N, 28, 28) images in 0..1."""
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    return softmax(logits)


def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, loss, confusion matrix (rows: true digit) and the mistakes, most confident first."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence)][:MAX_MISTAKES_KEPT]
    true_probability = probabilities[np.arange(len(labels)), labels]
    return {
        "test_accuracy": float((predicted == labels).mean()),
        "test_loss": float(-np.log(np.clip(true_probability, 1e-12, 1.0)).mean()),
        "confusion_matrix": confusion.tolist(),
        "mistakes": [
            (int(i), int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]]))
            for i in order
        ],
    }


class _ListenerCallback(keras.callbacks.Callback):
    """Bridges Keras's callbacks to a TrainingListener, throttled, and honours cancellation."""

    # Without this, a callback with batch hooks makes Keras convert every step's metrics in the
    # training loop, which stalls the pipeline. Listeners are required to be thread-safe, and a
    # stop request seen one batch later is still "between batches".
    async_safe = True

    def __init__(self, listener: TrainingListener, cancel: CancelToken, epochs: int, batches: int):
        super().__init__()
        self.listener, self.cancel = listener, cancel
        self.epochs, self.batches = epochs, batches
        self.history: list[dict[str, float]] = []
        self._epoch = 0
        self._started = 0.0
        self._last_report = 0.0

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.cancel.cancelled:
            self.model.stop_training = True
        now = time.perf_counter()
        if now - self._last_report < PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        done = (self._epoch - 1) * self.batches + batch + 1
        elapsed = now - self._started
        remaining = self.epochs * self.batches - done
        self.listener.on_batch(
            BatchProgress(
                epoch=self._epoch,
                epochs=self.epochs,
                batch=batch + 1,
                batches=self.batches,
                elapsed_s=elapsed,
                eta_s=elapsed / done * remaining if done else None,
                metrics={key: float(value) for key, value in (logs or {}).items()},
            )
        )

    def on_epoch_end(self, epoch, logs=None):
        metrics = {key: float(value) for key, value in (logs or {}).items()}
        metrics["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        metrics["epoch"] = epoch + 1
        metrics["elapsed_s"] = time.perf_counter() - self._started
        self.history.append(metrics)
        self.listener.on_epoch_end(epoch + 1, metrics)

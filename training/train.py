"""Train one model on MNIST: data → model → train with validation → evaluate once on the test set."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from training.calibrate import fit_temperature
from training.config import VALIDATION_SIZE, TrainConfig
from training.data import Mnist, load_mnist
from training.distribute import (
    ClusterWatchdog,
    Placement,
    WorkerLostError,
    choose_placement,
    describe_worker_failure,
    worker_timeout_s,
)
from training.loop import StepTotals, TrainingStep
from training.models import build_model, with_standard_layers
from training.probabilities import softmax
from training.progress import BatchProgress, CancelToken, TrainingListener

# Batch progress is reported at most this often, so that reporting stays far below 2% of an epoch.
PROGRESS_INTERVAL_S = 0.25
MAX_MISTAKES_KEPT = 500
# Epochs of fewer steps get batch norm's statistics refreshed before validation (see `train`).
SHORT_EPOCH_STEPS = 200


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
    # Where a stopped run stopped: (epoch, batch), both from 1; None when it ran to the end.
    stopped_at: tuple[int, int] | None = None
    batches_per_epoch: int = 0
    # Logits are divided by this before the softmax (fitted on the validation split).
    temperature: float = 1.0
    # More facts for the run's record (the user's digits it trained with, and how it reads the
    # held-out ones).
    extras: dict = field(default_factory=dict)
    # False on the workers of a cluster other than the chief: they must not save the run.
    is_chief: bool = True

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
    user_digits: UserDigitSets | None = None,
) -> TrainResult:
    """Train a model as `config` says, reporting to `listener`; `cancel` stops it between batches.

    `user_digits`, with `config.user_digits_weight` > 0, adds the user's trainable digits to the
    training images (that many times each) and measures the model on their held-out ones.

    One path for every placement: a step of our own run by `strategy.run` on one device, several
    devices or several workers. A cancelled run still returns its partial model, evaluated on the
    test set.
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
    if user_digits is not None and config.user_digits_weight:
        x_user, y_user = user_digits.trainable
        x_train = np.concatenate([x_train, *[x_user.astype(np.float32) / 255] * config.user_digits_weight])
        y_train = np.concatenate([y_train, *[y_user.astype(np.int32)] * config.user_digits_weight])
    batch_size = placement.global_batch_size(config.batch_size)
    batches = int(np.ceil(len(x_train) / batch_size))
    # In a cluster a watchdog ends this worker when the others stop answering (see distribute).
    watchdog = (ClusterWatchdog(worker_timeout_s()) if placement.name == "multi-worker mirrored"
                else None)
    with watchdog or contextlib.nullcontext(), placement.strategy.scope():
        model = build_model(config.architecture, for_training=True)
        optimizer = keras.optimizers.Adam(
            learning_rate_schedule(config, batches, placement.learning_rate(config.learning_rate)))
        step = TrainingStep(model, optimizer, placement.strategy, batch_size)
    if placement.replicas > 1:
        listener.on_status(f"Training {placement.name} (global batch {batch_size}).")
    dataset = placement.strategy.experimental_distribute_dataset(
        training_dataset(x_train, y_train, config, batch_size))

    listener.on_train_begin(config.epochs, batches)
    # Short epochs leave batch norm's moving averages far behind the weights (a 2,000-image epoch
    # showed 10% validation accuracy against 81% on the test set): measure with fresh statistics.
    refresh = ((lambda: recalibrate_batch_norm(model, x_train, batches=2))
               if batches < SHORT_EPOCH_STEPS else None)
    with watchdog or contextlib.nullcontext():
        history, stopped_at = _train_epochs(
            step, iter(dataset), config.epochs, batches, sets["validation"], listener, cancel,
            beat=watchdog.beat if watchdog else None, placement=placement, before_validation=refresh)

    listener.on_evaluate_begin()
    recalibrate_batch_norm(model, x_train)
    x_val, y_val = sets["validation"]
    temperature = fit_temperature(step.answer_logits(x_val), y_val)
    x_test, y_test = sets["test"]
    evaluation = evaluate(softmax(step.answer_logits(x_test) / temperature), y_test)
    extras = {}
    if user_digits is not None and config.user_digits_weight:
        extras["user_digits"] = user_digits.report(step.answer_logits, config.user_digits_weight)
    if watchdog:  # every worker ends here together: none leaves while another still measures
        with watchdog:
            _all_workers_meet(placement.strategy)
    return TrainResult(
        model=with_standard_layers(model, config.architecture),
        config=config,
        history=history,
        duration_s=time.perf_counter() - started,
        cancelled=cancel.cancelled,
        stopped_at=stopped_at,
        batches_per_epoch=batches,
        temperature=temperature,
        dataset_sha256=data.content_sha256(),
        examples={name: len(pair[0]) for name, pair in sets.items()},
        replicas=placement.replicas,
        is_chief=placement.is_chief,
        extras=extras,
        **evaluation,
    )


def _train_epochs(step: TrainingStep, iterator, epochs: int, batches: int,
                  validation: tuple[np.ndarray, np.ndarray], listener: TrainingListener,
                  cancel: CancelToken, *, beat, placement: Placement, before_validation=None,
                  ) -> tuple[list[dict[str, float]], tuple[int, int] | None]:
    """The epochs: steps with throttled progress, then validation; stops when any replica asks."""
    x_val, y_val = validation
    clock = _ProgressClock(epochs, batches)
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        totals = StepTotals()
        for batch in range(1, batches + 1):
            with _peers_watched(placement):
                loss_sum, correct, count, stop = step.run(iterator, cancel.cancelled)
            if beat:
                beat()
            totals.add(loss_sum, correct, count)
            if stop:
                cancel.cancel()  # another worker may have asked: this one stops with it
                return history, (epoch, batch)
            if clock.due():
                listener.on_batch(clock.progress(epoch, batch, totals.metrics()))
        metrics = totals.metrics()
        if before_validation:
            before_validation()
        metrics["val_accuracy"], metrics["val_loss"] = accuracy_and_loss(softmax(step.logits(x_val)), y_val)
        metrics["lr"] = float(keras.ops.convert_to_numpy(step.optimizer.learning_rate))
        metrics["epoch"] = epoch
        metrics["elapsed_s"] = clock.epoch_done(epoch)
        history.append(metrics)
        listener.on_epoch_end(epoch, metrics)
    return history, None


def _all_workers_meet(strategy: tf.distribute.Strategy) -> None:
    """A barrier: one tiny all-reduce that every worker must reach."""
    tf.function(lambda: strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)),
                                        axis=None))()


@dataclass(frozen=True)
class UserDigitSets:
    """The user's saved digits for a full training: the ones to train on and the held-out ones."""

    trainable: tuple[np.ndarray, np.ndarray]  # uint8 (N, 28, 28), labels (N,)
    held_out: tuple[np.ndarray, np.ndarray]

    def report(self, logits, weight: int) -> dict:
        """What the run's record says: how many were used, and the accuracy on the held-out ones."""
        x_held, y_held = self.held_out
        accuracy = (float((logits(x_held.astype(np.float32) / 255).argmax(1) == y_held).mean())
                    if len(x_held) else None)
        return {"weight": weight, "trained": len(self.trainable[0]), "held_out": len(x_held),
                "held_out_accuracy": accuracy}


@contextlib.contextmanager
def _peers_watched(placement: Placement) -> Iterator[None]:
    """Turn TensorFlow's errors about a lost peer into one line that names the worker."""
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.InternalError, tf.errors.FailedPreconditionError) as error:
        if placement.name != "multi-worker mirrored":
            raise
        raise WorkerLostError(describe_worker_failure(error)) from None


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
    """The run's shuffled global batches, augmented on the fly when asked.

    Full batches only, exactly `epochs × ceil(len(x) / batch_size)` of them, so that every replica
    of every worker takes the same number of steps. Workers shard it by data (MNIST is one
    in-memory array, not files), each taking its part of every batch.
    """
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
    if config.augment:
        from training.augment import augment_batch

        # The last epoch sees the images as they are: the model learns the variations first, then
        # ends on plain MNIST (with gaps cut, 99.51% on MNIST test augmenting to the end; 99.58–99.62%
        # with a plain last epoch, and the hard set's gains kept).
        augmented_steps = augmented_epochs(config.epochs) * int(np.ceil(len(x) / batch_size))

        def maybe_augment(step, batch):
            images, labels = batch
            augmented = tf.cond(step < augmented_steps, lambda: augment_batch(images, labels), lambda: images)
            return augmented, labels

        dataset = dataset.enumerate().map(maybe_augment, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # No autotuning thread: dropping the iterator after the last epoch waited for it, 30–40 s of
    # "Saving…" in about half of the default runs (6 s in a bare loop over the batches). The
    # pipeline's fixed defaults keep up with the training step all the same.
    options.autotune.enabled = False
    # Finite, not endless: an endless iterator dropped after the last epoch took 37 s to tear down
    # (a 2-epoch run on all of MNIST: 88 s → 56 s), all of it spent after training, "Saving…".
    total_steps = config.epochs * int(np.ceil(len(x) / batch_size))
    return dataset.take(total_steps).with_options(options).prefetch(tf.data.AUTOTUNE)


def augmented_epochs(epochs: int) -> int:
    """How many of an augmented run's epochs augment: all but the last, when there are several."""
    return epochs - 1 if epochs > 1 else epochs


def accuracy_and_loss(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Share of right answers and mean cross-entropy of the true labels."""
    true_probability = probabilities[np.arange(len(labels)), labels]
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    return accuracy, float(-np.log(np.clip(true_probability, 1e-12, 1.0)).mean())


def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, loss, confusion matrix (rows: true digit) and the mistakes, most confident first."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence)][:MAX_MISTAKES_KEPT]
    accuracy, loss = accuracy_and_loss(probabilities, labels)
    return {
        "test_accuracy": accuracy,
        "test_loss": loss,
        "confusion_matrix": confusion.tolist(),
        "mistakes": [
            (int(i), int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]]))
            for i in order
        ],
    }


class _ProgressClock:
    """When to report batch progress, and an ETA from measured epoch times (validation included)."""

    def __init__(self, epochs: int, batches: int):
        self.epochs, self.batches = epochs, batches
        self.started = time.perf_counter()
        self._epoch_started = self.started
        self._epoch_durations: list[float] = []
        self._last_report = 0.0

    def due(self) -> bool:
        now = time.perf_counter()
        if now - self._last_report < PROGRESS_INTERVAL_S:
            return False
        self._last_report = now
        return True

    def progress(self, epoch: int, batch: int, metrics: dict[str, float]) -> BatchProgress:
        now = time.perf_counter()
        in_epoch = now - self._epoch_started
        if self._epoch_durations:  # whole epochs measured: they include validation
            per_epoch = sum(self._epoch_durations) / len(self._epoch_durations)
            eta = max(per_epoch - in_epoch, 0.0) + per_epoch * (self.epochs - epoch)
        else:
            per_batch = in_epoch / batch
            eta = per_batch * (self.batches - batch) + per_batch * self.batches * (self.epochs - epoch)
        return BatchProgress(epoch=epoch, epochs=self.epochs, batch=batch, batches=self.batches,
                             elapsed_s=now - self.started, eta_s=eta, metrics=metrics)

    def epoch_done(self, epoch: int) -> float:
        """Record the end of an epoch; returns the seconds since training began."""
        now = time.perf_counter()
        self._epoch_durations.append(now - self._epoch_started)
        self._epoch_started = now
        return now - self.started

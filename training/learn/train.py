"""Train one model on MNIST: data → model → train with validation → evaluate once on the test set."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from training.core.config import TrainConfig
from training.core.probabilities import softmax
from training.core.progress import CancelToken, TrainingListener
from training.data.mnist import Mnist, load_mnist
from training.learn.calibrate import fit_temperature
from training.learn.dataset import split, training_dataset
from training.learn.distribute import choose_placement
from training.learn.epochs import EpochHooks, run_epochs
from training.learn.measure import evaluate, recalibrate_batch_norm
from training.learn.models import build_model, with_standard_layers
from training.learn.step import TrainingStep
from training.runs.record import RunRecord

# Epochs of fewer steps get batch norm's statistics refreshed before validation (see `train`).
SHORT_EPOCH_STEPS = 200


@dataclass(frozen=True)
class TrainResult:
    """A finished (or stopped) training: the model and its record, ready for `ModelStore.save`."""

    model: keras.Model
    record: RunRecord
    # False on the workers of a cluster other than the chief: they must not save the run.
    is_chief: bool = True


@dataclass(frozen=True)
class UserDigitSets:
    """The user's saved digits for a full training: the ones to train on and the held-out ones."""

    trainable: tuple[np.ndarray, np.ndarray]  # uint8 (N, 28, 28), labels (N,)
    held_out: tuple[np.ndarray, np.ndarray]

    def report(self, logits, weight: int) -> dict[str, Any]:
        """What the run's record says: how many were used, and the accuracy on the held-out ones."""
        x_held, y_held = self.held_out
        accuracy = (float((logits(x_held.astype(np.float32) / 255).argmax(1) == y_held).mean())
                    if len(x_held) else None)
        return {"weight": weight, "trained": len(self.trainable[0]), "held_out": len(x_held),
                "held_out_accuracy": accuracy}


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
    weight = config.user_digits_weight if user_digits is not None else 0
    x_train, y_train = _with_user_digits(sets["train"], user_digits, weight)
    batch_size = placement.global_batch_size(config.batch_size)
    batches = int(np.ceil(len(x_train) / batch_size))
    watchdog = placement.watchdog()  # in a cluster: ends this worker when the others stop answering
    watched = watchdog or contextlib.nullcontext()
    with watched, placement.strategy.scope():
        model = build_model(config.architecture, for_training=True)
        optimizer = keras.optimizers.Adam(
            learning_rate_schedule(config, batches, placement.learning_rate(config.learning_rate)))
        step = TrainingStep(model, optimizer, placement.strategy, batch_size)
    if placement.replicas > 1:
        listener.on_status(f"Training {placement.name} (global batch {batch_size}).")
    dataset = placement.strategy.experimental_distribute_dataset(
        training_dataset(x_train, y_train, config, batch_size))

    listener.on_train_begin(config.epochs, batches)
    # Short epochs leave batch norm's moving averages far behind the weights: validation would
    # read a model far worse than it is. Measure with fresh statistics.
    hooks = EpochHooks(
        guard=placement.peers_watched, beat=watchdog.beat if watchdog else None,
        before_validation=((lambda: recalibrate_batch_norm(model, x_train, batches=2))
                           if batches < SHORT_EPOCH_STEPS else None))
    with watched:
        history, stopped_at = run_epochs(step, iter(dataset), config.epochs, batches, sets["validation"],
                                         listener, cancel, hooks)

    listener.on_evaluate_begin()
    recalibrate_batch_norm(model, x_train)
    temperature = fit_temperature(step.answer_logits(sets["validation"][0]), sets["validation"][1])
    x_test, y_test = sets["test"]
    evaluation = evaluate(softmax(step.answer_logits(x_test) / temperature), y_test)
    if watchdog:  # every worker ends here together: none leaves while another still measures
        with watchdog:
            placement.meet()
    record = RunRecord(
        config=config, history=history, epochs_completed=len(history), cancelled=cancel.cancelled,
        stopped_at=stopped_at, batches_per_epoch=batches, temperature=temperature,
        duration_s=round(time.perf_counter() - started, 2),
        examples={name: len(pair[0]) for name, pair in sets.items()}, replicas=placement.replicas,
        dataset_sha256=data.content_sha256(),
        user_digits=user_digits.report(step.answer_logits, weight) if weight else None, **evaluation)
    return TrainResult(model=with_standard_layers(model, config.architecture), record=record,
                       is_chief=placement.is_chief)


def _with_user_digits(train_set: tuple[np.ndarray, np.ndarray], user_digits: UserDigitSets | None,
                      weight: int) -> tuple[np.ndarray, np.ndarray]:
    """The training images (uint8), with the user's trainable digits added `weight` times each."""
    x_train, y_train = train_set
    if not weight:
        return x_train, y_train
    x_user, y_user = user_digits.trainable
    return (np.concatenate([x_train, *[x_user.astype(np.uint8)] * weight]),
            np.concatenate([y_train, *[y_user.astype(np.int32)] * weight]))


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

"""Fine-tune the active model on the user's own digits, replaying MNIST so that MNIST is not forgotten.

Every batch is a quarter the user's trainable digits (augmented), the rest MNIST training images; the
held-out user digits are never trained on. Accuracy on them and on the MNIST test set is measured
before and after, and both go into the new run's record with the ids of the digits it learned from.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from training.core.config import FineTuneSettings, TrainConfig
from training.core.pixels import unit_pixels
from training.core.probabilities import softmax
from training.core.progress import CancelToken, TrainingListener
from training.data.augment import augment_batch
from training.data.mnist import Mnist, load_mnist
from training.learn.calibrate import fit_temperature
from training.learn.dataset import split
from training.learn.epochs import EpochHooks, run_epochs
from training.learn.measure import evaluate, recalibrate_batch_norm
from training.learn.step import TrainingStep
from training.learn.train import TrainResult
from training.runs.record import RunRecord
from training.runs.store import ModelStore, Run, StoreError
from training.runs.user_digits import UserDigitStore

# Fewer steps than this would not move the weights, however few digits there are; more than
# MAX_STEPS would not fit the fine-tune's time goal (see BENCHMARKS.md); a few hundred digits are
# then each seen a few times.
MIN_STEPS = 60
MAX_STEPS = 80
REPLAY_POOL = 20_000
# MNIST validation images measured after each epoch (the curves); the test set only at the end.
VALIDATION_PER_EPOCH = 1_000
# The new run's temperature is fitted on this many validation images.
TEMPERATURE_IMAGES = 2_000


@dataclass
class FineTuneOutcome:
    """A fine-tuned model, ready to save, and the honest numbers: before and after, side by side."""

    result: TrainResult
    base_run_id: str
    trained_ids: list[int]
    held_out_ids: list[int]
    before: dict[str, float | None]
    after: dict[str, float | None]
    settings: FineTuneSettings

    def record(self) -> dict[str, Any]:
        """What the run's record says about the fine-tuning (`record["finetune"]`)."""
        return {"base_run_id": self.base_run_id, "user_digit_ids": self.trained_ids,
                "held_out_ids": self.held_out_ids, "before": self.before, "after": self.after,
                "settings": asdict(self.settings)}


def finetune(store: ModelStore, digits: UserDigitStore, *, data: Mnist | None = None,
             settings: FineTuneSettings | None = None, base_run_id: str | None = None,
             listener: TrainingListener | None = None, cancel: CancelToken | None = None) -> FineTuneOutcome:
    """Fine-tune a run (the active one by default) on the user's trainable digits.

    Raises:
        StoreError: there is no model, or the base run cannot be loaded.
        ValueError: there are no trainable user digits.
    """
    settings = settings or FineTuneSettings()
    listener = listener or TrainingListener()
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    x_user, y_user, trained_ids = digits.arrays(held_out=False)
    x_held, y_held, held_out_ids = digits.arrays(held_out=True)
    if len(x_user) == 0:
        raise ValueError("there are no saved digits to learn from (the held-out ones are never trained "
                         "on): save some on the Draw page or with `user-digits add`")
    base = store.get(base_run_id) if base_run_id else store.active()
    if base is None:
        raise StoreError("No trained model yet: train one first, then fine-tune it on your digits.")
    # A digit the base model was itself fine-tuned on (held out only since an older database caught
    # up with the hold-out rule) would flatter its "before": it is not a measure of this fine-tune.
    unseen = ~np.isin(held_out_ids, (base.record.finetune or {}).get("user_digit_ids") or [])
    x_held, y_held, held_out_ids = x_held[unseen], y_held[unseen], held_out_ids[unseen]
    listener.on_status(f"Fine-tuning {base.run_id} on {len(x_user)} of your digits "
                       f"({len(x_held)} held out)…")
    if data is None:
        data = load_mnist(on_status=listener.on_status)
    sets = split(data, replace(base.record.config, train_limit=None))
    x_user, x_held = x_user.astype(np.float32) / 255, x_held.astype(np.float32) / 255
    keras.utils.set_random_seed(settings.seed)
    model = store.load_model(base.run_id)

    def held_out_accuracy() -> float | None:
        return float((step.answer_logits(x_held).argmax(1) == y_held).mean()) if len(x_held) else None

    def measured(test_accuracy: float) -> dict[str, float | None]:
        return {"user_held_out_accuracy": held_out_accuracy(), "user_held_out": len(x_held),
                "mnist_test_accuracy": test_accuracy}

    user_batch = max(1, round(settings.batch_size * settings.user_share))
    step, steps_per_epoch = _training_step(model, settings, len(x_user), user_batch)
    # The base run's test accuracy is in its record, measured on this same test set.
    before = measured(base.record.test_accuracy)
    listener.on_status(_numbers_line("Before", before))

    replay = _replay_pool(sets["train"], settings.seed)
    batches = _mixed_batches(x_user, y_user.astype(np.int32), replay, settings, user_batch)
    listener.on_train_begin(settings.epochs, steps_per_epoch)
    validation = (sets["validation"][0][:VALIDATION_PER_EPOCH], sets["validation"][1][:VALIDATION_PER_EPOCH])
    more = (lambda: {"user_held_out_accuracy": held_out_accuracy()}) if len(x_held) else dict
    history, stopped_at = run_epochs(step, iter(batches), settings.epochs, steps_per_epoch, validation,
                                     listener, cancel, EpochHooks(more_metrics=more))

    listener.on_evaluate_begin()
    # Batch-norm statistics of the new weights, on what they now serve: MNIST and the user's hand.
    recalibrate_batch_norm(model, np.concatenate([replay[0][:3000], x_user]))
    temperature = fit_temperature(step.answer_logits(sets["validation"][0][:TEMPERATURE_IMAGES]),
                                  sets["validation"][1][:TEMPERATURE_IMAGES])
    evaluation = evaluate(softmax(step.answer_logits(sets["test"][0]) / temperature), sets["test"][1])
    after = measured(evaluation["test_accuracy"])
    record = RunRecord(
        config=_finetuned_config(base.record.config, settings), history=history,
        epochs_completed=len(history), duration_s=round(time.perf_counter() - started, 2),
        cancelled=cancel.cancelled, stopped_at=stopped_at, batches_per_epoch=steps_per_epoch,
        temperature=temperature, dataset_sha256=data.content_sha256(),
        examples={"user_train": len(x_user), "user_held_out": len(x_held), "replay": len(replay[0]),
                  "validation": len(sets["validation"][0]), "test": len(sets["test"][0])},
        **evaluation)
    return FineTuneOutcome(result=TrainResult(model=model, record=record), base_run_id=base.run_id,
                           trained_ids=[int(i) for i in trained_ids],
                           held_out_ids=[int(i) for i in held_out_ids], before=before, after=after,
                           settings=settings)


def _training_step(model: keras.Model, settings: FineTuneSettings, user_digits: int,
                   user_batch: int) -> tuple[TrainingStep, int]:
    """The step on the base model with a decaying rate, and how many steps make an epoch: one pass
    over the user's digits, within MIN_STEPS..MAX_STEPS for the whole run."""
    one_pass = int(np.ceil(user_digits / user_batch))
    steps_per_epoch = int(np.clip(one_pass, np.ceil(MIN_STEPS / settings.epochs),
                                  np.ceil(MAX_STEPS / settings.epochs)))
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, decay_steps=steps_per_epoch * settings.epochs, alpha=0.05))
    return TrainingStep(model, optimizer, tf.distribute.get_strategy(), settings.batch_size), steps_per_epoch


def _finetuned_config(base: TrainConfig, settings: FineTuneSettings) -> TrainConfig:
    """The base run's configuration with the fine-tuning's settings, on all of MNIST."""
    return replace(base, epochs=settings.epochs, batch_size=settings.batch_size,
                   learning_rate=settings.learning_rate, augment=settings.augment, seed=settings.seed,
                   train_limit=None)


def save_finetuned(store: ModelStore, outcome: FineTuneOutcome, *, activate: bool = True,
                   run_id: str | None = None) -> Run:
    """Save the fine-tuned model as a new run (its record says what it learned from), atomically."""
    record = replace(outcome.result.record, run_id=run_id or "", finetune=outcome.record(),
                     name=f"fine-tuned on {len(outcome.trained_ids)} of your digits")
    return store.save(outcome.result.model, record, activate=activate)


def _numbers_line(when: str, numbers: dict) -> str:
    held = numbers["user_held_out_accuracy"]
    held_text = "no held-out digits yet" if held is None else f"{held:.2%} on your held-out digits"
    return f"{when}: {held_text}, {numbers['mnist_test_accuracy']:.2%} on MNIST test."


def _replay_pool(train: tuple[np.ndarray, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(train[0]))[:REPLAY_POOL]
    return unit_pixels(train[0][order]), train[1][order]


def _mixed_batches(x_user: np.ndarray, y_user: np.ndarray, replay: tuple[np.ndarray, np.ndarray],
                   settings: FineTuneSettings, user_batch: int):
    """Endless batches: `user_batch` of the user's digits (augmented), the rest MNIST replay."""
    def stream(x, y, size):
        return (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=settings.seed)
                .repeat().batch(size, drop_remainder=True))

    user = stream(x_user, y_user, user_batch)
    if settings.augment:
        user = user.enumerate().map(lambda step, batch: (
            augment_batch(*batch, tf.stack([tf.constant(settings.seed, tf.int64), step])), batch[1]))
    mnist = stream(replay[0], replay[1], settings.batch_size - user_batch)
    mixed = tf.data.Dataset.zip(user, mnist).map(
        lambda a, b: (tf.concat([a[0], b[0]], 0), tf.concat([a[1], b[1]], 0)))
    return mixed.prefetch(tf.data.AUTOTUNE)

"""Fine-tune the active model on the user's own digits, replaying MNIST so that MNIST is not forgotten.

Every batch is a quarter the user's trainable digits (augmented), the rest MNIST training images; the
held-out user digits are never trained on. Accuracy on them and on the MNIST test set is measured
before and after, and both go into the new run's record with the ids of the digits it learned from.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from training.config import TrainConfig
from training.progress import CancelToken, TrainingListener
from training.store import RECORD_FILE, ModelStore, Run, StoreError, new_run_id
from training.user_digits import UserDigitStore

if TYPE_CHECKING:
    from training.data import Mnist
    from training.train import TrainResult

# Fewer steps than this would not move the weights, however few digits there are; more than
# MAX_STEPS would not fit in 30 s on 2 cores (a few hundred digits are then seen about 3 times).
MIN_STEPS = 60
MAX_STEPS = 80
REPLAY_POOL = 20_000
# MNIST validation images measured after each epoch (the curves); the test set only at the end.
VALIDATION_PER_EPOCH = 1_000
# The new run's temperature is fitted on this many validation images.
TEMPERATURE_IMAGES = 2_000


@dataclass(frozen=True)
class FineTuneSettings:
    """How to fine-tune: passes over the user's digits, batch size, learning rate, user share."""

    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 3e-4
    user_share: float = 0.25
    augment: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"epochs must be 1..100, got {self.epochs}")
        if not 8 <= self.batch_size <= 1024:
            raise ValueError(f"batch size must be 8..1024, got {self.batch_size}")
        if not 0 < self.learning_rate <= 0.1:
            raise ValueError(f"learning rate must be in (0, 0.1], got {self.learning_rate}")
        if not 0 < self.user_share < 1:
            raise ValueError(f"user share must be between 0 and 1, got {self.user_share}")


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
    import keras

    from training.data import load_mnist
    from training.loop import TrainingStep
    from training.probabilities import softmax
    from training.train import evaluate, recalibrate_batch_norm, split

    settings = settings or FineTuneSettings()
    listener = listener or TrainingListener()
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    x_user, y_user, trained_ids = digits.arrays(held_out=False)
    x_held, y_held, held_out_ids = digits.arrays(held_out=True)
    if len(x_user) == 0:
        raise ValueError("there are no saved digits to learn from (every 5th of each digit is held "
                         "out): save some on the Draw page or with `user-digits add`")
    base = store.get(base_run_id) if base_run_id else store.active()
    if base is None:
        raise StoreError("No trained model yet: train one first, then fine-tune it on your digits.")
    listener.on_status(f"Fine-tuning {base.run_id} on {len(x_user)} of your digits "
                       f"({len(x_held)} held out)…")
    if data is None:
        data = load_mnist(on_status=listener.on_status)
    base_config = TrainConfig.from_dict(base.record["config"])
    sets = split(data, replace(base_config, train_limit=None))
    x_user, x_held = x_user.astype(np.float32) / 255, x_held.astype(np.float32) / 255
    keras.utils.set_random_seed(settings.seed)
    model = store.load_model(base.run_id)
    temperature = float(base.record.get("temperature", 1.0))

    def measure(step_logits, test_accuracy: float) -> dict[str, float | None]:
        held = step_logits(x_held).argmax(1) if len(x_held) else None
        return {"user_held_out_accuracy": None if held is None else float((held == y_held).mean()),
                "user_held_out": len(x_held), "mnist_test_accuracy": test_accuracy}

    import tensorflow as tf

    user_batch = max(1, round(settings.batch_size * settings.user_share))
    one_pass = int(np.ceil(len(x_user) / user_batch))
    steps_per_epoch = int(np.clip(one_pass, np.ceil(MIN_STEPS / settings.epochs),
                                  np.ceil(MAX_STEPS / settings.epochs)))
    total_steps = steps_per_epoch * settings.epochs
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, decay_steps=total_steps, alpha=0.05))
    step = TrainingStep(model, optimizer, tf.distribute.get_strategy(), settings.batch_size)
    # The base run's test accuracy is in its record, measured on this same test set.
    before = measure(step.answer_logits, float(base.record["test_accuracy"]))
    listener.on_status(_numbers_line("Before", before))

    replay = _replay_pool(sets["train"], settings.seed)
    dataset = _mixed_batches(x_user, y_user.astype(np.int32), replay, settings, user_batch)
    iterator = iter(dataset)
    listener.on_train_begin(settings.epochs, steps_per_epoch)
    validation = (sets["validation"][0][:VALIDATION_PER_EPOCH], sets["validation"][1][:VALIDATION_PER_EPOCH])
    history, stopped_at = _epochs(step, iterator, settings, steps_per_epoch, validation, (x_held, y_held),
                                  listener, cancel)

    listener.on_evaluate_begin()
    # Batch-norm statistics of the new weights, on what they now serve: MNIST and the user's hand.
    recalibrate_batch_norm(model, np.concatenate([replay[0][:3000], x_user]))
    try:
        from training.calibrate import fit_temperature

        temperature = fit_temperature(step.answer_logits(sets["validation"][0][:TEMPERATURE_IMAGES]),
                                      sets["validation"][1][:TEMPERATURE_IMAGES])
    except ImportError:  # pragma: no cover - calibration is optional
        pass
    evaluation = evaluate(softmax(step.answer_logits(sets["test"][0]) / temperature), sets["test"][1])
    after = measure(step.answer_logits, evaluation["test_accuracy"])
    from training.train import TrainResult

    config = replace(base_config, epochs=settings.epochs, batch_size=settings.batch_size,
                     learning_rate=settings.learning_rate, augment=settings.augment, seed=settings.seed,
                     train_limit=None)
    result = TrainResult(
        model=model, config=config, history=history, duration_s=time.perf_counter() - started,
        cancelled=cancel.cancelled, stopped_at=stopped_at, batches_per_epoch=steps_per_epoch,
        temperature=temperature, dataset_sha256=data.content_sha256(),
        examples={"user_train": len(x_user), "user_held_out": len(x_held), "replay": len(replay[0]),
                  "validation": len(sets["validation"][0]), "test": len(sets["test"][0])},
        **evaluation)
    return FineTuneOutcome(result=result, base_run_id=base.run_id, trained_ids=[int(i) for i in trained_ids],
                           held_out_ids=[int(i) for i in held_out_ids], before=before, after=after,
                           settings=settings)


def save_finetuned(store: ModelStore, outcome: FineTuneOutcome, *, activate: bool = True,
                   run_id: str | None = None) -> Run:
    """Save the fine-tuned model as a new run (its record says what it learned from), atomically."""
    import json

    run_id = run_id or new_run_id(outcome.result.config.architecture)
    count = len(outcome.trained_ids)
    folder = store.write_run_folder(outcome.result, run_id, store._staging_dir(run_id),
                                    name=f"fine-tuned on {count} of your digits")
    record_path = folder / RECORD_FILE
    record = json.loads(record_path.read_text())
    record["finetune"] = outcome.record()
    record_path.write_text(json.dumps(record, indent=2))  # the folder is not in the store yet
    return store.adopt(folder, activate=activate)


def numbers_table(before: dict, after: dict) -> list[str]:
    """Held-out user accuracy and MNIST test accuracy, before → after, one line each."""
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2%}"

    held = before.get("user_held_out", 0)
    return [f"your held-out digits ({held}): {pct(before['user_held_out_accuracy'])} → "
            f"{pct(after['user_held_out_accuracy'])}",
            f"MNIST test (10,000):       {pct(before['mnist_test_accuracy'])} → "
            f"{pct(after['mnist_test_accuracy'])}"]


def _numbers_line(when: str, numbers: dict) -> str:
    held = numbers["user_held_out_accuracy"]
    held_text = "no held-out digits yet" if held is None else f"{held:.2%} on your held-out digits"
    return f"{when}: {held_text}, {numbers['mnist_test_accuracy']:.2%} on MNIST test."


def _replay_pool(train: tuple[np.ndarray, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(train[0]))[:REPLAY_POOL]
    return train[0][order], train[1][order]


def _mixed_batches(x_user: np.ndarray, y_user: np.ndarray, replay: tuple[np.ndarray, np.ndarray],
                   settings: FineTuneSettings, user_batch: int):
    """Endless batches: `user_batch` of the user's digits (augmented), the rest MNIST replay."""
    import tensorflow as tf

    def stream(x, y, size):
        return (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=settings.seed)
                .repeat().batch(size, drop_remainder=True))

    user = stream(x_user, y_user, user_batch)
    if settings.augment:
        from training.augment import augment_batch

        user = user.map(lambda images, labels: (augment_batch(images, labels), labels))
    mnist = stream(replay[0], replay[1], settings.batch_size - user_batch)
    mixed = tf.data.Dataset.zip(user, mnist).map(
        lambda a, b: (tf.concat([a[0], b[0]], 0), tf.concat([a[1], b[1]], 0)))
    return mixed.prefetch(tf.data.AUTOTUNE)


def _epochs(step, iterator, settings: FineTuneSettings, steps: int, validation: tuple[np.ndarray, np.ndarray],
            held_out: tuple[np.ndarray, np.ndarray], listener: TrainingListener,
            cancel: CancelToken) -> tuple[list[dict], tuple[int, int] | None]:
    from training.loop import StepTotals
    from training.probabilities import softmax
    from training.progress import BatchProgress
    from training.train import accuracy_and_loss

    x_held, y_held = held_out

    history: list[dict] = []
    started = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        totals = StepTotals()
        for batch in range(1, steps + 1):
            loss_sum, correct, count, _ = step.run(iterator, False)
            totals.add(loss_sum, correct, count)
            if cancel.cancelled:
                return history, (epoch, batch)
            listener.on_batch(BatchProgress(epoch=epoch, epochs=settings.epochs, batch=batch, batches=steps,
                                            elapsed_s=time.perf_counter() - started, eta_s=None,
                                            metrics=totals.metrics()))
        metrics = totals.metrics()
        metrics["val_accuracy"], metrics["val_loss"] = accuracy_and_loss(softmax(step.logits(validation[0])),
                                                                         validation[1])
        if len(x_held):
            held = step.answer_logits(x_held).argmax(1)
            metrics["user_held_out_accuracy"] = float((held == y_held).mean())
        metrics["epoch"] = epoch
        metrics["elapsed_s"] = time.perf_counter() - started
        history.append(metrics)
        listener.on_epoch_end(epoch, metrics)
    return history, None

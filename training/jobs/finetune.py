"""Fine-tuning as a job of the model store: started here, run by `jobs.runner` in its own process."""

from __future__ import annotations

from dataclasses import replace

from training.core.config import FineTuneSettings
from training.jobs.job import JobSpec
from training.jobs.store import JobStore
from training.runs.holdout import measure_advice
from training.runs.store import ModelStore, StoreError
from training.runs.user_digits import UserDigitStore

SOURCE = "finetune"


def start_finetune_job(store: ModelStore, digits: UserDigitStore, *,
                       settings: FineTuneSettings | None = None) -> JobSpec:
    """Create the job and start its process; the Train page and `JobStore.view` follow it.

    Raises:
        StoreError: there is no active model to start from.
        ValueError: there are no trainable digits.
    """
    settings = settings or FineTuneSettings()
    base = store.active()
    if base is None:
        raise StoreError("No trained model yet: train one first, then fine-tune it on your digits.")
    if not digits.arrays(held_out=False)[1].size:
        raise ValueError("there are no saved digits to learn from: label some on the Draw page first")
    config = replace(base.record.config, epochs=settings.epochs,
                     batch_size=settings.batch_size, learning_rate=settings.learning_rate, train_limit=None)
    jobs = JobStore(store)
    spec = jobs.create(config, activate=True, name="fine-tuned on your digits", source=SOURCE)
    jobs.launch(spec, ["user-digits", "--db", str(digits.path.resolve()), "--models",
                       str(store.root.resolve()), "finetune", "--epochs", str(settings.epochs),
                       "--job", spec.job_id])
    return spec


def numbers_table(before: dict, after: dict) -> list[str]:
    """Held-out user accuracy and MNIST test accuracy, before → after, one line each.

    Without held-out digits the first line says why there is no number, never "n/a → n/a".
    """
    lines = []
    held, mine = before.get("user_held_out") or 0, (before.get("user_held_out_accuracy"),
                                                   after.get("user_held_out_accuracy"))
    if held and None not in mine:
        lines.append(f"your held-out digits ({held}): {mine[0]:.2%} → {mine[1]:.2%}")
    else:
        lines.append("your held-out digits: none yet, so not measured on your hand (the 2nd digit "
                     "you save of each kind is held out)")
    mnist = (before.get("mnist_test_accuracy"), after.get("mnist_test_accuracy"))
    if None not in mnist:
        lines.append(f"MNIST test (10,000):       {mnist[0]:.2%} → {mnist[1]:.2%}")
    return lines


def measure_advice_for(digits: UserDigitStore) -> str:
    """What a fine-tune on these digits will be measured on, and how many more would help, in a line."""
    return measure_advice(digits.counts(), digits.held_out_counts())

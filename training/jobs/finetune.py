"""Fine-tuning as a job of the model store: started here, run by `jobs.runner` in its own process."""

from __future__ import annotations

from dataclasses import replace

from training.core.config import FineTuneSettings
from training.jobs.job import JobSpec
from training.jobs.store import JobStore
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
    """Held-out user accuracy and MNIST test accuracy, before → after, one line each."""
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2%}"

    held = before.get("user_held_out", 0)
    return [f"your held-out digits ({held}): {pct(before['user_held_out_accuracy'])} → "
            f"{pct(after['user_held_out_accuracy'])}",
            f"MNIST test (10,000):       {pct(before['mnist_test_accuracy'])} → "
            f"{pct(after['mnist_test_accuracy'])}"]

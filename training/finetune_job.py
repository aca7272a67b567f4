"""Fine-tuning as a job of the model store: its own process, an event log any page can follow, stoppable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

from training.config import TrainConfig
from training.events import append_event
from training.finetune import FineTuneSettings, finetune, save_finetuned
from training.jobs import (
    EVENTS_FILE,
    OUTPUT_FILE,
    STOP_FILE,
    JobSpec,
    JobStore,
    StopFileToken,
    decide_activation,
)
from training.store import ModelStore, StoreError
from training.user_digits import UserDigitStore

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
    config = replace(TrainConfig.from_dict(base.record["config"]), epochs=settings.epochs,
                     batch_size=settings.batch_size, learning_rate=settings.learning_rate, train_limit=None)
    jobs = JobStore(store)
    spec = jobs.create(config, activate=True, name="fine-tuned on your digits", source=SOURCE)
    folder = jobs.folder(spec.job_id)
    root = Path(__file__).resolve().parent.parent
    with open(folder / OUTPUT_FILE, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "training", "user-digits", "--db", str(digits.path), "--models",
             str(store.root), "finetune", "--epochs", str(settings.epochs), "--job", spec.job_id],
            cwd=root, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, "PYTHONPATH": str(root)})
    threading.Thread(target=process.wait, name=f"reap-{spec.job_id}", daemon=True).start()
    return spec


def run_finetune_job(store: ModelStore, digits: UserDigitStore, job_id: str,
                     settings: FineTuneSettings | None = None) -> int:
    """Fine-tune in this process, writing the job's event log; returns an exit code.

    A stop request ends it after the current batch; a stopped fine-tune saves nothing.
    """
    from training.job_runner import EventLogListener

    jobs = JobStore(store)
    folder = jobs.folder(job_id)
    events = folder / EVENTS_FILE
    spec = jobs.spec(job_id)
    append_event(events, "started", pid=os.getpid())
    try:
        outcome = finetune(store, digits, settings=settings, listener=EventLogListener(events),
                           cancel=StopFileToken(folder / STOP_FILE))
        if outcome.result.cancelled:
            append_event(events, "discarded")
            return 0
        append_event(events, "saving")
        run = save_finetuned(store, outcome, activate=False, run_id=job_id)
        activated, note = decide_activation(store, spec, run.run_id)
        append_event(events, "finished", run_id=run.run_id, test_accuracy=outcome.result.test_accuracy,
                     activated=activated, note=note, duration_s=round(outcome.result.duration_s, 1),
                     finetune={"before": outcome.before, "after": outcome.after})
        return 0
    except Exception as error:  # one line in the log, as for any job
        lines = str(error).strip().splitlines()
        append_event(events, "failed", error=lines[0] if lines else type(error).__name__)
        return 1

"""Run one job in this process: train, write every step to its event log, save as the user asked."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from training.core.config import FineTuneSettings
from training.core.errors import first_line
from training.core.events import append_event
from training.core.progress import BatchProgress, CancelToken, TrainingListener
from training.data.mnist import Mnist, load_mnist
from training.jobs.store import (
    EVENTS_FILE,
    PARTIAL_DIR,
    STOP_FILE,
    JobStore,
    StopFileToken,
    decide_activation,
)
from training.learn.finetune import finetune, save_finetuned
from training.learn.train import TrainResult, UserDigitSets, train
from training.reading.doubt import DOUBT_FILE
from training.reading.for_run import build_neighbours_for, fit_doubt_for, training_features
from training.reading.neighbours import NEIGHBOURS_FILE
from training.reading.predictor import Predictor
from training.runs.store import ModelStore
from training.runs.user_digits import UserDigitStore, default_path

# Batch progress goes to the log at most this often, twice per read of the Train page
# (dashboard/job_panels.py POLL_SECONDS); the stop file is looked at before every step, so a Stop
# lands within the batch it was asked in.
LOG_PROGRESS_INTERVAL_S = 0.5
TENSORBOARD_DIR = "tensorboard"


class EventLogListener(TrainingListener):
    """Writes a training's progress to its job's event log (and TensorBoard scalars per epoch)."""

    def __init__(self, events: Path, tensorboard: Path | None = None, also: TrainingListener | None = None,
                 stop: CancelToken | None = None):
        """`stop`: a training whose stopped partial model waits to be kept; "stopped" is logged as soon
        as the training loop ends on it, so viewers offer Keep and Discard while it is measured."""
        self.events, self.also, self.stop = events, also or TrainingListener(), stop
        self.tensorboard = tensorboard
        self._writer = None
        self._last_progress = 0.0
        self._unlogged: BatchProgress | None = None
        self._last_seen: BatchProgress | None = None
        self._epochs_done = 0
        self.stop_logged = False

    def on_status(self, message: str) -> None:
        append_event(self.events, "status", message=message)
        self.also.on_status(message)

    def on_train_begin(self, epochs: int, batches: int) -> None:
        append_event(self.events, "train_begin", epochs=epochs, batches=batches)
        self.also.on_train_begin(epochs, batches)

    def on_batch(self, progress: BatchProgress) -> None:
        now = time.monotonic()
        self._unlogged = self._last_seen = progress
        if now - self._last_progress >= LOG_PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._log_progress()
        self.also.on_batch(progress)

    def _log_progress(self) -> None:
        progress, self._unlogged = self._unlogged, None
        if progress is None:
            return
        append_event(self.events, "progress", epoch=progress.epoch, epochs=progress.epochs,
                     batch=progress.batch, batches=progress.batches, elapsed_s=round(progress.elapsed_s, 2),
                     eta_s=None if progress.eta_s is None else round(progress.eta_s, 1),
                     metrics={key: round(value, 5) for key, value in progress.metrics.items()})

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self._unlogged = None  # the whole epoch is done: its last batch needs no line of its own
        self._last_seen, self._epochs_done = None, epoch
        append_event(self.events, "epoch", metrics=metrics)
        self._write_scalars(epoch, metrics)
        self.also.on_epoch_end(epoch, metrics)

    def on_evaluate_begin(self) -> None:
        self._log_progress()  # the last batch trained (where a stopped run stopped), then the measuring
        seen = self._last_seen
        if self.stop is not None and self.stop.cancelled:
            # The loop reports the batch it stopped at, so the last progress seen is where it stopped
            # (none seen since an epoch ended: the stop came after the last batch).
            append_event(self.events, "stopped", stopped_at=[seen.epoch, seen.batch] if seen else None,
                         batches_per_epoch=seen.batches if seen else None, epochs_completed=self._epochs_done)
            self.stop_logged = True
        else:
            append_event(self.events, "evaluating")
        self.also.on_evaluate_begin()

    def _write_scalars(self, epoch: int, metrics: dict[str, float]) -> None:
        """TensorBoard scalars, so that `tensorboard --logdir models` shows every run."""
        if self.tensorboard is None:
            return
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.tensorboard))
        with self._writer.as_default():
            for key, value in metrics.items():
                if key not in ("epoch", "elapsed_s"):
                    tf.summary.scalar(key, value, step=epoch)
        self._writer.flush()


def run_job(jobs: JobStore, job_id: str, *, data: Mnist | None = None,
            console: TrainingListener | None = None) -> int:
    """Train the job `job_id` to its end, writing its event log; returns a process exit code.

    A stop request (the stop file, SIGTERM or Ctrl-C) ends training after the current batch and
    leaves the partial model in the job's folder for a viewer to keep or discard.
    """
    folder = jobs.folder(job_id)
    events = folder / EVENTS_FILE
    spec = jobs.spec(job_id)
    cancel = StopFileToken(folder / STOP_FILE)
    _stop_on_signals(cancel)
    append_event(events, "started", pid=os.getpid())
    listener = EventLogListener(events, folder / TENSORBOARD_DIR, also=console, stop=cancel)
    try:
        if data is None:
            listener.on_status("Loading MNIST…")
            data = load_mnist(on_status=listener.on_status)
        result = train(spec.config, data, listener=listener, cancel=cancel,
                       user_digits=user_digit_sets(jobs, spec.config.user_digits_weight))
        record = replace(result.record, run_id=job_id, name=spec.name)
        if record.cancelled:
            # No doubt rule (nor neighbour index) for a partial model: Stop answers at once, and a
            # kept partial run gets them on first use.
            jobs.store.write_run_folder(result.model, record, folder / PARTIAL_DIR,
                                        folders={TENSORBOARD_DIR: folder / TENSORBOARD_DIR})
            if not listener.stop_logged:  # asked to stop while it was already being measured
                append_event(events, "stopped", stopped_at=record.stopped_at,
                             batches_per_epoch=record.batches_per_epoch,
                             epochs_completed=record.epochs_completed)
            jobs.partial_measured(job_id, record.test_accuracy)
            return 0
        append_event(events, "saving")
        run = jobs.store.save(result.model, record, activate=False, files=reading_files(result),
                              folders={TENSORBOARD_DIR: folder / TENSORBOARD_DIR})
        activated, note = decide_activation(jobs.store, spec, run.run_id)
        append_event(events, "finished", run_id=run.run_id, test_accuracy=record.test_accuracy,
                     activated=activated, note=note, duration_s=round(record.duration_s, 1))
        shutil.rmtree(folder / TENSORBOARD_DIR, ignore_errors=True)  # now inside the run
        return 0
    except Exception as error:
        # Every failure ends as one line in the log. A detached job's output file keeps the
        # traceback; in a terminal (console given) the one line is all the user sees.
        if console is None:
            logging.getLogger(__name__).error("training job %s failed", job_id, exc_info=error)
        append_event(events, "failed", error=first_line(error))
        return 1


def run_finetune_job(store: ModelStore, digits: UserDigitStore, job_id: str,
                     settings: FineTuneSettings | None = None) -> int:
    """Fine-tune in this process, writing the job's event log; returns an exit code.

    A stop request ends it after the current batch; a stopped fine-tune saves nothing.
    """
    jobs = JobStore(store)
    folder = jobs.folder(job_id)
    events = folder / EVENTS_FILE
    spec = jobs.spec(job_id)
    append_event(events, "started", pid=os.getpid())
    try:
        outcome = finetune(store, digits, settings=settings, listener=EventLogListener(events),
                           cancel=StopFileToken(folder / STOP_FILE))
        record = outcome.result.record
        if record.cancelled:
            append_event(events, "discarded")
            return 0
        append_event(events, "saving")
        run = save_finetuned(store, outcome, activate=False, run_id=job_id)
        activated, note = decide_activation(store, spec, run.run_id)
        append_event(events, "finished", run_id=run.run_id, test_accuracy=record.test_accuracy,
                     activated=activated, note=note, duration_s=round(record.duration_s, 1),
                     finetune={"before": outcome.before, "after": outcome.after})
        return 0
    except Exception as error:  # one line in the log, as for any job
        append_event(events, "failed", error=first_line(error))
        return 1


def user_digit_sets(jobs: JobStore, weight: int) -> UserDigitSets | None:
    """The user's digits (trainable and held out) when the training includes them, else None."""
    if not weight:
        return None
    digits = UserDigitStore(default_path(jobs.store.root))
    x, y, _ = digits.arrays(held_out=False)
    if len(x) == 0:
        raise ValueError("'Include my digits' is on, but none are saved yet: save some on the Draw page")
    x_held, y_held, _ = digits.arrays(held_out=True)
    return UserDigitSets(trainable=(x, y), held_out=(x_held, y_held))


def reading_files(result: TrainResult) -> dict[str, Callable[[Path], object]]:
    """The run's doubt rule and nearest-training-digit index, fitted now so that the Draw page
    need not wait for them, as files for `ModelStore.save`; what cannot be fitted is left out
    (the page then fits it on first use)."""
    predictor = Predictor(result.model, temperature=result.record.temperature)
    files: dict[str, Callable[[Path], object]] = {}
    seen = training_features(predictor)  # one pass of the model that both read
    for name, fit in ((DOUBT_FILE, fit_doubt_for), (NEIGHBOURS_FILE, build_neighbours_for)):
        try:
            files[name] = fit(predictor, seen=seen).save
        except (ValueError, np.linalg.LinAlgError) as error:
            logging.getLogger(__name__).warning("%s not fitted: %s", name, error)
    return files


def _stop_on_signals(cancel: StopFileToken) -> None:
    """SIGTERM (and SIGINT) stop like the Stop button: after the batch, with the partial model kept."""
    def handler(signum, frame):
        cancel.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        # Outside the main thread (tests) signals cannot be caught; the stop file still works.
        with contextlib.suppress(ValueError):
            signal.signal(signum, handler)


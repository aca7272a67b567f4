"""The one epoch loop: steps with throttled progress, then validation, until done or stopped.

Training and fine-tuning both run it, on one device, several devices or several workers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import keras
import numpy as np

from training.core.probabilities import softmax
from training.core.progress import BatchProgress, CancelToken, TrainingListener
from training.learn.measure import accuracy_and_loss
from training.learn.step import StepTotals, TrainingStep

# Batch progress is reported at most this often, so that reporting stays a small share of an epoch.
PROGRESS_INTERVAL_S = 0.25


@dataclass
class EpochHooks:
    """What a caller adds to the loop, all optional.

    guard: entered around each step (a cluster turns a lost peer into one line there).
    beat: called after each step (a cluster's watchdog hears that this worker is alive).
    before_validation: called before each validation (batch norm's statistics refreshed).
    more_metrics: extra numbers for the epoch's metrics (fine-tuning: the user's held-out digits).
    """

    guard: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    beat: Callable[[], None] | None = None
    before_validation: Callable[[], None] | None = None
    more_metrics: Callable[[], dict[str, float]] = field(default=dict)


def run_epochs(step: TrainingStep, iterator: Iterator, epochs: int, batches: int,
               validation: tuple[np.ndarray, np.ndarray], listener: TrainingListener, cancel: CancelToken,
               hooks: EpochHooks | None = None) -> tuple[list[dict[str, float]], tuple[int, int] | None]:
    """Train `epochs` of `batches` steps; returns the history and where it stopped (epoch, batch).

    Every replica votes on stopping at each step, so all workers stop after the same one.
    """
    hooks = hooks or EpochHooks()
    x_val, y_val = validation
    clock = ProgressClock(epochs, batches)
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        totals = StepTotals()
        for batch in range(1, batches + 1):
            with hooks.guard():
                loss_sum, correct, count, stop = step.run(iterator, cancel.cancelled)
            if hooks.beat:
                hooks.beat()
            totals.add(loss_sum, correct, count)
            if stop:
                cancel.cancel()  # another worker may have asked: this one stops with it
                # Where it stopped, reported at once: a viewer says so before the partial model is
                # measured, and never names an older batch as the one it stopped at.
                listener.on_batch(clock.progress(epoch, batch, totals.metrics()))
                return history, (epoch, batch)
            if clock.due():
                listener.on_batch(clock.progress(epoch, batch, totals.metrics()))
        if hooks.before_validation:
            hooks.before_validation()
        metrics = totals.metrics()
        metrics["val_accuracy"], metrics["val_loss"] = accuracy_and_loss(softmax(step.logits(x_val)), y_val)
        metrics["lr"] = float(keras.ops.convert_to_numpy(step.optimizer.learning_rate))
        metrics.update(hooks.more_metrics())
        metrics["epoch"] = epoch
        metrics["elapsed_s"] = clock.epoch_done()
        history.append(metrics)
        listener.on_epoch_end(epoch, metrics)
    return history, None


class ProgressClock:
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

    def epoch_done(self) -> float:
        """Record the end of an epoch; returns the seconds since training began."""
        now = time.perf_counter()
        self._epoch_durations.append(now - self._epoch_started)
        self._epoch_started = now
        return now - self.started

"""How training reports progress and is cancelled: plain Python, no TensorFlow, no UI."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BatchProgress:
    """Where a run stands inside an epoch (epochs and batches count from 1)."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    elapsed_s: float
    eta_s: float | None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """Share of the whole run done, 0..1."""
        return ((self.epoch - 1) * self.batches + self.batch) / (self.epochs * self.batches)


class TrainingListener:
    """Receives a run's progress. Override what you need; every method defaults to nothing.

    Calls come from the thread that trains; listeners must be quick (they run between batches).
    """

    def on_status(self, message: str) -> None:
        """A one-line message about a slow step (fetching data, evaluating)."""

    def on_train_begin(self, epochs: int, batches: int) -> None:
        """Training starts: `epochs` of `batches` each."""

    def on_batch(self, progress: BatchProgress) -> None:
        """Throttled: a few times a second at most, never once per batch."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """After each epoch (from 1), with loss, accuracy, val_loss, val_accuracy and lr."""

    def on_evaluate_begin(self) -> None:
        """Training is over (finished or stopped); the model is being measured on the test set."""


class CancelToken:
    """Asks a running training to stop after the current batch. Safe to share across threads."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def format_duration(seconds: float | None) -> str:
    """Short human duration: '45 s', '3 min 05 s', '1 h 02 min'; '…' when unknown.

    The one format for durations, in the terminal and on the pages alike.
    """
    if seconds is None or not math.isfinite(seconds):
        return "…"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

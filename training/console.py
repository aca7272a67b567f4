"""A terminal progress bar with ETA for training, as a TrainingListener."""

from __future__ import annotations

import sys
from typing import TextIO

from training.progress import BatchProgress, TrainingListener

BAR_WIDTH = 24


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = round(seconds)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class ConsoleProgress(TrainingListener):
    """Redraws one line per batch report on a terminal; prints a line per epoch everywhere."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()

    def on_status(self, message: str) -> None:
        self._line(message)

    def on_batch(self, progress: BatchProgress) -> None:
        if not self.interactive:
            return
        filled = int(BAR_WIDTH * progress.batch / progress.batches)
        bar = "=" * filled + ">" + " " * (BAR_WIDTH - filled)
        metrics = progress.metrics
        self.stream.write(
            f"\rEpoch {progress.epoch}/{progress.epochs} [{bar[:BAR_WIDTH]}] "
            f"{progress.batch}/{progress.batches}  ETA {format_duration(progress.eta_s)}  "
            f"loss {metrics.get('loss', float('nan')):.4f}  "
            f"accuracy {metrics.get('accuracy', float('nan')):.4f}"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self._line(
            f"Epoch {epoch}: loss {metrics['loss']:.4f}  accuracy {metrics['accuracy']:.4f}  "
            f"val_loss {metrics.get('val_loss', float('nan')):.4f}  "
            f"val_accuracy {metrics.get('val_accuracy', float('nan')):.4f}  "
            f"({format_duration(metrics.get('elapsed_s'))} elapsed)"
        )

    def _line(self, text: str) -> None:
        prefix = "\r\033[K" if self.interactive else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()

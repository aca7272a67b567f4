"""A terminal progress bar with rate and ETA for training, as a TrainingListener."""

from __future__ import annotations

import math
import sys
from typing import TextIO

from training.progress import BatchProgress, TrainingListener

BAR_WIDTH = 24


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
        done = (progress.epoch - 1) * progress.batches + progress.batch
        rate = done / progress.elapsed_s if progress.elapsed_s > 0 else 0.0
        metrics = progress.metrics
        self.stream.write(
            f"\r\033[KEpoch {progress.epoch}/{progress.epochs} [{bar[:BAR_WIDTH]}] "
            f"{progress.batch}/{progress.batches}  {rate:.1f} batches/s  "
            f"ETA {format_duration(progress.eta_s)}  "
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

    def on_evaluate_begin(self) -> None:
        self._line("Measuring test accuracy…")

    def _line(self, text: str) -> None:
        prefix = "\r\033[K" if self.interactive else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()

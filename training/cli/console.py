"""The terminal: a progress bar with rate and ETA, one-line usage errors, TensorFlow's chatter kept off."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from training.core.progress import BatchProgress, TrainingListener, format_duration

EXIT_USAGE = 2
MODELS_HELP = "model store folder (default: $MNIST_STUDIO_MODELS or ./models)"
BAR_WIDTH = 24


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


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ core logs there whatever the level."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def exit_without_teardown(code: int) -> None:
    """End the process with `code` once everything is written, skipping TensorFlow's teardown (its
    thread pools and the data pipeline's threads wind down for a while), which nobody waits for:
    the `train` and `job` commands end this way, whether they trained or refused their arguments."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)

"""Runs one training in a background thread and keeps its progress where the page can poll it.

No Streamlit here: the page stores a `TrainingSession` in `st.session_state` and reads
`snapshot()` from a fragment that reruns every half second. The thread only ever writes to
this object, under its lock.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from training.config import TrainConfig
from training.data import Mnist, load_mnist
from training.progress import BatchProgress, CancelToken, TrainingListener
from training.store import ModelStore, Run

# Phases a session goes through; "stopped" waits for the user to keep or discard the model.
STARTING, TRAINING, EVALUATING, SAVING = "starting", "training", "evaluating", "saving"
FINISHED, STOPPED, FAILED, DISCARDED = "finished", "stopped", "failed", "discarded"
ACTIVE_PHASES = (STARTING, TRAINING, EVALUATING, SAVING)

_mnist_lock = threading.Lock()
_mnist: Mnist | None = None


def shared_mnist(on_status=None) -> Mnist:
    """MNIST loaded once per process and shared read-only by every session and thread."""
    global _mnist
    with _mnist_lock:
        if _mnist is None:
            _mnist = load_mnist(on_status=on_status)
        return _mnist


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a session's state for one redraw."""

    phase: str
    config: TrainConfig
    status: str
    history: list[dict[str, float]]
    progress: BatchProgress | None
    elapsed_s: float
    error: str | None
    run: Run | None
    test_accuracy: float | None
    epochs_completed: int

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES


@dataclass
class TrainingSession(TrainingListener):
    """One training run for one browser session: start it, poll it, stop it, keep or discard it."""

    config: TrainConfig
    store: ModelStore
    cancel_token: CancelToken = field(default_factory=CancelToken)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._phase = STARTING
        self._status = "Starting…"
        self._history: list[dict[str, float]] = []
        self._progress: BatchProgress | None = None
        self._error: str | None = None
        self._result = None  # the TrainResult of a stopped run, until kept or discarded
        self._run: Run | None = None
        self._test_accuracy: float | None = None
        self._started = time.monotonic()
        self._ended: float | None = None
        self._thread = threading.Thread(target=self._work, name="mnist-studio-training", daemon=True)

    # --- Called from the page ---------------------------------------------------------------

    def start(self) -> TrainingSession:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the training to stop after the current batch; the partial model is then offered."""
        self.cancel_token.cancel()
        with self._lock:
            if self._phase in (STARTING, TRAINING):
                self._status = "Stopping after the current batch…"

    def keep(self) -> Run:
        """Save a stopped run's partial model and make it active."""
        with self._lock:
            result, phase = self._result, self._phase
        if phase != STOPPED or result is None:
            raise ValueError("there is no stopped run to keep")
        run = self.store.save(result, activate=True)
        with self._lock:
            self._result, self._run, self._phase = None, run, FINISHED
            self._status = f"Kept the partial model as {run.run_id}."
        return run

    def discard(self) -> None:
        """Forget a stopped run's partial model."""
        with self._lock:
            self._result = None
            self._phase = DISCARDED
            self._status = "Discarded the partial model."

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread (tests and scripts); True when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return Snapshot(
                phase=self._phase,
                config=self.config,
                status=self._status,
                history=list(self._history),
                progress=self._progress,
                elapsed_s=end - self._started,
                error=self._error,
                run=self._run,
                test_accuracy=self._test_accuracy,
                epochs_completed=len(self._history),
            )

    # --- TrainingListener: called from the training thread -----------------------------------

    def on_status(self, message: str) -> None:
        with self._lock:
            self._status = message
            if message.startswith("Measuring"):
                self._phase = EVALUATING

    def on_train_begin(self, epochs: int, batches: int) -> None:
        with self._lock:
            self._phase = TRAINING
            self._status = f"Training {epochs} epochs of {batches} batches…"

    def on_batch(self, progress: BatchProgress) -> None:
        with self._lock:
            self._progress = progress

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        with self._lock:
            self._history.append(dict(metrics))

    # --- The thread -------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self.on_status("Loading TensorFlow…")
            from training.train import train  # TensorFlow loads here, off the page's thread.

            self.on_status("Loading MNIST…")
            data = shared_mnist(on_status=self.on_status)
            result = train(self.config, data, listener=self, cancel=self.cancel_token)
            with self._lock:
                self._test_accuracy = result.test_accuracy
            if result.cancelled:
                with self._lock:
                    self._result, self._phase = result, STOPPED
                    self._status = (f"Stopped after {result.epochs_completed} of {self.config.epochs} "
                                    "epochs.")
                return
            with self._lock:
                self._phase, self._status = SAVING, "Saving the model…"
            run = self.store.save(result, activate=True)
            with self._lock:
                self._run, self._phase = run, FINISHED
                self._status = f"Saved {run.run_id} and made it the active model."
        except Exception as error:
            # Expected failures (MnistUnavailableError, StoreError, ValueError, OSError) and
            # unexpected ones alike end up as one line on the page; a thread's exception would
            # otherwise vanish silently.
            self._fail(error)
        finally:
            with self._lock:
                self._ended = time.monotonic()

    def _fail(self, error: BaseException) -> None:
        # The page shows one line; the server's log keeps the whole story.
        logging.getLogger(__name__).error("training failed", exc_info=error)
        lines = str(error).strip().splitlines()
        with self._lock:
            self._phase = FAILED
            self._error = lines[0] if lines else type(error).__name__
            self._status = "Training failed."

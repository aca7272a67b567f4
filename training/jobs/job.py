"""A job as its files tell it: what to train (`spec.json`) and its state folded from its event log."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.core.config import TrainConfig
from training.core.progress import BatchProgress

# What a job can be doing, as its viewers see it.
STARTING, TRAINING, EVALUATING, SAVING = "starting", "training", "evaluating", "saving"
FINISHED, STOPPED, KEPT, DISCARDED = "finished", "stopped", "kept", "discarded"
FAILED, INTERRUPTED = "failed", "interrupted"
RUNNING_PHASES = (STARTING, TRAINING, EVALUATING, SAVING)


@dataclass(frozen=True)
class JobSpec:
    """What to train and what to do when done."""

    job_id: str
    config: TrainConfig
    activate: bool = True
    name: str = ""
    source: str = "cli"
    created_at: float = 0.0
    # The run the user had chosen when the job started: if that choice changes while it trains,
    # the user's newer choice stands and the finished run is not made active.
    active_at_start: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "config": self.config.to_dict(), "activate": self.activate,
                "name": self.name, "source": self.source, "created_at": self.created_at,
                "active_at_start": self.active_at_start}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> JobSpec:
        return cls(job_id=values["job_id"], config=TrainConfig.from_dict(values["config"]),
                   activate=bool(values.get("activate", True)), name=str(values.get("name", "")),
                   source=str(values.get("source", "cli")),
                   created_at=float(values.get("created_at", 0.0)),
                   active_at_start=values.get("active_at_start"))


@dataclass(frozen=True)
class JobView:
    """A job as its event log tells it, for one redraw of a page or one line of the CLI."""

    spec: JobSpec
    phase: str
    status: str
    history: list[dict[str, float]] = field(default_factory=list)
    progress: BatchProgress | None = None
    epochs: int = 0
    batches: int = 0
    pid: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    stop_requested: bool = False
    error: str | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    # Its news was dismissed (in any tab, or the CLI): no page shows it again.
    dismissed: bool = False

    @property
    def job_id(self) -> str:
        return self.spec.job_id

    @property
    def running(self) -> bool:
        return self.phase in RUNNING_PHASES

    @property
    def elapsed_s(self) -> float:
        start = self.started_at or self.spec.created_at
        return max(0.0, (self.ended_at or time.time()) - start)

    @property
    def measured(self) -> bool:
        """A stopped job's partial model is saved and its test accuracy known."""
        return bool(self.outcome.get("measured"))

    @property
    def keep_requested(self) -> bool | None:
        """Kept before it was measured: None if not, else whether it is to be made active."""
        return self.outcome.get("keep_requested")

    def stop_description(self) -> str:
        """Where a stopped job stopped and what its partial model is, in one sentence."""
        stopped_at = self.outcome.get("stopped_at")
        batches = self.outcome.get("batches_per_epoch") or self.batches
        if not stopped_at:
            return "Stopped."
        epoch, batch = stopped_at
        whole = epoch - 1
        trained = (f"{whole} whole epoch{'s' if whole != 1 else ''} and {batch} batches"
                   if whole else f"{batch} batches")
        return (f"Stopped in epoch {epoch} at batch {batch}/{batches}. The partial model has the "
                f"weights after {trained} of training.")


def fold_events(spec: JobSpec, events: list[dict[str, Any]], *, stop_requested: bool = False) -> JobView:
    """The job's state after its events, in order (the last event of a kind wins)."""
    state: dict[str, Any] = {"phase": STARTING, "status": "Starting…", "history": [], "progress": None,
                             "epochs": spec.config.epochs, "batches": 0, "pid": None,
                             "started_at": None, "ended_at": None, "error": None, "outcome": {},
                             "dismissed": False}
    for event in events:
        kind = event["event"]
        if kind == "started":
            state.update(pid=event.get("pid"), started_at=event.get("time"))
        elif kind == "status":
            state["status"] = str(event.get("message", ""))
        elif kind == "train_begin":
            state.update(phase=TRAINING, epochs=event.get("epochs", 0), batches=event.get("batches", 0),
                         status="Training…")
        elif kind == "progress":
            fields = {key: event.get(key) for key in
                      ("epoch", "epochs", "batch", "batches", "elapsed_s", "eta_s")}
            state["progress"] = BatchProgress(**fields, metrics=event.get("metrics") or {})
        elif kind == "epoch":
            state["history"].append(event.get("metrics") or {})
        elif kind == "evaluating":
            state.update(phase=EVALUATING, status="Measuring test accuracy…")
        elif kind == "saving":
            # Most of the wait is not the file: the doubt rule and the neighbour index read MNIST.
            state.update(phase=SAVING, status="Saving the model and preparing it for the Draw page "
                                               "(a few seconds)…")
        elif kind in ("finished", "stopped", "kept"):
            state.update(phase=kind, ended_at=event.get("time"))
            state["outcome"] = {**state["outcome"], **event}
            if kind == "stopped" and "test_accuracy" in event:  # logs written before "measured"
                state["outcome"]["measured"] = True
        elif kind == "measured":  # the stopped job's partial model is saved and measured
            state["outcome"] = {**state["outcome"], "test_accuracy": event.get("test_accuracy"),
                                "measured": True}
        elif kind == "keep_requested":  # kept before it was measured: the job keeps it when measured
            state["outcome"] = {**state["outcome"], "keep_requested": bool(event.get("activate"))}
        elif kind == "discarded":
            state.update(phase=DISCARDED, ended_at=event.get("time"), status="Discarded the partial model.")
        elif kind == "failed":
            state.update(phase=FAILED, ended_at=event.get("time"), error=str(event.get("error", "")))
        elif kind == "dismissed":
            state["dismissed"] = True
    if state["phase"] in RUNNING_PHASES and events and not _alive(state["pid"], spec.job_id):
        started_long_ago = time.time() - spec.created_at > 60
        if state["pid"] is not None or started_long_ago:
            state.update(phase=INTERRUPTED, error="the training process ended without finishing "
                                                  "(killed, or the machine restarted); nothing was saved")
    elif state["phase"] == STOPPED and not state["outcome"].get("measured") \
            and not _alive(state["pid"], spec.job_id):
        state.update(phase=INTERRUPTED, error="the training process ended while measuring its partial "
                                              "model (killed, or the machine restarted); nothing was saved")
    return JobView(spec=spec, stop_requested=stop_requested, **state)


def _alive(pid: int | None, job_id: str) -> bool:
    """Whether the process that trains `job_id` still runs (not a zombie, not a reused pid)."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        if not Path("/proc/self").exists():  # no procfs: ask the kernel
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                return False
            return True
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and (job_id in cmdline or "training" in cmdline)

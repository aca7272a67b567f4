"""Trainings as jobs of the model store: a process trains and writes an event log, anyone reads it.

A job lives in `<store>/jobs/<job_id>/`: `spec.json` (what to train), `events.jsonl` (what
happened, appended by the training process), `stop` (present once someone asked it to stop) and,
for a stopped job, `partial/` (its model, waiting to be kept or discarded). The job's id is the id
its run gets when saved. Nothing about a training lives in a viewer, so a reload, a second tab,
the CLI or a restarted server all see the same jobs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.config import TrainConfig
from training.events import append_event, read_events
from training.progress import BatchProgress, CancelToken
from training.store import ModelStore, StoreError, _write_json_atomic, new_run_id

JOBS_DIR = "jobs"
SPEC_FILE = "spec.json"
EVENTS_FILE = "events.jsonl"
STOP_FILE = "stop"
PARTIAL_DIR = "partial"
OUTPUT_FILE = "output.log"
# Finished, discarded and dismissed jobs are swept after this long (their runs stay).
KEEP_ENDED_JOBS_S = 24 * 3600

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


class StopFileToken(CancelToken):
    """Cancelled when the job's stop file exists (any process may create it) or on `cancel()`."""

    def __init__(self, stop_file: Path):
        super().__init__()
        self.stop_file = stop_file

    @property
    def cancelled(self) -> bool:
        return super().cancelled or self.stop_file.exists()


class JobStore:
    """The jobs of one model store."""

    def __init__(self, store: ModelStore):
        self.store = store
        self.root = store.root / JOBS_DIR

    def folder(self, job_id: str) -> Path:
        if not job_id or not all(c.isalnum() or c in "-_" for c in job_id):
            raise StoreError(f"{job_id!r} is not a job id")
        return self.root / job_id

    # --- Creating and running -----------------------------------------------------------------

    def create(self, config: TrainConfig, *, activate: bool = True, name: str = "",
               source: str = "cli") -> JobSpec:
        """Write a new job's spec and its first event; nothing trains yet."""
        spec = JobSpec(job_id=new_run_id(config.architecture), config=config, activate=activate,
                       name=" ".join(name.split())[:80], source=source, created_at=time.time(),
                       active_at_start=self.store.chosen_id())
        folder = self.folder(spec.job_id)
        folder.mkdir(parents=True)
        _write_json_atomic(folder / SPEC_FILE, spec.to_dict())
        append_event(folder / EVENTS_FILE, "created", source=source)
        return spec

    def launch(self, spec: JobSpec) -> subprocess.Popen:
        """Run the job in a process of its own, detached from the caller's session.

        The process outlives the page that started it (and the server); a thread here reaps it
        when it ends so that it never lingers as a zombie that looks alive.
        """
        folder = self.folder(spec.job_id)
        root = Path(__file__).resolve().parent.parent
        with open(folder / OUTPUT_FILE, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "training", "job", spec.job_id, "--models", str(self.store.root)],
                cwd=root, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "PYTHONPATH": str(root)},
            )
        threading.Thread(target=process.wait, name=f"reap-{spec.job_id}", daemon=True).start()
        return process

    # --- Reading ------------------------------------------------------------------------------

    def spec(self, job_id: str) -> JobSpec:
        folder = self.folder(job_id)
        if not folder.is_dir():
            raise StoreError(f"no training named {job_id} in {self.store.root}")
        try:
            return JobSpec.from_dict(json.loads((folder / SPEC_FILE).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise StoreError(f"job {job_id} is unreadable ({type(error).__name__})") from None

    def view(self, job_id: str) -> JobView:
        folder = self.folder(job_id)
        return fold_events(self.spec(job_id), read_events(folder / EVENTS_FILE),
                           stop_requested=(folder / STOP_FILE).exists())

    def views(self) -> list[JobView]:
        """Every job that can still be read, newest first; ended jobs past their time are swept."""
        if not self.root.is_dir():
            return []
        views = []
        for folder in sorted(self.root.iterdir(), reverse=True):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                view = self.view(folder.name)
            except StoreError:
                continue
            if view.phase in (FINISHED, KEPT, DISCARDED) and view.ended_at \
                    and time.time() - view.ended_at > KEEP_ENDED_JOBS_S:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            views.append(view)
        return views

    def running(self) -> list[JobView]:
        return [view for view in self.views() if view.running]

    # --- Acting on a job ----------------------------------------------------------------------

    def request_stop(self, job_id: str) -> None:
        """Ask a job to stop after its current batch (from any process)."""
        (self.folder(job_id) / STOP_FILE).touch()

    def keep(self, job_id: str) -> str:
        """Save a stopped job's partial model as a run; returns a sentence saying what happened."""
        view = self.view(job_id)
        partial = self.folder(job_id) / PARTIAL_DIR
        if view.phase != STOPPED or not partial.is_dir():
            raise StoreError(f"job {job_id} has no partial model to keep")
        run = self.store.adopt(partial, activate=False)
        activated, note = decide_activation(self.store, view.spec, run.run_id)
        append_event(self.folder(job_id) / EVENTS_FILE, "kept", run_id=run.run_id, activated=activated,
                     note=note, test_accuracy=run.test_accuracy)
        return note

    def discard(self, job_id: str) -> None:
        """Forget a stopped job's partial model."""
        view = self.view(job_id)
        if view.phase != STOPPED:
            raise StoreError(f"job {job_id} has no partial model to discard ({view.phase})")
        shutil.rmtree(self.folder(job_id) / PARTIAL_DIR, ignore_errors=True)
        append_event(self.folder(job_id) / EVENTS_FILE, "discarded")

    def dismiss(self, job_id: str) -> None:
        """Remove an ended job from the list (its run, if any, stays in the store)."""
        view = self.view(job_id)
        if view.running:
            raise StoreError(f"job {job_id} is still running; stop it first")
        shutil.rmtree(self.folder(job_id), ignore_errors=True)


def decide_activation(store: ModelStore, spec: JobSpec, run_id: str) -> tuple[bool, str]:
    """Make the run active only if the user asked for it and has not chosen a run since it began.

    Another training finishing meanwhile is not a choice: the later run still becomes active.
    The note is one sentence about the run ("It ..."), said after the line that names it.
    """
    if not spec.activate:
        return False, "The active model was left as it was, as asked."
    chosen, chosen_at = store.chosen_id(), store.user_choice_time()
    if chosen is not None and chosen_at is not None and chosen_at > spec.created_at:
        return False, (f"It was not made active: {chosen} was chosen as the active model while it "
                       "trained, and that choice stands.")
    store.set_active(run_id, by="training")
    return True, "It is now the active model."


def fold_events(spec: JobSpec, events: list[dict[str, Any]], *, stop_requested: bool = False) -> JobView:
    """The job's state after its events, in order (the last event of a kind wins)."""
    state: dict[str, Any] = {"phase": STARTING, "status": "Starting…", "history": [], "progress": None,
                             "epochs": spec.config.epochs, "batches": 0, "pid": None,
                             "started_at": None, "ended_at": None, "error": None, "outcome": {}}
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
        elif kind == "discarded":
            state.update(phase=DISCARDED, ended_at=event.get("time"), status="Discarded the partial model.")
        elif kind == "failed":
            state.update(phase=FAILED, ended_at=event.get("time"), error=str(event.get("error", "")))
    if state["phase"] in RUNNING_PHASES and events and not _alive(state["pid"], spec.job_id):
        started_long_ago = time.time() - spec.created_at > 60
        if state["pid"] is not None or started_long_ago:
            state.update(phase=INTERRUPTED, error="the training process ended without finishing "
                                                  "(killed, or the machine restarted); nothing was saved")
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

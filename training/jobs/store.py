"""Trainings as jobs of the model store: a process trains and writes an event log, anyone reads it.

A job lives in `<store>/jobs/<job_id>/`: `spec.json` (what to train), `events.jsonl` (what
happened, appended by the training process and by whoever keeps, discards or dismisses it), `stop`
(present once someone asked it to stop) and, for a stopped job, `partial/` (its model, waiting to
be kept or discarded; `decision.lock` lets one keep or discard happen at a time). The job's id is
the id its run gets when saved. Nothing about a training lives in a viewer, so a reload, a second
tab, the CLI or a restarted server all see the same jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from training.core.config import TrainConfig
from training.core.events import append_event, read_events
from training.core.files import write_json_atomic
from training.core.progress import CancelToken
from training.jobs.job import (
    DISCARDED,
    FINISHED,
    KEPT,
    STOPPED,
    JobSpec,
    JobView,
    fold_events,
)
from training.runs.store import ModelStore, StoreError, new_run_id

JOBS_DIR = "jobs"
SPEC_FILE = "spec.json"
EVENTS_FILE = "events.jsonl"
STOP_FILE = "stop"
PARTIAL_DIR = "partial"
DECISION_LOCK_FILE = "decision.lock"
OUTPUT_FILE = "output.log"
# Finished, discarded and dismissed jobs are swept after this long (their runs stay).
KEEP_ENDED_JOBS_S = 24 * 3600



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
        write_json_atomic(folder / SPEC_FILE, spec.to_dict())
        append_event(folder / EVENTS_FILE, "created", source=source)
        return spec

    def launch(self, spec: JobSpec, command: list[str] | None = None) -> subprocess.Popen:
        """Run the job in a process of its own, detached from the caller's session.

        Args:
            command: the `python -m training` arguments that run it; `job <id>` (a training) when
                None.

        The process outlives the page that started it (and the server); a thread here reaps it
        when it ends so that it never lingers as a zombie that looks alive.
        """
        models = str(self.store.root.resolve())
        command = command or ["job", spec.job_id, "--models", models]
        with open(self.folder(spec.job_id) / OUTPUT_FILE, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "training", *command], stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True)
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

    def keep(self, job_id: str, *, activate: bool = False) -> str:
        """Save a stopped job's partial model as a run; returns a sentence saying what happened.

        A partial model is rarely the better one: the active model stays unless `activate` says
        the person asked for this run to replace it. Kept while its training process still
        measures it, it is saved by that process as soon as it is measured.
        """
        with self._decision_lock(job_id):
            view = self.view(job_id)
            if view.phase != STOPPED or view.keep_requested is not None:
                raise StoreError(f"job {job_id} has no partial model to keep")
            if not view.measured:
                append_event(self.folder(job_id) / EVENTS_FILE, "keep_requested", activate=activate)
                return (f"Keeping the partial model as {job_id} as soon as it is measured on the "
                        "test set (a few seconds).")
            return self._keep_measured(job_id, activate)

    def partial_measured(self, job_id: str, test_accuracy: float) -> None:
        """The training process saved and measured its partial model: say so, then carry out a
        keep or discard that came while it measured."""
        with self._decision_lock(job_id):
            append_event(self.folder(job_id) / EVENTS_FILE, "measured", test_accuracy=test_accuracy)
            view = self.view(job_id)
            if view.phase == DISCARDED:
                shutil.rmtree(self.folder(job_id) / PARTIAL_DIR, ignore_errors=True)
            elif view.keep_requested is not None:
                self._keep_measured(job_id, view.keep_requested)

    def _keep_measured(self, job_id: str, activate: bool) -> str:
        partial = self.folder(job_id) / PARTIAL_DIR
        if not partial.is_dir():
            raise StoreError(f"job {job_id} has no partial model to keep")
        run = self.store.adopt(partial, activate=activate)
        active = self.store.active_id()
        if activate:
            note = "It was made active, as asked."
        elif active == run.run_id:
            note = "It is the active model: there is no other run."
        else:
            note = f"It was not made active: {active} stayed the active model."
        append_event(self.folder(job_id) / EVENTS_FILE, "kept", run_id=run.run_id,
                     activated=active == run.run_id, note=note, test_accuracy=run.record.test_accuracy)
        return f"Kept the partial model as {run.run_id}. {note}"

    def discard(self, job_id: str) -> None:
        """Forget a stopped job's partial model (one still being measured is dropped once it is)."""
        with self._decision_lock(job_id):
            view = self.view(job_id)
            if view.phase != STOPPED or view.keep_requested is not None:
                raise StoreError(f"job {job_id} has no partial model to discard ({view.phase})")
            shutil.rmtree(self.folder(job_id) / PARTIAL_DIR, ignore_errors=True)
            append_event(self.folder(job_id) / EVENTS_FILE, "discarded")

    @contextlib.contextmanager
    def _decision_lock(self, job_id: str) -> Iterator[None]:
        """One keep, discard or "measured" at a time per job, across processes: two tabs cannot
        both keep, and a keep cannot slip between the job's "measured" and its look for one."""
        folder = self.folder(job_id)
        if not folder.is_dir():
            raise StoreError(f"no training named {job_id} in {self.store.root}")
        with open(folder / DECISION_LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def dismiss(self, job_id: str) -> None:
        """Take an ended job's news off every page, for every viewer.

        A job that saved a run is marked dismissed in its log (swept later, like any ended job);
        one with nothing left to see (failed, interrupted, discarded) goes at once.
        """
        view = self.view(job_id)
        if view.running or view.phase == STOPPED:
            raise StoreError(f"job {job_id} is still {view.phase}; stop it, then keep or discard it first")
        if view.phase in (FINISHED, KEPT):
            append_event(self.folder(job_id) / EVENTS_FILE, "dismissed")
        else:
            shutil.rmtree(self.folder(job_id), ignore_errors=True)


def decide_activation(store: ModelStore, spec: JobSpec, run_id: str) -> tuple[bool, str]:
    """Make the run active only if the user asked for it and has not chosen a run since it began.

    Another training finishing meanwhile is not a choice: the later run still becomes active.
    The note is one sentence about the run, in the past tense ("It was ..."): it is read later,
    when other runs may have been made active since.
    """
    if not spec.activate:
        return False, "The active model was left as it was, as asked."
    chosen, chosen_at = store.chosen_id(), store.user_choice_time()
    if chosen is not None and chosen_at is not None and chosen_at > spec.created_at:
        return False, (f"It was not made active: {chosen} was chosen as the active model while it "
                       "trained, and that choice was kept.")
    store.set_active(run_id, by="training")
    return True, "It was made active."



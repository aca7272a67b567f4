"""The Train page's training jobs: live ones with Stop, stopped ones to keep or discard, news of ended ones.

Everything shown comes from the jobs' event logs in the store (dismissing news included), so every
session (a reload, a second tab, a training started from the command line) shows the same jobs.
"""

from __future__ import annotations

import contextlib
import time

import streamlit as st

from dashboard.common import get_jobs
from dashboard.run_details import FOCUS_KEY, curves_ui, run_label
from training.core.errors import first_line
from training.core.progress import format_duration
from training.jobs.job import (
    DISCARDED,
    EVALUATING,
    FAILED,
    FINISHED,
    INTERRUPTED,
    KEPT,
    SAVING,
    STARTING,
    STOPPED,
    TRAINING,
    JobView,
)
from training.runs.store import Run, StoreError

# The live progress is read once a second: each redraw costs the browser CPU that the training,
# on the same machine, needs more. The job logs its progress twice as often (jobs/runner.py
# LOG_PROGRESS_INTERVAL_S), so each read shows a batch less than one update old.
POLL_SECONDS = 1.0
# The live curves change once an epoch.
CURVES_SECONDS = 1.0
# Every job's state (started, stopping, stopped, kept, discarded, dismissed) and the active run are
# looked at this often, so that what one tab or the CLI does shows in every tab within a second.
WATCH_SECONDS = 0.5
# Ended jobs are announced on the Train page for this long.
ANNOUNCE_S = 30 * 60


def job_title(view: JobView) -> str:
    config = view.spec.config
    name = f"“{view.spec.name}” · " if view.spec.name else ""
    images = f" · {config.train_limit:,} images" if config.train_limit else ""
    source = " · from the command line" if view.spec.source == "cli" else ""
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    return (f"{name}**{config.architecture.upper()}** · {epochs} · batch size {config.batch_size}"
            f" · learning rate {config.learning_rate:g}"
            f"{' · augmented' if config.augment else ''}{images}{source}")


def progress_line(view: JobView) -> tuple[float, str]:
    """The bar's fill (0..1) and its text: the batch and ETA while training, else the step."""
    progress = view.progress
    if view.phase == TRAINING and progress is not None:
        eta = format_duration(progress.eta_s)
        return progress.fraction, (f"Epoch {progress.epoch}/{progress.epochs} · batch "
                                   f"{progress.batch}/{progress.batches} · ETA {eta}")
    if view.phase in (EVALUATING, SAVING):
        return 1.0, f"Training done · {view.status}"
    return 0.0, view.status


def running_jobs_ui(views: list[JobView]) -> None:
    """One panel per running job: its Stop button, then its live progress and curves."""
    for view in views:
        with st.container(border=True):
            title, stop = st.columns([5, 1], vertical_alignment="center")
            title.markdown(f"{job_title(view)}  \n`{view.job_id}`")
            # Outside the fragment: a button redrawn every second can swallow a click. The
            # callback runs before the rerun, so one click always stops, from any session.
            stop.button("Stop", key=f"train_stop_{view.job_id}", icon=":material/stop:",
                        on_click=get_jobs().request_stop, args=(view.job_id,),
                        disabled=view.stop_requested, width="stretch")
            job_progress_ui(view.job_id)
            job_curves_ui(view.job_id)


@st.fragment(run_every=POLL_SECONDS)
def job_progress_ui(job_id: str) -> None:
    """The job's progress bar from its log; reruns the page when the job ends."""
    try:
        view = get_jobs().view(job_id)
    except StoreError:
        st.rerun()
        return
    if not view.running:
        st.rerun()
    fraction, text = progress_line(view)
    if view.stop_requested:
        fraction, text = stopping_line(view, fraction, text)
    st.progress(min(max(fraction, 0.0), 1.0), text=text)
    st.caption(f"{format_duration(view.elapsed_s)} elapsed")


def stopping_line(view: JobView, fraction: float, text: str) -> tuple[float, str]:
    """A job asked to stop: no batch is named until the job says where it stopped (then the page
    offers Keep and Discard); asked once training was over, it stops as it is."""
    if view.phase in (STARTING, TRAINING):
        return fraction, "Stopping after the current batch…"
    return fraction, text


@st.fragment(run_every=CURVES_SECONDS)
def job_curves_ui(job_id: str) -> None:
    """The job's curves so far, redrawn from its log."""
    try:
        view = get_jobs().view(job_id)
    except StoreError:
        return
    if view.history:
        curves_ui(view.history, view.spec.config.epochs)
    else:
        st.caption("The curves appear after the first epoch.")


def jobs_state(views: list[JobView], active_id: str | None) -> tuple:
    """What the page shows of the jobs and the active run; the page is redrawn when it changes."""
    return active_id, tuple((view.job_id, view.phase, view.stop_requested, view.dismissed, view.measured,
                             view.keep_requested) for view in views)


@st.fragment(run_every=WATCH_SECONDS)
def watch_for_jobs_ui(shown: tuple) -> None:
    """Reruns the page when a job's state or the active run changed (here, in another tab, or the CLI)."""
    jobs = get_jobs()
    if jobs_state(jobs.views(), jobs.store.active_id()) != shown:
        st.rerun()


def stopped_job_ui(view: JobView, active: Run | None) -> None:
    """A stopped job waits for someone to keep or discard its partial model; the active model stays
    unless the person asks for the partial one."""
    accuracy = view.outcome.get("test_accuracy")
    accuracy_text = (f" Its test accuracy is {accuracy:.2%}." if view.measured and accuracy is not None
                     else " Measuring its test accuracy…" if not view.measured else "")
    with st.container(border=True):
        st.markdown(job_title(view))
        if view.keep_requested is not None:
            st.info(f"{view.stop_description()} Keeping it as soon as its test accuracy is measured "
                    "(a few seconds)…", icon=":material/hourglass_top:")
            return
        st.warning(f"{view.stop_description()}{accuracy_text} Keep it?", icon=":material/pause:")
        if active is not None:
            st.caption(f"Keeping it leaves the active model as it is: {active_line(active)}. "
                       "**Keep and make active** uses the partial model instead.")
        keep, activate, discard, _ = st.columns([2, 2, 2, 1])
        for column, label, make_active, key, kind in (
                (keep, "Keep the partial model", False, "keep", "primary"),
                (activate, "Keep and make active", True, "keep_active", "secondary")):
            if column.button(label, key=f"train_{key}_{view.job_id}", type=kind, width="stretch"):
                try:
                    get_jobs().keep(view.job_id, activate=make_active)
                except (StoreError, OSError) as error:  # kept or discarded from another tab meanwhile
                    st.error(f"Could not keep the model: {first_line(error)}")
                    return
                st.session_state[FOCUS_KEY] = view.job_id
                st.rerun()
        if discard.button("Discard it", key=f"train_discard_{view.job_id}", width="stretch"):
            try:
                get_jobs().discard(view.job_id)
            except (StoreError, OSError) as error:  # kept or discarded from another tab meanwhile
                st.error(f"Could not discard the model: {first_line(error)}")
                return
            st.rerun()
        if view.history:
            curves_ui(view.history, view.spec.config.epochs)


def active_line(run: Run) -> str:
    """The active run as the news and the stopped panel name it: its label, then its id."""
    return f"{run_label(run)} · `{run.run_id}`"


def news_line(view: JobView) -> str | None:
    """What happened to an ended job, in the past tense; None when there is nothing to say."""
    outcome = view.outcome
    run_id = outcome.get("run_id", view.job_id)
    # Older logs say "It is now the active model": true then, perhaps not now.
    activation = "It was made active." if outcome.get("activated") else (outcome.get("note")
                                                                       or "It was not made active.")
    accuracy = f"test accuracy {outcome.get('test_accuracy', 0):.2%}"
    if view.phase == FINISHED:
        return f"Run {run_id} finished: {accuracy}. {activation}"
    if view.phase == KEPT:
        where = view.stop_description().split(". ")[0].removeprefix("Stopped ")
        return f"Kept the partial model as {run_id} (stopped {where}): {accuracy}. {activation}"
    if view.phase == DISCARDED:
        return f"Discarded the partial model of {view.job_id}."
    if view.phase in (FAILED, INTERRUPTED):
        return f"Training {'failed' if view.phase == FAILED else 'interrupted'} ({view.job_id}): {view.error}"
    return None


def dismiss(job_id: str) -> None:
    """Dismiss a job's news for every tab (a button's callback)."""
    # Dismissed, or its job swept, from another tab meanwhile: gone either way.
    with contextlib.suppress(StoreError):
        get_jobs().dismiss(job_id)


def ended_jobs_ui(views: list[JobView], active: Run | None) -> None:
    """One line per ended job saying what happened then, and once which model is active now."""
    store = get_jobs().store
    shown = 0
    for view in views:
        run_id = view.outcome.get("run_id", view.job_id)
        if view.phase in (FINISHED, KEPT) and not store.has_run(run_id):
            continue  # deleted since: news of its saving would mislead
        line = news_line(view)
        if line is None:
            continue
        news, close = st.columns([12, 1], vertical_alignment="center")
        if view.phase in (FAILED, INTERRUPTED):
            news.error(line)
        elif view.phase == DISCARDED:
            news.info(line)
        else:
            news.success(line, icon=":material/inventory_2:" if view.phase == KEPT
                         else ":material/check_circle:")
        close.button("", key=f"train_dismiss_{view.job_id}", icon=":material/close:", help="Dismiss",
                     on_click=dismiss, args=(view.job_id,))
        shown += view.phase in (FINISHED, KEPT)
    if shown and active is not None:
        st.caption(f"Active now: {active_line(active)}")


def jobs_ui(views: list[JobView]) -> list[JobView]:
    """Every job worth showing, newest first; returns the running ones."""
    store = get_jobs().store
    active = store.active()
    running = [view for view in views if view.running]
    for view in views:
        if view.phase == STOPPED:
            stopped_job_ui(view, active)
    ended_jobs_ui([view for view in views if not view.running and view.phase != STOPPED
                   and not view.dismissed
                   and (view.phase in (FAILED, INTERRUPTED)
                        or time.time() - (view.ended_at or 0) < ANNOUNCE_S)], active)
    if running:
        running_jobs_ui(running)
    watch_for_jobs_ui(jobs_state(views, active.run_id if active else None))
    return running

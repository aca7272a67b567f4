"""The Train page's training jobs: live ones with Stop, stopped ones to keep or discard, news of ended ones.

Everything shown comes from the jobs' event logs in the store, so every session (a reload, a
second tab, a training started from the command line) shows the same jobs.
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard.common import get_jobs
from dashboard.run_details import FOCUS_KEY, curves_ui
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
    STOPPED,
    TRAINING,
    JobView,
)
from training.runs.store import StoreError

POLL_SECONDS = 1.0
# Running jobs are looked for this often on an idle page (one started in another tab or the CLI).
WATCH_SECONDS = 2.0
# Ended jobs are announced on the Train page for this long.
ANNOUNCE_S = 30 * 60
DISMISSED_KEY = "train_dismissed_jobs"


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
            job_live_ui(view.job_id, {v.job_id for v in views})


@st.fragment(run_every=POLL_SECONDS)
def job_live_ui(job_id: str, running_ids: set[str]) -> None:
    """Redrawn every second from the job's log; reruns the page when the job ends."""
    try:
        view = get_jobs().view(job_id)
    except StoreError:
        st.rerun()
        return
    if not view.running:
        st.rerun()
    fraction, text = progress_line(view)
    if view.stop_requested and view.phase == TRAINING:
        text = f"Stopping after the current batch… ({text})"
    st.progress(min(max(fraction, 0.0), 1.0), text=text)
    st.caption(f"{format_duration(view.elapsed_s)} elapsed")
    if view.history:
        curves_ui(view.history, view.spec.config.epochs)
    else:
        st.caption("The curves appear after the first epoch.")


@st.fragment(run_every=WATCH_SECONDS)
def watch_for_jobs_ui(shown: frozenset[str]) -> None:
    """Reruns the page when the set of running jobs changes (started elsewhere, or ended)."""
    if frozenset(view.job_id for view in get_jobs().running()) != shown:
        st.rerun()


def stopped_job_ui(view: JobView) -> None:
    """A stopped job waits for someone to keep or discard its partial model."""
    accuracy = view.outcome.get("test_accuracy")
    accuracy_text = f" Its test accuracy is {accuracy:.2%}." if accuracy is not None else ""
    with st.container(border=True):
        st.markdown(job_title(view))
        st.warning(f"{view.stop_description()}{accuracy_text} Keep it?", icon=":material/pause:")
        keep, discard, _ = st.columns([2, 2, 3])
        if keep.button("Keep the partial model", key=f"train_keep_{view.job_id}", type="primary",
                       width="stretch"):
            try:
                get_jobs().keep(view.job_id)
            except (StoreError, OSError) as error:
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


def ended_job_ui(view: JobView) -> None:
    """One line of news about a job that ended: finished, kept, discarded, failed or interrupted."""
    dismissed = st.session_state.setdefault(DISMISSED_KEY, set())
    if view.job_id in dismissed:
        return
    outcome = view.outcome
    run_id = outcome.get("run_id", view.job_id)
    if view.phase in (FINISHED, KEPT) and not get_jobs().store.has_run(run_id):
        return  # deleted since: news of its saving would mislead
    news, dismiss = st.columns([12, 1], vertical_alignment="center")
    active = outcome.get("note") or ("It is now the active model." if outcome.get("activated")
                                     else "It was not made active.")
    accuracy = f"test accuracy {outcome.get('test_accuracy', 0):.2%}"
    if view.phase == FINISHED:
        news.success(f"Run {run_id} finished: {accuracy}. {active}", icon=":material/check_circle:")
    elif view.phase == KEPT:
        where = view.stop_description().split(". ")[0].removeprefix("Stopped ")
        news.success(f"Kept the partial model as {run_id} (stopped {where}): {accuracy}. {active}",
                     icon=":material/inventory_2:")
    elif view.phase == DISCARDED:
        news.info(f"Discarded the partial model of {view.job_id}.")
    elif view.phase in (FAILED, INTERRUPTED):
        word = "failed" if view.phase == FAILED else "interrupted"
        news.error(f"Training {word} ({view.job_id}): {view.error}")
    if dismiss.button("", key=f"train_dismiss_{view.job_id}", icon=":material/close:", help="Dismiss"):
        if view.phase in (FAILED, INTERRUPTED, DISCARDED):
            get_jobs().dismiss(view.job_id)  # nothing left to see: the job folder goes
        dismissed.add(view.job_id)
        st.rerun()


def jobs_ui(views: list[JobView]) -> list[JobView]:
    """Every job worth showing, newest first; returns the running ones."""
    running = [view for view in views if view.running]
    for view in views:
        if view.phase == STOPPED:
            stopped_job_ui(view)
        elif not view.running and (view.phase in (FAILED, INTERRUPTED)
                                   or time.time() - (view.ended_at or 0) < ANNOUNCE_S):
            ended_job_ui(view)
    if running:
        running_jobs_ui(running)
    watch_for_jobs_ui(frozenset(view.job_id for view in running))
    return running

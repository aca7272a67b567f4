"""Train page: live progress and curves, the outcome of a run, and the saved runs."""

import streamlit as st

from dashboard import charts
from dashboard.common import get_store, start_training, training_session
from dashboard.run_details import (
    FOCUS_KEY,
    active_model_ui,
    run_picker_ui,
    run_results_ui,
    runs_table_ui,
)
from dashboard.training_session import DISCARDED, FAILED, FINISHED, STOPPED
from training.config import DEFAULT_ARCHITECTURE, TrainConfig
from training.store import StoreError

POLL_SECONDS = 1.0


def first_run_ui() -> None:
    """An empty store: say so, and offer to train the default model in one click."""
    st.info("No trained model yet. Train the default model (a small CNN) to start drawing digits; "
            "the settings in the sidebar let you choose another one.", icon=":material/info:")
    if st.button("Train the default model", key="train_first_run", type="primary"):
        start_training(TrainConfig.for_architecture(DEFAULT_ARCHITECTURE))
        st.rerun()


def progress_text(snapshot) -> str:
    progress = snapshot.progress
    if snapshot.phase != "training" or progress is None:
        return snapshot.status
    return (f"Epoch {progress.epoch}/{progress.epochs} · batch {progress.batch}/{progress.batches} · "
            f"ETA {charts.format_duration(progress.eta_s)}")


@st.fragment(run_every=POLL_SECONDS)
def training_live_ui() -> None:
    """Redrawn every second while the background thread trains; reruns the page when it ends."""
    session = training_session()
    snapshot = session.snapshot()
    if not snapshot.active:
        if snapshot.phase == FINISHED and snapshot.run is not None:
            st.session_state[FOCUS_KEY] = snapshot.run.run_id
        st.rerun()
    config = snapshot.config
    st.markdown(f"**Training {config.architecture.upper()}** · {config.epochs} epochs · batch size "
                 f"{config.batch_size} · learning rate {config.learning_rate:g}"
                 f"{' · augmented' if config.augment else ''}")
    fraction = snapshot.progress.fraction if snapshot.progress and snapshot.phase == "training" else 0.0
    if snapshot.phase not in ("starting", "training"):
        fraction = 1.0
    st.progress(min(max(fraction, 0.0), 1.0), text=progress_text(snapshot))
    st.caption(f"{charts.format_duration(snapshot.elapsed_s)} elapsed")
    if snapshot.history:
        left, right = st.columns(2)
        left.altair_chart(charts.curve_chart(snapshot.history, "accuracy", config.epochs))
        right.altair_chart(charts.curve_chart(snapshot.history, "loss", config.epochs))
    else:
        st.caption("The curves appear after the first epoch.")


def outcome_ui(session) -> None:
    """What became of this session's last run: saved, stopped (keep or discard?), or failed."""
    snapshot = session.snapshot()
    if snapshot.phase == FAILED:
        st.error(f"Training failed: {snapshot.error}")
    elif snapshot.phase == FINISHED and snapshot.run is not None:
        st.success(f"Finished: test accuracy {snapshot.run.test_accuracy:.2%}. Saved as "
                   f"{snapshot.run.run_id} and made active.", icon=":material/check_circle:")
    elif snapshot.phase == DISCARDED:
        st.info(snapshot.status)
    elif snapshot.phase == STOPPED:
        accuracy = f"{snapshot.test_accuracy:.2%}" if snapshot.test_accuracy is not None else "unknown"
        st.warning(f"{snapshot.status} The partial model's test accuracy is {accuracy}. Keep it?")
        keep, discard, _ = st.columns([1, 1, 4])
        if keep.button("Keep the partial model", key="train_keep", type="primary"):
            try:
                st.session_state[FOCUS_KEY] = session.keep().run_id
            except (StoreError, ValueError, OSError) as error:
                st.error(f"Could not save the model: {charts.first_line(error)}")
                return
            st.rerun()
        if discard.button("Discard it", key="train_discard"):
            session.discard()
            st.rerun()
        curves = snapshot.history
        if curves:
            left, right = st.columns(2)
            left.altair_chart(charts.curve_chart(curves, "accuracy", snapshot.config.epochs))
            right.altair_chart(charts.curve_chart(curves, "loss", snapshot.config.epochs))


st.title("Train")
store = get_store()
runs, problems = store.scan()
session = training_session()
training = session is not None and session.snapshot().active

if training:
    # Outside the fragment: a button redrawn every second can swallow the click that lands
    # during a redraw. The callback runs before the rerun, so one click always stops.
    st.button("Stop", key="train_stop", icon=":material/stop:", on_click=session.stop,
              disabled=session.cancel_token.cancelled)
    training_live_ui()
elif session is not None:
    outcome_ui(session)
if not runs and not training and (session is None or session.snapshot().phase != STOPPED):
    first_run_ui()

if runs or problems:
    runs_table_ui(store, runs, problems)
if runs:
    active_model_ui(store, runs)
    st.divider()
    run_results_ui(run_picker_ui(runs, store.active_id()))

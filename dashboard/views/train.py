"""Train page: the training jobs (live, stopped, ended), then the saved runs and their results."""

import streamlit as st

from dashboard.common import get_jobs, get_store, start_training
from dashboard.job_panels import jobs_ui
from dashboard.run_admin import run_admin_ui
from dashboard.run_details import active_model_ui, run_picker_ui, run_results_ui, runs_table_ui
from dashboard.run_insights import compare_runs_ui
from training.core.config import DEFAULT_ARCHITECTURE, TrainConfig


def first_run_ui() -> None:
    """An empty store: say so, and offer to train the default model in one click."""
    st.info("No trained model yet. Train the default model (a small CNN) to start drawing digits; "
            "the settings in the sidebar let you choose another one.", icon=":material/info:")
    if st.button("Train the default model", key="train_first_run", type="primary"):
        start_training(TrainConfig.for_architecture(DEFAULT_ARCHITECTURE))
        st.rerun()


st.title("Train")
st.caption("MNIST Studio trains a handwritten-digit classifier on MNIST, lets you draw digits for it "
           "(**Draw**) and exports it as an offline web page (**Export**). Start here: press **Train** "
           "in the sidebar; a quick run on 2,000 images shows its curves within seconds.")
store = get_store()
runs, problems = store.scan()
views = get_jobs().views()
jobs_ui(views)
if not runs and not views:
    first_run_ui()

if runs or problems:
    runs_table_ui(store, runs, problems)
if runs:
    active_model_ui(store, runs)
    run_admin_ui(store, runs)
    st.divider()
    run_results_ui(run_picker_ui(runs, store.active_id()))
    if len(runs) >= 2:
        with st.expander("Compare runs", icon=":material/compare_arrows:"):
            compare_runs_ui(runs)

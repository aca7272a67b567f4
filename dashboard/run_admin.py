"""Rename or delete a saved run, with a confirmation, never the active one."""

from __future__ import annotations

import streamlit as st

from dashboard.run_details import run_label
from training.core.errors import first_line
from training.runs.store import ModelStore, Run, StoreError

CONFIRM_KEY = "train_confirm_delete"
ADMIN_MENU_KEY = "train_admin_run"


def run_admin_ui(store: ModelStore, runs: list[Run]) -> None:
    """An expander to name a run or delete it (the active run only after choosing another)."""
    by_id = {run.run_id: run for run in runs}
    with st.expander("Rename or delete a run"):
        # Set on every run, so that the browser never keeps a renamed run's old label (see
        # run_details.run_picker_ui); the first run when the chosen one is gone.
        chosen = st.session_state.get(ADMIN_MENU_KEY)
        st.session_state[ADMIN_MENU_KEY] = chosen if chosen in by_id else runs[0].run_id
        run_id = st.selectbox("Run", list(by_id), key=ADMIN_MENU_KEY,
                              format_func=lambda run_id: run_label(by_id[run_id]))
        run = by_id[run_id]
        name, save = st.columns([4, 1], vertical_alignment="bottom")
        new_name = name.text_input("Name", value=run.record.name, max_chars=80,
                                   key=f"train_admin_name_{run_id}")
        if save.button("Save name", key="train_admin_rename", width="stretch"):
            try:
                store.rename(run_id, new_name)
            except (StoreError, OSError) as error:
                st.error(f"Could not rename {run_id}: {first_line(error)}")
            else:
                st.rerun()
        is_active = run_id == store.chosen_id()
        if is_active:
            st.caption("This is the active model: make another run active before deleting it.")
        if st.session_state.get(CONFIRM_KEY) != run_id:
            st.button("Delete this run…", key="train_admin_delete", disabled=is_active,
                      on_click=lambda: st.session_state.update({CONFIRM_KEY: run_id}))
            return
        st.warning(f"Delete {run_label(run)}? Its model and results are removed for good.")
        confirm, cancel, _ = st.columns([1, 1, 3])
        if confirm.button("Delete", key="train_admin_confirm", type="primary", width="stretch"):
            st.session_state.pop(CONFIRM_KEY, None)
            try:
                store.delete(run_id)
            except (StoreError, OSError) as error:
                st.error(f"Could not delete {run_id}: {first_line(error)}")
                return
            st.rerun()
        if cancel.button("Cancel", key="train_admin_cancel", width="stretch"):
            st.session_state.pop(CONFIRM_KEY, None)
            st.rerun()

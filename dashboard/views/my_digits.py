"""My digits page: the digits you saved, grouped by digit; delete, export and import them."""

import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import display
from dashboard.labelling import DIGIT_NAMES, user_digit_store
from training.core.errors import first_line
from training.jobs.finetune import measure_advice_for, numbers_table, start_finetune_job
from training.jobs.store import JobStore
from training.runs.store import ModelStore, StoreError
from training.runs.user_digits import UserDigitsError
from training.runs.user_digits_io import ImportRefused, export_bytes, import_into

# A digit's gallery shows its newest this many; the rest are counted (and exported, and trained on).
GALLERY_LIMIT = 40
TILES_PER_ROW = 10


def counts_ui(counts: dict[int, int], held_out: dict[int, int]) -> None:
    """Ten small counters, one per digit, with how many of them are held out."""
    total = sum(counts.values())
    noun = "digit" if total == 1 else "digits"
    st.markdown(f"**{total}** {noun} saved, **{sum(held_out.values())}** of them held out: never "
                "trained on, only used to measure how well a model reads your hand "
                "(the 2nd, 7th, 12th … of each digit).")
    table = pd.DataFrame([[counts[d] for d in range(10)], [held_out[d] for d in range(10)]],
                         index=["saved", "held out"], columns=[str(d) for d in range(10)])
    st.table(table)


def transfer_ui(store, total: int) -> None:
    """Download every digit as .npz or as a zip of PNGs; import either back."""
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Export")
        if total == 0:
            st.caption("Nothing to export yet.")
        else:
            # Built when clicked (a zip of thousands of PNGs is slow to build), not on every rerun.
            noun = "digit" if total == 1 else "digits"
            st.download_button(f"Download {total} {noun} as .npz", partial(export_bytes, store, "npz"),
                               help="NumPy arrays: x, the 28×28 images (uint8), and y, their labels",
                               file_name="my-digits.npz", mime="application/octet-stream", on_click="ignore",
                               key="my_digits_download_npz", icon=":material/download:")
            st.download_button("Download as a zip of PNG images", partial(export_bytes, store, "zip"),
                               help="One 28×28 PNG per digit, named <number>_<digit>.png",
                               file_name="my-digits.zip", mime="application/zip", on_click="ignore",
                               key="my_digits_download_zip", icon=":material/folder_zip:")
    with right:
        st.subheader("Import")
        upload = st.file_uploader("Digits exported from here (.npz or zip of PNGs)", type=["npz", "zip"],
                                  key="my_digits_upload",
                                  help="An .npz with x (N, 28, 28) uint8 and y (N,), or a zip of "
                                       "28×28 PNGs named <number>_<digit>.png")
        if upload is not None and st.button("Import", key="my_digits_import", icon=":material/upload:"):
            import_upload(store, upload.name, upload.getvalue())


def import_upload(store, name: str, data: bytes) -> None:
    """Import an uploaded file (all of it or nothing), saying what happened in one line per problem."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        try:
            result = import_into(store, path)
        except ImportRefused as refused:
            for problem in refused.problems[:20]:
                st.error(problem.replace(f"{folder}/", ""))
            st.error(f"Nothing was imported from {name}.")
            return
    skipped = f"; {result.duplicates} already saved, skipped" if result.duplicates else ""
    st.session_state.my_digits_message = (f"Imported {result.added} of {result.read} digits from "
                                          f"{name}{skipped}.")
    st.rerun()


def gallery_ui(store, counts: dict[int, int]) -> None:
    """Each digit's saved images, newest first, each with a delete button."""
    for digit in range(10):
        if counts[digit] == 0:
            continue
        st.subheader(f"{digit} ({DIGIT_NAMES[digit]}): {counts[digit]}")
        saved = store.digits(digit)[::-1][:GALLERY_LIMIT]
        for start in range(0, len(saved), TILES_PER_ROW):
            row = saved[start:start + TILES_PER_ROW]
            for column, item in zip(st.columns(TILES_PER_ROW), row, strict=False):
                with column.container(key=f"my_digits_tile_{item.digit_id}"):
                    pixels = display.upscale(item.image28.astype(np.float32) / 255, 3)
                    st.image(pixels, caption="held out" if item.held_out else "train")
                    st.button(":material/delete:", key=f"my_digits_delete_{item.digit_id}",
                              help="Delete this digit", on_click=delete_one, args=(store, item.digit_id))
        if counts[digit] > GALLERY_LIMIT:
            st.caption(f"… and {counts[digit] - GALLERY_LIMIT} older ones (all are exported and used).")


def finetune_ui(store, total: int) -> None:
    """Start a fine-tune of the active model on these digits, follow it, show before → after."""

    models = ModelStore()
    st.subheader("Fine-tune on my digits")
    st.caption("Starts from the active model and trains on your digits mixed with MNIST images, so that "
               "MNIST is not forgotten. The held-out digits are never trained on: they measure it.")
    if total:
        st.markdown(measure_advice_for(store))
    if st.button("Fine-tune on my digits", key="my_digits_finetune", icon=":material/model_training:",
                 disabled=total == 0):

        try:
            spec = start_finetune_job(models, store)
        except (StoreError, ValueError, OSError) as error:
            st.error(f"Cannot fine-tune: {first_line(error)}")
        else:
            st.session_state.my_digits_job = spec.job_id
    job_id = st.session_state.get("my_digits_job")
    if job_id:
        finetune_progress(models, job_id)


@st.fragment(run_every=1.0)
def finetune_progress(models, job_id: str) -> None:
    """The fine-tune's progress from its event log; its before → after numbers once it is done."""

    try:
        view = JobStore(models).view(job_id)
    except StoreError as error:
        st.error(first_line(error))
        return
    if view.running:
        progress = view.progress
        fraction = progress.fraction if progress else 0.0
        st.progress(fraction, text=f"{view.status} Epoch {progress.epoch}/{progress.epochs}" if progress
                    else view.status)
        return
    # Said at the top of the page after a full rerun (the counts and the active model changed).
    if view.phase == "finished":
        numbers = view.outcome.get("finetune", {})
        lines = numbers_table(numbers["before"], numbers["after"]) if numbers else []
        st.session_state.my_digits_message = "  \n".join(
            ["Fine-tuned. " + view.outcome.get("note", ""), "Accuracy before → after:", *lines])
    else:
        st.session_state.my_digits_problem = f"The fine-tune did not finish: {view.error or view.status}"
    st.session_state.pop("my_digits_job", None)
    st.rerun(scope="app")


def delete_one(store, digit_id: int) -> None:
    """Delete one digit (a button's callback: a problem becomes the page's message)."""
    try:
        store.delete(digit_id)
    except UserDigitsError as error:
        st.session_state.my_digits_problem = f"Not deleted: {first_line(error)}"


def delete_all_ui(store, total: int) -> None:
    """Delete every digit, after a second click that says what will be lost."""
    if not st.session_state.get("my_digits_confirm"):
        st.button("Delete all…", key="my_digits_delete_all", icon=":material/delete_forever:",
                  on_click=lambda: st.session_state.update(my_digits_confirm=True))
        return
    st.warning(f"Delete all {total} saved digits? This cannot be undone (export them first to keep a copy).")
    yes, no, _rest = st.columns([2, 1, 4])
    if yes.button(f"Yes, delete all {total}", key="my_digits_delete_all_yes", type="primary"):
        deleted = store.clear()
        st.session_state.my_digits_confirm = False
        st.session_state.my_digits_message = f"Deleted {deleted} digits."
        st.rerun()
    no.button("Cancel", key="my_digits_delete_all_no",
              on_click=lambda: st.session_state.update(my_digits_confirm=False))


st.title("My digits")
store = user_digit_store()
message = st.session_state.pop("my_digits_message", None)
if message:
    st.success(message)
problem = st.session_state.pop("my_digits_problem", None)
if problem:
    st.error(problem)
try:
    counts, held_out = store.counts(), store.held_out_counts()
except UserDigitsError as error:
    st.error(f"Your saved digits cannot be read: {first_line(error)}")
    st.stop()
total = sum(counts.values())
try:
    if total == 0:
        st.info("No digits saved yet. On the Draw page, click Right (or the right digit) under an answer "
                "to save what you drew; or import an .npz or a zip below.", icon=":material/draw:")
    else:
        counts_ui(counts, held_out)
    transfer_ui(store, total)
    finetune_ui(store, total)
    if total:
        st.divider()
        delete_all_ui(store, total)
        gallery_ui(store, counts)
except UserDigitsError as error:
    st.error(f"Your saved digits cannot be used: {first_line(error)}")

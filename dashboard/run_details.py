"""UI sections about saved runs: the runs table, the active-model picker and one run's results."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import charts, display
from dashboard.common import cached_mnist
from dashboard.run_insights import run_insights_ui, training_images
from training.data.mnist import MnistUnavailableError
from training.runs.store import ModelStore, Run, StoreError

GALLERY_SIZE = 24
# Set by the Train page when a run has just been saved, so the details follow it.
FOCUS_KEY = "train_focus_run"
# Streamlit forgets a widget's value on a page that does not draw it, so the chosen run is
# also kept under a key of its own and given back to the picker on the way back.
VIEW_CHOICE_KEY = "train_view_choice"
# The loss charts' log-scale toggle; the live Train page reads it too.
LOG_LOSS_KEY = "train_log_loss"
# The Active model menu's key, followed by the active run's id.
ACTIVE_MENU_KEY = "train_active_run"


def runs_frame(runs: list[Run], active_id: str | None) -> pd.DataFrame:
    """One row per run, as the table shows it."""
    rows = []
    for run in runs:
        info = run.record
        rows.append({
            "active": "●" if run.run_id == active_id else "",
            "id": run.run_id,
            "name": info.name,
            "architecture": run.record.config.architecture,
            "images": training_images(run),
            "epochs": len(run.record.history),
            "test accuracy": run.record.test_accuracy * 100,  # shown as "99.62%": see the column's format
            "duration": display.format_duration(info.duration_s),
            "augmented": info.config.augment,
            "stopped early": info.cancelled,
        })
    return pd.DataFrame(rows)


def runs_table_ui(store: ModelStore, runs: list[Run], problems: list[str]) -> None:
    """The saved runs, newest first, with one warning line per damaged run."""
    st.subheader("Saved runs")
    for problem in problems:
        st.warning(problem, icon=":material/warning:")
    if not runs:
        return
    st.dataframe(
        runs_frame(runs, store.active_id()),
        key="train_runs_table",
        hide_index=True,
        column_config={
            # Pinned, so that a narrow screen scrolls the other columns past the run they describe.
            "active": st.column_config.TextColumn("active", width="small", pinned=True,
                                                  help="● marks the model that Draw and Export use"),
            "id": st.column_config.TextColumn("id", pinned=True),
            # Two decimals in every cell: the "percent" preset put "99.6%" above "99.62%".
            "test accuracy": st.column_config.NumberColumn(format="%.2f%%"),
            "images": st.column_config.NumberColumn(format="localized", help="MNIST images trained on"),
        },
    )


def active_model_ui(store: ModelStore, runs: list[Run]) -> None:
    """Let the user choose which run the Draw and Export pages use.

    The menu's key names the active run, so that when a training (or another tab) changes it the
    page shows a new menu instead of writing into the old one: a browser that had not yet seen the
    change would send the old menu's value back as if the user had chosen it, and undo the training.
    Its value is set on every run for the same reason (see `run_picker_ui`).
    """
    ids = [run.run_id for run in runs]
    by_id = {run.run_id: run for run in runs}
    active_id = store.active_id()
    key = f"{ACTIVE_MENU_KEY}_{active_id}"

    def on_change() -> None:
        chosen = st.session_state[key]
        # A menu drawn for another active run is stale, choosing the run that is already active
        # changes nothing, and a label that names no run is a renamed run's old label: none is a
        # person's choice, which would stop running trainings from activating their runs (a
        # browser can send a menu's value back while the job panels rerun).
        if active_id != store.active_id() or chosen == active_id or chosen not in by_id:
            return
        try:
            store.set_active(chosen)
        except StoreError as error:
            st.session_state.train_active_error = str(error)

    st.session_state[key] = active_id if active_id in ids else None
    st.selectbox("Active model (used by Draw and Export)", ids, key=key,
                 format_func=lambda run_id: by_id[run_id].summary(), on_change=on_change)
    if error := st.session_state.pop("train_active_error", None):
        st.error(error)


def run_label(run: Run) -> str:
    """'30 Nov 14:05 · CNN · 98.71% · 8 epochs': when, what and how good, for a picker."""
    try:
        when = datetime.fromisoformat(run.record.created_at).astimezone().strftime("%d %b %H:%M")
    except (TypeError, ValueError):
        when = run.run_id
    epochs = len(run.record.history)
    stopped = " · stopped early" if run.record.cancelled else ""
    name = f" · “{run.record.name}”" if run.record.name else ""
    return (f"{when}{name} · {run.record.config.architecture.upper()} · {run.record.test_accuracy:.2%} · "
            f"{epochs} epoch{'s' if epochs != 1 else ''}{stopped}")


def run_picker_ui(runs: list[Run], default_id: str | None) -> Run:
    """Pick the run whose curves and results to show; follows a just-saved run, kept across pages.

    The choice is set as the menu's value on every run: the browser keeps the label it showed, and
    after a rename (the name is in the label) it would send back a label that names no run.
    """
    ids = [run.run_id for run in runs]
    by_id = {run.run_id: run for run in runs}
    focus = st.session_state.pop(FOCUS_KEY, None)
    for candidate in (focus, st.session_state.get("train_view_run"), st.session_state.get(VIEW_CHOICE_KEY),
                      default_id, ids[0]):
        if candidate in ids:
            st.session_state.train_view_run = candidate
            break
    run_id = st.selectbox("Show the results of", ids, key="train_view_run",
                          format_func=lambda run_id: run_label(by_id[run_id]))
    st.session_state[VIEW_CHOICE_KEY] = run_id
    return by_id[run_id]


def run_results_ui(run: Run) -> None:
    """A saved run's curves, test accuracy, confusion matrix and the digits it got wrong."""
    info = run.record
    stopped = ""
    if info.stopped_at:
        epoch, batch = info.stopped_at
        stopped = f" · stopped in epoch {epoch} at batch {batch}/{info.batches_per_epoch}"
    elif info.cancelled:
        stopped = " · stopped early"
    st.markdown(f"**Test accuracy: {run.record.test_accuracy:.2%}** · {run.record.config.architecture}, "
                f"{len(run.record.history)} epoch{'s' if len(run.record.history) != 1 else ''}, "
                f"batch size {info.config.batch_size}, "
                f"learning rate {info.config.learning_rate:g}, "
                f"{display.format_duration(info.duration_s)}{stopped}")
    finetune_numbers_ui(info.finetune)
    user_digits_line_ui(info.user_digits)
    log_loss_toggle_ui()
    curves_ui(run.record.history, len(run.record.history))
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Confusion matrix** (rows: true digit, columns: predicted)")
        matrix = info.confusion_matrix
        if matrix:
            st.altair_chart(charts.confusion_chart(matrix), key=f"train_confusion_{run.run_id}")
    with right:
        mistakes_ui(info.mistakes, run.run_id)
    run_insights_ui(run)


def user_digits_line_ui(report: dict | None) -> None:
    """A full training that included the user's digits: how many, and how it reads the held-out ones."""
    if not isinstance(report, dict):
        return
    accuracy = report.get("held_out_accuracy")
    measured = (f"on your {report.get('held_out', 0)} held-out digits (never trained on): {accuracy:.2%}"
                if accuracy is not None else "no held-out digits to measure it on yet")
    st.markdown(f"Trained with {report.get('trained', 0)} of your digits (each counted "
                f"{report.get('weight', 1)}×); {measured}.")


def finetune_numbers_ui(finetune: dict | None) -> None:
    """A fine-tuned run: accuracy on the user's held-out digits and on MNIST test, before → after."""
    if not isinstance(finetune, dict) or not finetune.get("before") or not finetune.get("after"):
        return
    before, after = finetune["before"], finetune["after"]

    def pct(value) -> str:
        return "–" if value is None else f"{value:.2%}"

    held = len(finetune.get("held_out_ids") or [])
    unmeasured = "" if held else " (none of your digits was held out then, so not on your hand)"
    st.markdown(f"**Fine-tuned** from `{finetune.get('base_run_id', '?')}` on "
                f"{len(finetune.get('user_digit_ids') or [])} of your digits; measured on digits it never "
                f"trained on{unmeasured}:")
    rows = [("MNIST test (10,000)", "mnist_test_accuracy")]
    if held:
        rows.insert(0, (f"your held-out digits ({held})", "user_held_out_accuracy"))
    st.table(pd.DataFrame({
        "measured on": [name for name, _ in rows],
        "before": [pct(before.get(key)) for _, key in rows],
        "after": [pct(after.get(key)) for _, key in rows],
    }).set_index("measured on"))


def curves_ui(history: list[dict[str, float]], epochs: int | None, *, log_loss: bool | None = None) -> None:
    """Accuracy and loss against the epoch, side by side, in a frame of `epochs` epochs.

    The live Train page may call it with the run's history as it grows; `log_loss` defaults to
    the log-scale toggle's value (log_loss_toggle_ui, drawn once per page).
    """
    if not history:
        st.caption("No finished epoch, so no curves.")
        return
    if log_loss is None:
        log_loss = bool(st.session_state.get(LOG_LOSS_KEY, False))
    left, right = st.columns(2)
    left.altair_chart(charts.curve_chart(history, "accuracy", epochs))
    right.altair_chart(charts.curve_chart(history, "loss", epochs, log_scale=log_loss))


def log_loss_toggle_ui() -> bool:
    """The toggle for a logarithmic loss axis; small losses (0.01 against 0.02) are told apart on it."""
    return st.toggle("Loss on a log scale", key=LOG_LOSS_KEY,
                     help="Late epochs' losses are small; a log scale tells them apart.")


def mistakes_ui(mistakes: list, run_id: str = "") -> None:
    """The test digits the model got wrong, most confident mistakes first, 24 more at a time."""
    total = f"{len(mistakes)}{' or more' if len(mistakes) >= 500 else ''}"
    if not mistakes:
        st.markdown("**Test digits it got wrong:** none.")
        return
    try:
        test_images = cached_mnist().x_test
    except MnistUnavailableError as error:
        st.markdown(f"**Test digits it got wrong:** {total}")
        st.info(f"The test images are unavailable: {error}")
        return
    shown_key = f"train_gallery_shown_{run_id}"
    count = min(st.session_state.get(shown_key, GALLERY_SIZE), len(mistakes))
    st.markdown(f"**Test digits it got wrong:** {count} of {total} shown")
    shown = mistakes[:count]
    images = [display.upscale(test_images[int(index)] / 255.0, 3) for index, *_ in shown]
    captions = [f"{true} → {predicted} ({confidence:.0%})" for _, true, predicted, confidence in shown]
    st.image(images, caption=captions, width=84)
    st.caption("Each caption: true digit → what the model said (its confidence).")
    if count < len(mistakes):
        more = min(GALLERY_SIZE, len(mistakes) - count)

        def show_more() -> None:
            st.session_state[shown_key] = count + more

        st.button(f"Show {more} more", key=f"train_gallery_more_{run_id}", on_click=show_more,
                  icon=":material/expand_more:")

"""Under a Draw page answer: confirm it ("Right") or give the true digit, and save the digit for training."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.canvas_state import clear_canvas
from training.core.errors import first_line
from training.runs.user_digit_records import NewDigit, as_image28, png_bytes
from training.runs.user_digits import UserDigitsError, UserDigitStore

DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def a_digit(digit: int) -> str:
    """The digit with its article, as it is read aloud: "an 8" (eight), "a 1" (one), "a 7"."""
    return f"an {digit}" if digit == 8 else f"a {digit}"


def user_digit_store() -> UserDigitStore:
    """The user-digit database: $MNIST_STUDIO_USER_DIGITS, else next to the model store."""
    return UserDigitStore()


def labelling_ui(prediction, image, key: str, run_id: str | None) -> None:
    """"Right", ten digit buttons and the per-digit counts under an answer; saving clears the canvas.

    Args:
        prediction: the `training.reading.predictor.Prediction` shown above.
        image: what was classified: the canvas's RGBA pixels or the uploaded PIL image.
        key: "canvas" or "upload"; saving a drawing empties the canvas, an upload stays.
        run_id: the model that answered.
    """
    store = user_digit_store()
    try:
        counts = store.counts()
    except UserDigitsError as error:
        st.warning(f"Your digits cannot be saved: {first_line(error)}", icon=":material/database:")
        return
    doubt = prediction.verdict is not None and prediction.verdict.unsure
    with st.container(key=f"draw_labelling_{key}"):
        args = (prediction, image, key, run_id)
        if not doubt:  # confirming a "Not sure" or "not a digit" answer would save a guess as a digit
            st.button(f"Right, it is {a_digit(prediction.digit)}", key=f"draw_right_{key}",
                      icon=":material/check:", on_click=_save_right, args=args,
                      help="Save this drawing, labelled with this answer")
        st.pills(pills_label(prediction), list(range(10)), key=f"draw_label_{key}",
                 on_change=_save_chosen, args=args, help="Save this drawing with the digit you click")
        problem = st.session_state.pop(f"draw_label_problem_{key}", None)
        if problem:
            st.error(problem)
        st.caption(counts_line(counts))


def pills_label(prediction) -> str:
    """The question over the ten digit buttons, fitting the answer above it."""
    verdict = prediction.verdict
    if verdict is not None and verdict.not_a_digit:
        return "If it is a digit, click which one to save it"
    if verdict is not None and verdict.unsure:
        return "Which digit is it? Click it to save the drawing"
    return "Wrong? Click the right digit"


def counts_line(counts: dict[int, int]) -> str:
    """How many digits of each kind are saved, in one line."""
    total = sum(counts.values())
    if total == 0:
        return "Your saved digits: none yet. Each one you label helps the model learn your hand."
    kinds = ", ".join(f"{counts[d]} × {d}" for d in range(10) if counts[d])
    return f"Your saved digits ({total}): {kinds}."


def _save_right(prediction, image, key: str, run_id: str | None) -> None:
    _save(prediction.digit, prediction, image, key, run_id)


def _save_chosen(prediction, image, key: str, run_id: str | None) -> None:
    label = st.session_state.get(f"draw_label_{key}")
    st.session_state[f"draw_label_{key}"] = None  # ready for the next drawing
    if label is not None:
        _save(int(label), prediction, image, key, run_id)


def _save(label: int, prediction, image, key: str, run_id: str | None) -> None:
    """Save one labelled digit; for a drawing, empty the canvas as its Clear button does."""
    digit = NewDigit(image28=as_image28(prediction.image28), label=label, drawing_png=_png(image),
                     prediction=prediction.digit, probabilities=[float(p) for p in prediction.probabilities],
                     run_id=run_id, source="draw" if key == "canvas" else "upload")
    try:
        saved = user_digit_store().add(digit)
    except UserDigitsError as error:
        st.session_state[f"draw_label_problem_{key}"] = f"Not saved: {first_line(error)}"
        return
    note = (f"This {DIGIT_NAMES[label]} was already saved." if saved is None
            else f"Saved as {a_digit(label)} ({DIGIT_NAMES[label]}).")
    if key == "canvas":
        # Said on the emptied canvas's side until the next stroke: a toast can be lost in the
        # rerun the emptied canvas starts, and the user looks where the answer was.
        st.session_state.draw_saved_note = note
        clear_canvas("draw")
    else:
        st.toast(note, icon=":material/info:" if saved is None else ":material/check_circle:")


def saved_note() -> str | None:
    """What the last save from the canvas said: shown in place of the hint until the next drawing."""
    return st.session_state.get("draw_saved_note")


def forget_saved_note() -> None:
    """Something new is drawn: the last save's note is done."""
    st.session_state.pop("draw_saved_note", None)


def _png(image) -> bytes | None:
    try:
        return png_bytes(np.asarray(image, dtype=np.uint8) if isinstance(image, np.ndarray) else image)
    except (ValueError, OSError, TypeError):
        return None  # the drawing is a nicety; the 28×28 image is what is learned from

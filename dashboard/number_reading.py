"""The Draw page's answer for a whole number: the number, its boxes, each digit's view and chart, saving."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, display
from dashboard.canvas_state import clear_canvas
from dashboard.labelling import counts_line, user_digit_store
from dashboard.number_pictures import (
    as_rgb,
    boxed,
    digit_words,
    digits_to_save,
    emphasis,
    first_doubt,
    saved_words,
    typed_labels,
)
from training.core.errors import first_line
from training.reading.numbers import NumberReading, ordinal
from training.runs.user_digits import UserDigitsError

VIEW_SCALE = 3  # each digit's 28×28 view, enlarged
BOXED_WIDTH, BOXED_HEIGHT = 560, 280  # the drawing with its boxes is at most this size
NARROW = 280  # a boxed picture this wide or less fits any column as it is


def number_answer_ui(reading: NumberReading, image, key: str, run_id: str | None) -> None:
    """Everything under a number read from a drawing ("canvas") or an upload ("upload").

    Args:
        reading: what `training.reading.numbers.read_number` found.
        image: what was read: the canvas's RGBA pixels or the uploaded PIL image.
        key: "canvas" or "upload".
        run_id: the model that answered.
    """
    picture = as_rgb(image, "#000000" if key == "canvas" else "#ffffff")
    # Side by side on a desktop; on a phone the columns stack and the number comes first.
    answer, details = st.columns([1, 1], gap="large")
    with answer:
        st.markdown(f"# {reading.number}")  # the number in large type
        if reading.unsure:
            st.markdown(f"### {reading.message}")  # where the doubt is
        else:
            st.markdown("Every digit reads plainly.")
        # No taller than a canvas (a photo may be upright); a wide one fills its column.
        width = max(1, min(BOXED_WIDTH, round(BOXED_HEIGHT * picture.width / picture.height)))
        st.image(boxed(picture, reading, width), width="stretch" if width > NARROW else width,
                 caption="The digits found, in reading order (red: in doubt)")
    with details, st.container(horizontal=True, key=f"draw_number_views_{key}"):
        for position, digit in enumerate(reading.digits, start=1):
            st.container(border=True, width="content").image(
                display.upscale(digit.image28, VIEW_SCALE), caption=digit_words(position, digit))
    with details:
        digit_chart_ui(reading, key)
    # Saving comes last, as in single-digit mode: the answer, the views and the chart reach the
    # page before the user-digit store is asked for its counts.
    with answer:
        number_labelling_ui(reading, picture, key, run_id)


def digit_chart_ui(reading: NumberReading, key: str) -> None:
    """The ten probabilities of the digit the user picks (the first in doubt, until one is picked)."""
    count = len(reading.digits)
    # The count is in the key: a drawing with another number of digits starts from its first doubt.
    # Ordinals alone: "5th digit" five times over was wider than the column, and cut off.
    picked = st.segmented_control(
        "Show the probabilities of the digit", list(range(count)), default=first_doubt(reading),
        required=True, format_func=lambda index: ordinal(index + 1), key=f"draw_number_pick_{key}_{count}")
    index = first_doubt(reading) if picked is None or picked >= count else picked
    digit = reading.digits[index]
    st.altair_chart(charts.probability_chart(digit.probabilities, emphasis=emphasis(digit)),
                    key=f"draw_number_chart_{key}")


def number_labelling_ui(reading: NumberReading, picture, key: str, run_id: str | None) -> None:
    """"Right" when every digit reads plainly, and a field for the right number; both save each digit."""
    try:
        counts = user_digit_store().counts()
    except UserDigitsError as error:
        st.warning(f"Your digits cannot be saved: {first_line(error)}", icon=":material/database:")
        return
    args = (reading, picture, key, run_id)
    with st.container(key=f"draw_number_labelling_{key}"):
        if not reading.unsure:  # confirming a doubt would save guesses as digits
            st.button(f"Right, it is {reading.number}", key=f"draw_number_right_{key}",
                      icon=":material/check:", on_click=_save_right, args=args,
                      help="Save each digit of this number, labelled as read")
        question = ("Wrong? Type the right number to save its digits" if not reading.unsure
                    else "Which number is it? Type it to save its digits")
        with st.form(f"draw_number_fix_{key}", border=False, clear_on_submit=True, enter_to_submit=True):
            st.text_input(question, key=f"draw_number_typed_{key}", placeholder=reading.number,
                          max_chars=2 * len(reading.digits) + 8)
            st.form_submit_button("Save as typed", on_click=_save_typed, args=args,
                                  help="One digit for each box, left to right")
        problem = st.session_state.pop(f"draw_number_problem_{key}", None)
        if problem:
            st.error(problem)
        st.caption(counts_line(counts))


def _save_right(reading: NumberReading, picture, key: str, run_id: str | None) -> None:
    _save(reading, [digit.digit for digit in reading.digits], picture, key, run_id)


def _save_typed(reading: NumberReading, picture, key: str, run_id: str | None) -> None:
    text = st.session_state.get(f"draw_number_typed_{key}", "")
    try:
        labels = typed_labels(text, len(reading.digits))
    except ValueError as error:
        st.session_state[f"draw_number_problem_{key}"] = f"Not saved: {first_line(error)}."
        return
    _save(reading, labels, picture, key, run_id)


def _save(reading: NumberReading, labels: list[int], picture, key: str, run_id: str | None) -> None:
    """Save every digit in one transaction; for a drawing, empty the canvas as its Clear button does."""
    number = "".join(str(label) for label in labels)
    digits = digits_to_save(reading, labels, picture, run_id, "draw" if key == "canvas" else "upload")
    try:
        report = user_digit_store().add_many(digits)
    except (UserDigitsError, ValueError) as error:
        st.session_state[f"draw_number_problem_{key}"] = f"Not saved: {first_line(error)}"
        return
    note = saved_words(number, len(report.added), report.duplicates)
    if key == "canvas":
        st.session_state.draw_number_saved_note = note  # said where the answer was, until the next stroke
        clear_canvas("draw_number")
    else:
        st.toast(note, icon=":material/check_circle:" if report.added else ":material/info:")

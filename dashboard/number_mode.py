"""The Draw page's number mode: write a whole number on a wide canvas, or upload a photo of one."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.canvas import drawing_canvas
from dashboard.number_reading import number_answer_ui
from dashboard.upload import uploaded_image
from training.core.errors import first_line
from training.data.ink import EmptyDrawingError
from training.data.segment import MAX_PARTS, TooManyPartsError
from training.reading.numbers import read_number

WIDE_CANVAS = (840, 280)  # width, height: room for a few digits side by side
PHONE_CANVAS = (340, 170)  # what fits a phone's width (the page has no sideways scroll there)
HINT = "Write a number in the black box, digits side by side: it is read after each stroke."
NO_NUMBER = "No digit was found in this image: it holds no ink (it is blank or one even colour)."


def number_mode_ui(predictor, model_line: str) -> None:
    """Number mode: the canvas and its answer (a fragment of its own), then the upload."""
    number_drawing_ui(predictor, model_line)
    st.divider()
    number_upload_ui(predictor)


def canvas_size() -> tuple[int, int]:
    """The canvas for this browser: wide, or a phone's width (its user agent says "Mobile")."""
    agent = st.context.headers.get("User-Agent", "")
    return PHONE_CANVAS if "Mobi" in agent else WIDE_CANVAS


def number_canvas() -> np.ndarray | None:
    """The wide canvas, Clear and the stroke width; the drawing's RGBA pixels (None while clearing)."""
    width, height = canvas_size()
    return drawing_canvas("draw_number", width=width, height=height, stroke_width=16)


@st.fragment
def number_drawing_ui(predictor, model_line: str) -> None:
    """The canvas and, under it, the number read; a fragment, so a stroke reruns only this part."""
    image = number_canvas()
    st.caption(model_line)
    number_reading_ui(predictor, image, "canvas")


def number_reading_ui(predictor, image, key: str) -> None:
    """Read the number in `image` and show it, or say in one line why there is none."""
    with st.container(key=f"draw_number_reading_{key}"):
        try:
            if image is None:
                raise EmptyDrawingError
            reading = read_number(predictor, image)
        except EmptyDrawingError:
            note = st.session_state.get("draw_number_saved_note") if key == "canvas" else None
            if note:
                st.success(f"{note} Write the next number.", icon=":material/check_circle:")
            else:
                st.info(HINT if key == "canvas" else NO_NUMBER, icon=":material/gesture:")
            return
        except TooManyPartsError as error:
            message = first_line(error)
            st.error(f"{message[0].upper()}{message[1:]}. Upload or write at most {MAX_PARTS} digits.")
            return
        except ValueError as error:
            st.error(f"This image cannot be read: {first_line(error)}")
            return
        if key == "canvas":
            st.session_state.pop("draw_number_saved_note", None)
        number_answer_ui(reading, image, key, predictor.run_id)


def number_upload_ui(predictor) -> None:
    """Read a photo or scan of a handwritten number (several digits on paper) the same way."""
    st.subheader("Or upload a photo of a number")
    uploaded = uploaded_image("Image of a handwritten number (digits side by side)", "draw_number_upload")
    if uploaded is not None:
        number_reading_ui(predictor, uploaded[1], "upload")

"""Draw page: draw a digit (or upload a photo of one) and see what the active model makes of it."""

import numpy as np
import streamlit as st
from PIL import Image

from dashboard import charts, display
from dashboard.canvas import drawing_canvas
from dashboard.common import cached_predictor, get_store, store_root
from dashboard.explain_ui import explanation_ui
from dashboard.labelling import forget_saved_note, labelling_ui, saved_note
from dashboard.number_mode import number_mode_ui
from dashboard.upload import uploaded_image
from training.core.errors import first_line
from training.data.preprocess import EmptyDrawingError
from training.runs.store import StoreError

CANVAS_SIZE = 280
HINT = "Draw a digit in the black square: the prediction updates after each stroke."
NO_DIGIT = "No digit was found in this image: it holds no ink (it is blank or one even colour)."
EXPLAIN_KEY = "draw_explain"  # the Explain toggle: on unless the user turns it off
MODES = ("One digit", "A number")


def active_predictor():
    """The active run's cached Predictor and a line naming it, or None after saying why there is none."""
    store = get_store()
    try:
        run = store.active()
        damaged = chosen_run_problem(store)
        if damaged and run is None:
            st.error(f"The active model cannot be used: {damaged} Train a new one on the Train page.")
            return None
        if damaged:
            st.warning(f"The active model cannot be used: {damaged} Using {run.run_id} instead.")
        if run is None:
            st.info("There is no trained model yet. Train one on the Train page (one click), "
                    "then come back to draw.")
            st.page_link("views/train.py", label="Go to the Train page", icon=":material/model_training:")
            return None
        return cached_predictor(store_root(), run.run_id), f"Model: {run.summary()}"
    except (StoreError, ImportError, ValueError, OSError) as error:
        st.error(f"The model could not be loaded: {first_line(error)}")
        return None


def chosen_run_problem(store) -> str | None:
    """Why the run the user made active cannot be read (one sentence naming the file), if it cannot."""
    chosen = store.chosen_id()
    if chosen is None:
        return None
    try:
        store.get(chosen)
    except StoreError as error:
        return first_line(error)
    return None


def canvas_image() -> np.ndarray | None:
    """The digit's canvas with Clear, the stroke width and the Explain toggle; its RGBA pixels."""
    return drawing_canvas("draw", width=CANVAS_SIZE, height=CANVAS_SIZE, stroke_width=20,
                          controls=explain_toggle)


def explain_toggle() -> None:
    st.toggle("Explain", value=True, key=EXPLAIN_KEY,
              help="Under the answer: where the model looks, the training digits it is reminded "
                   "of, and what each layer sees. Off: the answer alone, with less work per stroke.")


def prediction_ui(predictor, image, key: str) -> None:
    """The 28×28 input the model sees, its answer, and the ten probabilities as bars."""
    with st.container(key=f"draw_prediction_{key}"):
        try:
            if image is None:
                raise EmptyDrawingError
            prediction = predictor.classify(image)
        except EmptyDrawingError:
            note = saved_note() if key == "canvas" else None
            if note:
                st.success(f"{note} Draw the next digit.", icon=":material/check_circle:")
            else:
                st.info(HINT if key == "canvas" else NO_DIGIT, icon=":material/gesture:")
            return
        except ValueError as error:
            st.error(f"This image cannot be classified: {first_line(error)}")
            return
        if key == "canvas":
            forget_saved_note()
        # The answer first: on a phone the columns stack, and the answer is what the user waits for.
        answer, seen = st.columns([2, 1])
        seen.container(border=True, width="content").image(display.upscale(prediction.image28, 5),
                                                           caption="What it sees")
        answer.markdown(f"### {prediction.message}")  # the digit, or doubt in words
        answer.markdown(prediction.detail)
        st.altair_chart(charts.probability_chart(prediction.probabilities, emphasis=emphasis(prediction)),
                        key=f"draw_chart_{key}")
        labelling_ui(prediction, image, key, predictor.run_id)
        # Computed only now, after the answer and the chart are on the page: it never delays them.
        explanation_ui(predictor, prediction, key, full=st.session_state.get(EXPLAIN_KEY, True))


def emphasis(prediction) -> str:
    """How the bars follow the answer: one digit highlighted, two when unsure, none when not a digit
    (its top bar, however tall, is only the likeliest of ten digits it does not look like)."""
    verdict = prediction.verdict
    if verdict is not None and verdict.not_a_digit:
        return "guess"
    return "unsure" if verdict is not None and verdict.unsure else "answer"


@st.fragment
def drawing_ui(predictor, model_line: str) -> None:
    """Canvas and prediction side by side; a fragment, so a stroke reruns only this part."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        image = canvas_image()
        # Under the canvas, not above it: the canvas's toolbar floats above its top edge while the
        # pointer is over it, and covered this line there.
        st.caption(model_line)
    with right:
        prediction_ui(predictor, image, "canvas")


def preview(image: Image.Image) -> Image.Image:
    """The upload in a mode a browser shows (16-bit scans, CMYK and palettes are not)."""
    if image.mode.startswith(("I", "F")):
        pixels = np.asarray(image, dtype=np.float32)
        top = 65535 if image.mode.startswith("I;16") else max(float(np.nanmax(pixels)), 1.0)
        return Image.fromarray(np.clip(pixels / top * 255, 0, 255).astype(np.uint8))
    return image if image.mode in ("L", "RGB", "RGBA") else image.convert("RGBA")


def upload_ui(predictor) -> None:
    """Classify a photo or scan of a handwritten digit the same way."""
    st.subheader("Or upload a photo of a digit")
    uploaded = uploaded_image("Image of one handwritten digit", "draw_upload")
    if uploaded is None:
        return
    name, image = uploaded
    left, right = st.columns([1, 1], gap="large")
    # A border, so that a white image still shows on the white page.
    left.container(border=True, width="content").image(preview(image), caption=name, width=CANVAS_SIZE)
    with right:
        prediction_ui(predictor, image, "upload")


# The mode switch shares the title's line: on a phone a line of its own pushed the answer under a
# stroke out of view.
with st.container(horizontal=True, vertical_alignment="center", gap="small"):
    st.title("Draw", width="content")
    mode_switch = st.empty()
active = active_predictor()
if active is not None:
    predictor, model_line = active
    mode = mode_switch.radio("Read", MODES, horizontal=True, key="draw_mode", label_visibility="collapsed",
                             help="One digit, as MNIST is; or a whole number, digits side by side")
    if mode == MODES[1]:
        number_mode_ui(predictor, model_line)
    else:
        drawing_ui(predictor, model_line)
        st.divider()
        upload_ui(predictor)

"""MNIST Studio dashboard: the entry point routes to the Train, Draw and Export pages.

Run with `streamlit run dashboard/app.py`. Environment:
  MNIST_STUDIO_MODELS       the model store's folder (default ./models).
  MNIST_STUDIO_TRAIN_LIMIT  testing/demo knob: train and evaluate on the first N images only.
"""

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the project root.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402
from streamlit import config as streamlit_config  # noqa: E402

from dashboard.sidebar import training_controls_ui  # noqa: E402

# Streamlit runs a full `gc.collect(2)` after every script run. With TensorFlow loaded (400,000
# objects) that holds the GIL for about 0.2 s, and a Draw stroke makes up to three runs (stroke,
# Clear, the emptied canvas): the server's cost per stroke went from 35 ms to about 1 s when this
# was last removed. Python's own generational collection still runs. (Also in
# .streamlit/config.toml; set here so that it holds however the server is started.)
streamlit_config.set_option("runner.postScriptGC", False)


def _keep_keras_state_between_runs() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Once Keras is imported (the Draw page's predictor), Streamlit's script runner "cleans" it
    after each run and each fragment run: a full `gc.collect()` plus a TensorFlow kernel-cache
    flush, about a quarter of a second holding the GIL, and every stroke on the Draw page waited
    for it before its answer was sent. Trainings run in processes of their own now, so this is
    only about the Draw page's latency. Nothing here relies on the cleaning: models are cached
    per run id. (There is no option for it, so the private hook is replaced when present.)
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None


_keep_keras_state_between_runs()

st.set_page_config(page_title="MNIST Studio", page_icon="✏️", layout="wide")

train_page = st.Page("views/train.py", title="Train", icon=":material/model_training:", default=True)
draw_page = st.Page("views/draw.py", title="Draw", icon=":material/draw:")
export_page = st.Page("views/export.py", title="Export", icon=":material/download:")
my_digits_page = st.Page("views/my_digits.py", title="My digits", icon=":material/photo_library:")
page = st.navigation([train_page, draw_page, my_digits_page, export_page])

if training_controls_ui() and page.url_path != train_page.url_path:
    st.switch_page(train_page)  # follow the training that just started

page.run()

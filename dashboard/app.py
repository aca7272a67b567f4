"""MNIST Studio dashboard: the entry point routes to the Train, Draw and Export pages.

Served by `streamlit run dashboard/server.py` (`make run`). Environment:
  MNIST_STUDIO_MODELS       the model store's folder (default ./models).
  MNIST_STUDIO_TRAIN_LIMIT  testing/demo knob: train and evaluate on the first N images only.
"""

import streamlit as st
from streamlit import config as streamlit_config

from dashboard.sidebar import training_controls_ui
from dashboard.streamlit_patches import keep_keras_state_between_runs

# Streamlit runs a full `gc.collect(2)` after every script run. With TensorFlow loaded (and all its
# objects) that holds the GIL for a long while, and a Draw stroke makes up to three runs (stroke,
# Clear, the emptied canvas): the server's cost per stroke grew many times over when this was last
# removed. Python's own generational collection still runs. (Also in
# .streamlit/config.toml; set here so that it holds however the server is started.)
streamlit_config.set_option("runner.postScriptGC", False)
# Nor `keras.backend.clear_session()` after every run: each Draw stroke waited for it too.
keep_keras_state_between_runs()

st.set_page_config(page_title="MNIST Studio", page_icon="✏️", layout="wide")

train_page = st.Page("views/train.py", title="Train", icon=":material/model_training:", default=True)
draw_page = st.Page("views/draw.py", title="Draw", icon=":material/draw:")
export_page = st.Page("views/export.py", title="Export", icon=":material/download:")
my_digits_page = st.Page("views/my_digits.py", title="My digits", icon=":material/photo_library:")
page = st.navigation([train_page, draw_page, my_digits_page, export_page])

if training_controls_ui() and page.url_path != train_page.url_path:
    st.switch_page(train_page)  # follow the training that just started

page.run()

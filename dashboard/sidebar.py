"""The sidebar on every page: training settings and a Train button."""

from __future__ import annotations

import math

import streamlit as st

from dashboard.common import train_limit, training_session
from training.config import ARCHITECTURE_DEFAULTS, DEFAULT_ARCHITECTURE, TrainConfig

ARCHITECTURE_NAMES = {"cnn": "CNN (default)", "mlp": "MLP (the 2022 seed's model)"}
# The choices always include every architecture's default, whatever the defaults become.
BATCH_SIZES = sorted({16, 32, 64, 128, 256, 512} | {d["batch_size"] for d in ARCHITECTURE_DEFAULTS.values()})
LEARNING_RATES = sorted({1e-4, 3e-4, 1e-3, 3e-3, 1e-2}
                        | {d["learning_rate"] for d in ARCHITECTURE_DEFAULTS.values()})
MIN_EPOCHS, MAX_EPOCHS = 1, 100


def _apply_defaults(architecture: str) -> None:
    defaults = ARCHITECTURE_DEFAULTS[architecture]
    st.session_state.sidebar_epochs = defaults["epochs"]
    st.session_state.sidebar_batch_size = defaults["batch_size"]
    st.session_state.sidebar_learning_rate = defaults["learning_rate"]
    st.session_state.sidebar_augment = defaults["augment"]


def _on_architecture_change() -> None:
    _apply_defaults(st.session_state.sidebar_architecture)


def _as_number(value: object) -> float | None:
    """A finite number, or None for anything else (text, None, NaN, infinity)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _sanitise_settings() -> None:
    """Bring values set through session state back into the widgets' ranges.

    A widget whose session-state value lies outside its range raises instead of drawing, so a
    stale or tampered value (10**9 epochs, a negative batch size) would break every page.
    """
    state = st.session_state
    if state.get("sidebar_architecture") not in ARCHITECTURE_NAMES:
        state.sidebar_architecture = DEFAULT_ARCHITECTURE
    defaults = ARCHITECTURE_DEFAULTS[state.sidebar_architecture]
    epochs = _as_number(state.get("sidebar_epochs"))
    state.sidebar_epochs = (defaults["epochs"] if epochs is None
                            else int(min(max(round(epochs), MIN_EPOCHS), MAX_EPOCHS)))
    for key, choices in (("batch_size", BATCH_SIZES), ("learning_rate", LEARNING_RATES)):
        number = _as_number(state.get(f"sidebar_{key}"))
        state[f"sidebar_{key}"] = (defaults[key] if number is None
                                   else min(choices, key=lambda choice: abs(choice - number)))
    if not isinstance(state.get("sidebar_augment"), bool):
        state.sidebar_augment = defaults["augment"]


def training_controls_ui() -> TrainConfig | None:
    """Draw the settings; returns the configuration when Train is clicked, else None."""
    if "sidebar_architecture" not in st.session_state:
        st.session_state.sidebar_architecture = DEFAULT_ARCHITECTURE
        _apply_defaults(DEFAULT_ARCHITECTURE)
    _sanitise_settings()

    with st.sidebar:
        st.header("Train a model")
        architecture = st.selectbox("Architecture", list(ARCHITECTURE_NAMES), key="sidebar_architecture",
                                    format_func=ARCHITECTURE_NAMES.get, on_change=_on_architecture_change)
        epochs = st.number_input("Epochs", min_value=MIN_EPOCHS, max_value=MAX_EPOCHS, step=1,
                                 key="sidebar_epochs")
        batch_size = st.select_slider("Batch size", BATCH_SIZES, key="sidebar_batch_size")
        learning_rate = st.select_slider("Learning rate", LEARNING_RATES, key="sidebar_learning_rate",
                                         format_func=lambda rate: f"{rate:g}")
        augment = st.toggle("Augment training images", key="sidebar_augment",
                            help="Small random shifts, rotations and zooms of the training digits.")
        session = training_session()
        busy = session is not None and session.snapshot().active
        clicked = st.button("Train", key="sidebar_train", type="primary", disabled=busy,
                            width="stretch")
        if busy:
            st.caption("Training… follow it on the Train page.")
        if train_limit():
            st.caption(f"Quick mode: $MNIST_STUDIO_TRAIN_LIMIT={train_limit()} images.")
    if not clicked:
        return None
    try:
        return TrainConfig.for_architecture(architecture, epochs=int(epochs), batch_size=int(batch_size),
                                            learning_rate=float(learning_rate), augment=bool(augment))
    except (TypeError, ValueError) as error:  # the config's own check, in one line
        st.sidebar.error(f"Cannot train with these settings: {error}")
        return None

"""The sidebar on every page: training settings and a Train button that starts a job."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import common
from training.core.config import (
    ARCHITECTURE_DEFAULTS,
    DEFAULT_ARCHITECTURE,
    MAX_USER_DIGITS_WEIGHT,
    SHORT_RUNS,
    TrainConfig,
    default_learning_rate,
)
from training.runs.user_digits import UserDigitsError, UserDigitStore, default_path

ARCHITECTURE_NAMES = {"cnn": "CNN (default)", "mlp": "MLP (the 2022 seed's model)"}
# The choices always include every architecture's default, whatever the defaults become.
BATCH_SIZES = sorted({16, 32, 64, 128, 256, 512} | {d["batch_size"] for d in ARCHITECTURE_DEFAULTS.values()})
LEARNING_RATES = sorted({1e-4, 3e-4, 1e-3, 3e-3, 1e-2}
                        | {d["learning_rate"] for d in ARCHITECTURE_DEFAULTS.values()}
                        | {rate for _, rate in SHORT_RUNS.values()})
MIN_EPOCHS, MAX_EPOCHS = 1, 100
# How many training images: a quick run shows curves growing within seconds.
TRAINING_IMAGES = {None: f"All {common.ALL_TRAINING_IMAGES:,}", 10_000: "10,000 (quick)",
                   2_000: "2,000 (seconds)"}
STARTED_KEY = "sidebar_started"
# Set once the user picks a learning rate: from then on the epochs no longer choose it.
RATE_CHOSEN_KEY = "sidebar_rate_chosen"


def _apply_defaults(architecture: str) -> None:
    defaults = ARCHITECTURE_DEFAULTS[architecture]
    st.session_state.sidebar_epochs = defaults["epochs"]
    st.session_state.sidebar_batch_size = defaults["batch_size"]
    st.session_state.sidebar_learning_rate = defaults["learning_rate"]
    st.session_state.sidebar_augment = defaults["augment"]
    st.session_state[RATE_CHOSEN_KEY] = False


def _on_architecture_change() -> None:
    _apply_defaults(st.session_state.sidebar_architecture)


def _on_epochs_change() -> None:
    """The learning rate follows the epochs (a short run trains faster at a higher rate) until the
    user picks one."""
    state = st.session_state
    epochs, architecture = _as_number(state.get("sidebar_epochs")), state.get("sidebar_architecture")
    if not state.get(RATE_CHOSEN_KEY) and epochs is not None and architecture in ARCHITECTURE_DEFAULTS:
        state.sidebar_learning_rate = default_learning_rate(architecture, round(epochs))


def _on_rate_change() -> None:
    st.session_state[RATE_CHOSEN_KEY] = True


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


def training_image_choices(limit: int | None) -> dict[int | None, str]:
    """The "Training images" choices, each named by what a training will really use: under
    $MNIST_STUDIO_TRAIN_LIMIT "all" is the limit, and no choice offers more (`common.with_limits`)."""
    if limit is None or limit >= common.ALL_TRAINING_IMAGES:
        return TRAINING_IMAGES
    fewer = {count: label for count, label in TRAINING_IMAGES.items() if count is not None and count < limit}
    return {None: f"{limit:,} (this server's limit)", **fewer}


def _trainable_user_digits() -> int:
    """How many of the user's saved digits a training may use (held-out ones never); 0 if unreadable."""

    digits = UserDigitStore(default_path(common.store_root()))
    if not digits.path.exists():
        return 0
    try:
        return sum(digits.counts().values()) - sum(digits.held_out_counts().values())
    except UserDigitsError:
        return 0  # the My digits page says what is wrong with the file


def user_digits_ui() -> None:
    """'Include my digits' with their weight, offered once the user has saved some."""
    available = _trainable_user_digits()
    if not available:
        st.session_state.sidebar_user_digits = False
        return
    st.toggle(f"Include my digits ({available})", key="sidebar_user_digits",
              help="Your saved digits join the training images; the 2nd, 7th, 12th … of each digit is "
                   "held out to measure the model on, never trained on.")
    if st.session_state.get("sidebar_user_digits"):
        st.number_input("… each one counted this many times", min_value=1, max_value=MAX_USER_DIGITS_WEIGHT,
                        value=5, step=1, key="sidebar_user_weight")


def _config_from_state() -> TrainConfig:
    state = st.session_state
    return TrainConfig.for_architecture(
        state.sidebar_architecture, epochs=int(state.sidebar_epochs),
        batch_size=int(state.sidebar_batch_size), learning_rate=float(state.sidebar_learning_rate),
        augment=bool(state.sidebar_augment),
        train_limit=state.get("sidebar_images"),
        user_digits_weight=int(state.sidebar_user_weight) if state.get("sidebar_user_digits") else 0)


def _start_from_sidebar() -> None:
    """The Train button's callback: it runs before the page is drawn again, so the button is
    already disabled in the very next run and a second click cannot start a second job."""
    try:
        config = _config_from_state()
    except (TypeError, ValueError) as error:  # the config's own check, in one line
        st.session_state.sidebar_error = f"Cannot train with these settings: {error}"
        return
    st.session_state.sidebar_error = None
    common.start_training(config, activate=bool(st.session_state.get("sidebar_activate", True)),
                          name=str(st.session_state.get("sidebar_name") or ""))
    st.session_state[STARTED_KEY] = True


def training_controls_ui() -> bool:
    """Draw the settings and the Train button; True in the run right after a training started."""
    if "sidebar_architecture" not in st.session_state:
        st.session_state.sidebar_architecture = DEFAULT_ARCHITECTURE
        _apply_defaults(DEFAULT_ARCHITECTURE)
    _sanitise_settings()
    limit = common.train_limit()
    choices = training_image_choices(limit)
    if st.session_state.get("sidebar_images") not in choices:
        st.session_state.sidebar_images = None

    with st.sidebar:
        st.header("Train a model")
        st.selectbox("Architecture", list(ARCHITECTURE_NAMES), key="sidebar_architecture",
                     format_func=ARCHITECTURE_NAMES.get, on_change=_on_architecture_change)
        st.number_input("Epochs", min_value=MIN_EPOCHS, max_value=MAX_EPOCHS, step=1, key="sidebar_epochs",
                        on_change=_on_epochs_change)
        st.selectbox("Training images", list(choices), key="sidebar_images", format_func=choices.get,
                     help="Fewer images train in seconds, at a lower accuracy.")
        st.select_slider("Batch size", BATCH_SIZES, key="sidebar_batch_size")
        st.select_slider("Learning rate", LEARNING_RATES, key="sidebar_learning_rate",
                         format_func=lambda rate: f"{rate:g}", on_change=_on_rate_change,
                         help="Until you pick one, it follows the epochs: short runs learn faster "
                              "at a higher rate.")
        st.toggle("Augment training images", key="sidebar_augment",
                  help="Small random shifts, turns, zooms, slants, pen widths and gaps in the "
                       "training digits (all epochs but the last).")
        user_digits_ui()
        st.toggle("Make it the active model when done", value=True, key="sidebar_activate",
                  help="If you pick another active model while it trains, your choice stands.")
        st.text_input("Name (optional)", key="sidebar_name", max_chars=80, placeholder="e.g. thin pen test")
        busy = common.my_running_job() is not None
        st.button("Train", key="sidebar_train", type="primary", disabled=busy, width="stretch",
                  on_click=_start_from_sidebar)
        if st.session_state.get("sidebar_error"):
            st.error(st.session_state.sidebar_error)
        if busy:
            st.caption("Training… follow it on the Train page. Closing the tab does not stop it.")
        if limit:
            st.caption(f"Quick mode ($MNIST_STUDIO_TRAIN_LIMIT={limit}): trainings use at most "
                       f"{min(limit, common.ALL_TRAINING_IMAGES):,} training images and are tested on "
                       f"the first {min(limit, 10_000):,} test images.")
    return bool(st.session_state.pop(STARTED_KEY, False))

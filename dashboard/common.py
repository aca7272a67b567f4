"""What every page shares: the model store, the training session, the cached predictor and MNIST."""

from __future__ import annotations

import os

import streamlit as st

from dashboard.training_session import TrainingSession, shared_mnist
from training.config import TrainConfig
from training.data import Mnist
from training.store import STORE_ENV, ModelStore

# A testing and demo knob: train (and evaluate) on the first N images only, so that a run
# takes seconds. Unset in normal use.
TRAIN_LIMIT_ENV = "MNIST_STUDIO_TRAIN_LIMIT"
SESSION_KEY = "training_session"


def store_root() -> str:
    """The model store's folder: $MNIST_STUDIO_MODELS, else ./models."""
    return os.environ.get(STORE_ENV) or "models"


def get_store() -> ModelStore:
    """A fresh handle on the store; cheap, and never stale across runs of the script."""
    return ModelStore(store_root())


def train_limit() -> int | None:
    """$MNIST_STUDIO_TRAIN_LIMIT as a positive int, or None when unset or not a number."""
    raw = os.environ.get(TRAIN_LIMIT_ENV, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def with_limits(config: TrainConfig) -> TrainConfig:
    """Apply $MNIST_STUDIO_TRAIN_LIMIT to a configuration (to training and evaluation alike)."""
    limit = train_limit()
    if limit is None:
        return config
    values = config.to_dict()
    values["train_limit"] = min(limit, 55_000)
    values["eval_limit"] = min(limit, 10_000)
    return TrainConfig.from_dict(values)


def training_session() -> TrainingSession | None:
    """This browser session's training, running or finished, if any."""
    return st.session_state.get(SESSION_KEY)


def start_training(config: TrainConfig) -> TrainingSession:
    """Start training in the background unless this session is already training."""
    current = training_session()
    if current is not None and current.snapshot().active:
        return current
    session = TrainingSession(with_limits(config), get_store()).start()
    st.session_state[SESSION_KEY] = session
    return session


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def cached_predictor(root: str, run_id: str):
    """The run's Predictor, loaded once per process; keyed by run id so it never goes stale."""
    from training.predict import load_predictor

    return load_predictor(ModelStore(root), run_id)


@st.cache_resource(show_spinner="Loading MNIST…")
def cached_mnist() -> Mnist:
    """The MNIST arrays (read-only), for showing test images next to the model's mistakes."""
    return shared_mnist()

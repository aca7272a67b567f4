"""What every page shares: the model store and its training jobs, the cached predictor and MNIST."""

from __future__ import annotations

import importlib
import os
import threading

import streamlit as st

from training.core.config import VALIDATION_SIZE, TrainConfig
from training.data.mnist import Mnist, load_mnist
from training.jobs.job import JobSpec
from training.jobs.store import JobStore
from training.reading.for_run import load_predictor
from training.runs.store import STORE_ENV, ModelStore, StoreError

# A testing and demo knob: train (and evaluate) on the first N images only, so that a run
# takes seconds. Unset in normal use.
TRAIN_LIMIT_ENV = "MNIST_STUDIO_TRAIN_LIMIT"
# The jobs this browser session started (the Train button stays disabled while one runs).
MY_JOBS_KEY = "train_my_jobs"
# What "all" means: MNIST's training images less the validation split.
ALL_TRAINING_IMAGES = 60_000 - VALIDATION_SIZE


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
    """Apply $MNIST_STUDIO_TRAIN_LIMIT to a configuration (to training and evaluation alike): a
    training never uses more images than the limit, nor more than it was set to use."""
    limit = train_limit()
    if limit is None:
        return config
    values = config.to_dict()
    values["train_limit"] = min(limit, config.train_limit or ALL_TRAINING_IMAGES)
    values["eval_limit"] = min(limit, config.eval_limit or 10_000)
    return TrainConfig.from_dict(values)


def get_jobs() -> JobStore:
    """The store's training jobs (running, stopped, ended), read from their event logs."""
    return JobStore(get_store())


def start_training(config: TrainConfig, *, activate: bool = True, name: str = "") -> JobSpec:
    """Start a training job in a process of its own; it outlives this session and this server."""
    jobs = get_jobs()
    spec = jobs.create(with_limits(config), activate=activate, name=name, source="dashboard")
    jobs.launch(spec)
    st.session_state.setdefault(MY_JOBS_KEY, []).append(spec.job_id)
    tensorflow_loading()
    return spec


@st.cache_resource(show_spinner=False)
def tensorflow_loading() -> threading.Thread:
    """TensorFlow imported in the background, once per server, from the first training started here:
    the training's end leads to the Draw page, whose first answer then need not wait for the import."""
    thread = threading.Thread(target=importlib.import_module, args=("tensorflow",),
                              name="import-tensorflow", daemon=True)
    thread.start()
    return thread


def my_running_job() -> str | None:
    """A job this session started that is still running, if any."""
    jobs = get_jobs()
    for job_id in reversed(st.session_state.get(MY_JOBS_KEY, [])):
        try:
            if jobs.view(job_id).running:
                return job_id
        except StoreError:  # dismissed or unreadable: not running
            continue
    return None


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def cached_predictor(root: str, run_id: str):
    """The run's Predictor, loaded once per process; keyed by run id so it never goes stale."""

    return load_predictor(ModelStore(root), run_id)


@st.cache_resource(show_spinner="Loading MNIST…")
def cached_mnist() -> Mnist:
    """The MNIST arrays (read-only), for showing test images next to the model's mistakes."""
    return load_mnist()

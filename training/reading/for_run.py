"""A run made ready to read drawings: its Predictor with the doubt rule, and its neighbour index.

Both the doubt rule and the neighbour index are saved with a run when its training ends. A run saved
before them (or a kept partial run) gets them fitted once from MNIST on first use and cached beside
the MNIST cache, keyed by the run's model file: the model store itself is never written here.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.core.config import VALIDATION_SIZE
from training.core.probabilities import softmax
from training.data.mnist import cache_dir, load_mnist
from training.data.varied_cache import cached_distorted_digits
from training.reading import doubt, neighbours
from training.reading.doubt import DoubtModel, fit_doubt
from training.reading.neighbours import NeighbourIndex, build_index
from training.reading.predictor import Predictor
from training.runs.store import MODEL_FILE, ModelStore, StoreError

# The distortions of the validation digits (the thresholds) and of the training digits (the
# statistics) for the doubt rule: fixed, so a run's rule can be fitted again.
DISTORTION_SEED = 2
TRAIN_DISTORTION_SEED = 3
NO_MODEL_MESSAGE = "No trained model yet: run `python -m training train` or use the dashboard's Train page."


def load_predictor(store: ModelStore, run_id: str | None = None) -> Predictor:
    """A Predictor for a run of the store (the active run by default), with its doubt rule.

    Raises:
        StoreError: there is no trained model, or the run is missing or damaged.
    """
    run_id = run_id or store.active_id()
    if run_id is None:
        raise StoreError(NO_MODEL_MESSAGE)
    run = store.get(run_id)
    predictor = Predictor(store.load_model(run_id), run_id=run_id, temperature=run.record.temperature)
    predictor.doubt = doubt_for_run(run.path, predictor)
    return predictor


# --- The doubt rule ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingFeatures:
    """One pass of a run's model over the first MNIST training digits, which both the doubt rule
    (its clean statistics) and the neighbour index read: a training's end makes it once for both."""

    features: np.ndarray  # (N, F) what the last layer reads: the neighbours are found here
    doubt_features: np.ndarray  # (N, D) what the doubt rule reads


def training_features(predictor: Predictor,
                      count: int = max(doubt.FIT_IMAGES, neighbours.BUILD_IMAGES)) -> TrainingFeatures:
    """The features of the first `count` MNIST training digits (none from the validation split)."""
    data = load_mnist()
    images = data.x_train[: min(count, len(data.x_train) - VALIDATION_SIZE)]
    return TrainingFeatures(*predictor.features_and_doubt_features(images))


def fit_doubt_for(predictor: Predictor, seen: TrainingFeatures | None = None) -> DoubtModel:
    """Fit a run's DoubtModel from MNIST: the statistics on training images, clean and varied as
    training varies them; the distance threshold on the validation split as written, the confidence
    threshold on the validation split varied.

    The varied digits shape the digits' prototypes, so that an untidy digit lies near one; the
    distance threshold is read off the validation digits as written, as a threshold read off
    varied digits (some of which no longer look like their digit) lets a model that learned from
    few digits read a letter as a sure digit.

    `seen`: the clean training digits' features when they are already at hand."""
    data = load_mnist()
    usable = len(data.x_train) - VALIDATION_SIZE
    clean = min(doubt.FIT_IMAGES, usable)
    if seen is None or len(seen.doubt_features) < clean:
        seen = training_features(predictor, clean)
    end = min(2 * clean, usable)
    varied_train = cached_distorted_digits(data.x_train[clean:end], data.y_train[clean:end],
                                           seed=TRAIN_DISTORTION_SEED)
    train_features = np.concatenate([seen.doubt_features[:clean], predictor.doubt_features(varied_train)])
    validation = data.x_train[-VALIDATION_SIZE:]
    varied = cached_distorted_digits(validation, data.y_train[-VALIDATION_SIZE:], seed=DISTORTION_SEED)
    confidence = softmax(predictor.logits_batch(varied) / predictor.temperature).max(axis=1)
    return fit_doubt(train_features, data.y_train[:end], predictor.doubt_features(validation), confidence,
                     blocks=predictor.doubt_blocks)


def doubt_for_run(run_path: Path, predictor: Predictor) -> DoubtModel:
    """The run's DoubtModel: from its folder or the cache, else fitted now and cached."""
    run_path = Path(run_path)
    cached = doubt_cache_path(run_path)
    for path in (run_path / doubt.DOUBT_FILE, cached):
        with contextlib.suppress(ValueError):
            return DoubtModel.load(path)
    model = fit_doubt_for(predictor)
    with contextlib.suppress(OSError):  # an unwritable cache only means fitting again next time
        cached.parent.mkdir(parents=True, exist_ok=True)
        model.save(cached)
        _prune(cached.parent, doubt.CACHE_KEEP)
    return model


def doubt_cache_path(run_path: Path) -> Path:
    # New settings, new file.
    settings = (f"v{doubt.FORMAT}-k{doubt.COMPONENTS}-n{doubt.FIT_IMAGES}-p{doubt.PROTOTYPES}"
                f"-q{doubt.FLAG_RATE}-h{doubt.HESITANT_RATE}-d{DISTORTION_SEED}-{TRAIN_DISTORTION_SEED}")
    return cache_dir() / "doubt" / f"{Path(run_path).name}-{_model_stamp(run_path)}-{settings}.npz"


# --- The nearest training digits --------------------------------------------------------------------

def build_neighbours_for(predictor: Predictor, images: int = neighbours.BUILD_IMAGES,
                         seen: TrainingFeatures | None = None) -> NeighbourIndex:
    """A run's index from the first `images` MNIST training digits (none from the validation split);
    `seen`: their features when they are already at hand."""
    data = load_mnist()
    count = min(images, len(data.x_train) - VALIDATION_SIZE)
    if seen is None or len(seen.features) < count:
        seen = training_features(predictor, count)
    return build_index(seen.features[:count], data.y_train[:count], np.arange(count))


_INDEXES: dict[str, NeighbourIndex] = {}
_BUILDING: dict[str, threading.Thread] = {}
_FAILED: dict[str, str] = {}
_LOCK = threading.Lock()


def index_for_run(run_path: Path, predictor: Predictor, *, wait: bool = True) -> NeighbourIndex | None:
    """The run's index: kept in memory, read from its folder or the cache, else built and cached.

    With `wait=False` a missing index is built in a background thread and None is returned until
    it is ready, so that a page never waits for it.

    Raises:
        ValueError: building failed (the message says why); it is not tried again in this process.
    """
    run_path = Path(run_path)
    key = str(neighbours_cache_path(run_path))
    with _LOCK:
        if key in _INDEXES:
            return _INDEXES[key]
        if key in _FAILED:
            raise ValueError(_FAILED[key])
        for path in (run_path / neighbours.NEIGHBOURS_FILE, Path(key)):
            with contextlib.suppress(ValueError):
                return _remember(key, NeighbourIndex.load(path))
        thread = _BUILDING.get(key)
        if thread is None:
            thread = _BUILDING[key] = threading.Thread(target=_build, args=(key, predictor),
                                                       name=f"neighbours-{run_path.name}", daemon=True)
            thread.start()
    if not wait:
        return None
    thread.join()
    return index_for_run(run_path, predictor, wait=False)


def forget_indexes() -> None:
    """Drop the indexes this process holds in memory (tests; a build's thread is left alone)."""
    with _LOCK:
        _INDEXES.clear()
        _FAILED.clear()


def neighbours_cache_folder() -> Path:
    """Where indexes built for runs that lack one are kept."""
    return cache_dir() / "neighbours"


def neighbours_cache_path(run_path: Path) -> Path:
    settings = f"k{neighbours.COMPONENTS}-n{neighbours.BUILD_IMAGES}-v{neighbours.FORMAT}"
    return neighbours_cache_folder() / f"{Path(run_path).name}-{_model_stamp(run_path)}-{settings}.npz"


def _build(key: str, predictor: Predictor) -> None:
    try:
        index = build_neighbours_for(predictor)
    except Exception as error:  # any failure becomes one sentence for the page
        with _LOCK:
            _FAILED[key] = f"the nearest training digits could not be found: {error}"
            _BUILDING.pop(key, None)
        return
    with contextlib.suppress(OSError):  # an unwritable cache only means building again next time
        Path(key).parent.mkdir(parents=True, exist_ok=True)
        index.save(Path(key))
        _prune(Path(key).parent, neighbours.CACHE_KEEP)
    with _LOCK:
        _remember(key, index)
        _BUILDING.pop(key, None)


def _remember(key: str, index: NeighbourIndex) -> NeighbourIndex:
    _INDEXES[key] = index
    while len(_INDEXES) > neighbours.MEMORY_KEEP:
        _INDEXES.pop(next(iter(_INDEXES)))
    return index


# --- The caches -------------------------------------------------------------------------------------

def _model_stamp(run_path: Path) -> str:
    """The run's model file's size and time: a model saved again gets new cache files."""
    try:
        stat = (Path(run_path) / MODEL_FILE).stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def _prune(folder: Path, keep: int) -> None:
    """Keep the most recently written cache files (test runs and old runs leave theirs behind)."""
    files = sorted(folder.glob("*.npz"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in files[keep:]:
        path.unlink(missing_ok=True)

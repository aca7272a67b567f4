"""The nearest training digits: they agree with the answer, the index is small, old runs get one too."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

# Measured: 99% on the shared test run (1 epoch on 6,000 digits), 100% on the default CNN.
MAJORITY_FLOOR = 0.95
# 20,000 digits × 32 float16 values, plus the projection: 1.5 MB.
MAX_INDEX_BYTES = 3_000_000


def majority(labels: np.ndarray) -> np.ndarray:
    """The most common label of each row (the smallest digit on a tie)."""
    return np.array([np.bincount(row, minlength=10).argmax() for row in labels])


def test_the_8_neighbours_mostly_carry_the_answer_on_200_correct_test_digits(trained_store, mnist):
    """For ≥ 95% of 200 correctly answered test digits, the 8 neighbours' majority label is the answer."""
    from training.reading.for_run import index_for_run, load_predictor
    from training.reading.neighbours import COUNT

    predictor = load_predictor(trained_store)
    index = index_for_run(trained_store.active().path, predictor)
    answers = predictor.logits_batch(mnist.x_test[:400]).argmax(axis=1)
    features = predictor.features(mnist.x_test[:400])
    correct = np.flatnonzero(answers == mnist.y_test[:400])[:200]
    assert len(correct) == 200
    positions = index.positions(features[correct])
    assert positions.shape == (200, COUNT)
    agree = majority(index.labels[positions]) == answers[correct]
    assert agree.mean() >= MAJORITY_FLOOR, agree.mean()
    # Nearest first, and `nearest` gives the same digits with their true MNIST labels.
    found = index.nearest(features[correct[0]])
    assert [n.index for n in found] == list(index.indices[positions[0]])
    assert [n.similarity for n in found] == sorted((n.similarity for n in found), reverse=True)
    assert [n.label for n in found] == [int(mnist.y_train[n.index]) for n in found]


def test_the_index_is_saved_with_the_run_and_is_small(trained_store, mnist):
    from training.reading.neighbours import BUILD_IMAGES, NEIGHBOURS_FILE, NeighbourIndex

    path = trained_store.active().path / NEIGHBOURS_FILE
    assert path.is_file()
    assert path.stat().st_size < MAX_INDEX_BYTES, path.stat().st_size
    index = NeighbourIndex.load(path)
    assert len(index.indices) == BUILD_IMAGES
    assert index.indices.max() < len(mnist.x_train)
    # Each stored label is the MNIST label of the digit it points at.
    np.testing.assert_array_equal(index.labels, mnist.y_train[index.indices])


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_a_run_without_a_readable_index_still_gets_neighbours(store_copy, mnist, monkeypatch, tmp_path,
                                                             damage):
    """A run saved before the index existed (or with a damaged one) gets one built on first use,
    in the background when asked not to wait, and cached outside the store."""
    from training.reading import for_run
    from training.reading.neighbours import NEIGHBOURS_FILE

    run = store_copy.active()
    path = run.path / NEIGHBOURS_FILE
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"not an npz file")
    monkeypatch.setattr(for_run, "neighbours_cache_folder", lambda: tmp_path / "cache")
    for_run.forget_indexes()
    predictor = for_run.load_predictor(store_copy)
    assert for_run.index_for_run(run.path, predictor, wait=False) is None  # building, not waited for
    index = for_run.index_for_run(run.path, predictor)
    assert index is not None
    assert for_run.neighbours_cache_path(run.path).is_file()
    assert not path.exists() if damage == "missing" else path.read_bytes() == b"not an npz file"
    features = predictor.features(mnist.x_test[:1])
    found = index.nearest(features[0])
    assert len(found) == 8
    answer = predictor.logits_batch(mnist.x_test[:1])[0].argmax()
    assert majority(np.array([[n.label for n in found]]))[0] == answer
    for_run.forget_indexes()

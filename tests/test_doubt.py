"""Doubt and calibration: a scribble is flagged, a clear digit is not, the run's temperature is applied."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.kit.cli import cli
from tests.kit.nondigits import nondigits_of_kind
from training.reading.doubt import DoubtModel, judge, verdict_message


def doubt_model(min_confidence: float = 0.8, max_distance: float = 10.0) -> DoubtModel:
    """Two features, digit d centred at (d, 0), unit covariance."""
    centres = np.stack([np.arange(10.0), np.zeros(10)], axis=1)
    return DoubtModel(mean=np.zeros(2), projection=np.eye(2), centres=centres,
                      min_confidence=min_confidence, max_distance=max_distance)


def probabilities(top: int, p: float, second: int) -> np.ndarray:
    row = np.full(10, (1 - p) / 20)
    row[top] = p
    row[second] += 1 - row.sum()
    return row


@pytest.fixture(scope="module")
def trained_store(steady_store):
    """These tests judge doubt: the three-epoch model (see `steady_store`)."""
    return steady_store


def test_a_confident_digit_near_its_class_is_answered_plainly():
    verdict = judge(probabilities(7, 0.99, 1), distance=1.0, doubt=doubt_model())
    assert (verdict.digit, verdict.unsure, verdict.not_a_digit) == (7, False, False)
    assert verdict_message(verdict) == "Predicted digit: 7"


def test_a_hesitant_answer_names_the_two_likely_digits():
    verdict = judge(probabilities(4, 0.55, 9), distance=1.0, doubt=doubt_model())
    assert verdict.unsure and not verdict.not_a_digit and verdict.top_two == (4, 9)
    assert verdict.message == "Not sure — it could be 4 or 9"


def test_far_from_every_digit_is_not_a_digit_however_confident():
    verdict = judge(probabilities(2, 0.999, 3), distance=50.0, doubt=doubt_model())
    assert verdict.unsure and verdict.not_a_digit
    assert verdict.message == "This does not look like a digit"


def test_distances_are_to_the_nearest_digit_and_survive_a_save(tmp_path):
    model = doubt_model()
    points = np.array([[3.0, 0.0], [4.0, 2.0], [20.0, 0.0]])
    assert model.distances(points) == pytest.approx([0.0, 4.0, 121.0])
    model.save(tmp_path / "doubt.npz")
    again = DoubtModel.load(tmp_path / "doubt.npz")
    assert again.max_distance == model.max_distance and (again.centres == model.centres).all()
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"broken\.npz"):
        DoubtModel.load(tmp_path / "broken.npz")


@pytest.fixture(scope="module")
def predictor(trained_store):
    from training.reading.for_run import load_predictor

    return load_predictor(trained_store)


def clear_digits(mnist, predictor, count: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Test digits the model reads right as `predict` and the Draw page see them (reduced
    MNIST-style): a flag on them would be the doubt rule's fault."""
    images, labels = mnist.x_test[:500], mnist.y_test[:500]
    right = np.array([predictor.classify(image).digit == label
                      for image, label in zip(images, labels, strict=True)])
    return images[right][:count], labels[right][:count]


def test_the_runs_temperature_is_stored_and_applied(trained_store, predictor, mnist):
    from training.reading.predictor import softmax

    record = trained_store.get(trained_store.active_id()).record
    stored = record["temperature"] if isinstance(record, dict) else record.temperature
    assert stored != 1.0 and predictor.temperature == pytest.approx(stored)
    images = mnist.x_test[:50]
    logits = predictor.logits_batch(images)
    np.testing.assert_allclose(predictor.probabilities_batch(images), softmax(logits / stored), atol=1e-9)
    assert not np.allclose(predictor.probabilities_batch(images), softmax(logits), atol=1e-3)


def test_feature_blocks_are_whitened_apart_and_their_distances_add_up():
    """Two layers' features: a drawing odd in either block is far from every digit."""
    from training.reading.doubt import fit_doubt

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 100)
    first = rng.normal(size=(1000, 4)) + labels[:, None]  # the digit shows in the first block
    second = 1000 * rng.normal(size=(1000, 3))  # a much larger scale that must not swamp it
    train = np.concatenate([first, second], axis=1)
    doubt = fit_doubt(train, labels, train, np.ones(1000), blocks=(4, 3), components=8, flag_rate=0.01)
    assert doubt.projection.shape == (7, 7)
    assert not doubt.projection[:4, 4:].any() and not doubt.projection[4:, :4].any()  # block-diagonal
    odd_first = np.array([[3.0, 3.0, -9.0, 9.0, 0.0, 0.0, 0.0]])  # odd in the small block only
    odd_second = np.array([[3.0, 3.0, 3.0, 3.0, 8000.0, 0.0, 0.0]])  # odd in the large one only
    usual = np.array([[3.0, 3.0, 3.0, 3.0, 500.0, -500.0, 0.0]])
    distances = doubt.distances(np.concatenate([odd_first, odd_second, usual]))
    assert distances[0] > doubt.max_distance and distances[1] > doubt.max_distance
    assert distances[2] < doubt.max_distance
    with pytest.raises(ValueError, match="do not add up"):
        fit_doubt(train, labels, train, np.ones(1000), blocks=(4, 4))


def test_a_digit_written_two_ways_is_near_either_way_and_far_between_them():
    """Each digit has prototypes: a drawing at the average of two styles of a digit is no digit."""
    from training.reading.doubt import fit_doubt

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 200)
    style = np.where(labels == 7, np.tile([-1.0, 1.0], 1000), 0.0)  # 7s written two ways, 20 apart
    train = np.stack([40.0 * labels, 10.0 * style], axis=1) + rng.normal(size=(2000, 2))
    doubt = fit_doubt(train, labels, train, np.ones(2000), components=2, prototypes=2, flag_rate=0.01)
    assert len(doubt.centres) == 20
    one_way, other_way, between = doubt.distances(np.array([[280.0, 10.5], [280.5, -10.0], [280.0, 0.0]]))
    assert one_way < doubt.max_distance and other_way < doubt.max_distance
    assert between > doubt.max_distance


def test_a_convnets_doubt_rule_reads_its_last_conv_block_too(predictor):
    last_layer = predictor.model.layers[-1].input.shape[-1]
    assert predictor.doubt_blocks == (last_layer, 128)  # conv3's 128 channels, averaged
    assert predictor.doubt.projection.shape[0] == sum(predictor.doubt_blocks)


def test_dashes_letters_pairs_and_scribbles_are_flagged_and_clear_digits_are_not(predictor, mnist):
    """The test model is small (three epochs on 6,000 images): the default model flags more (make bench)."""
    kinds = (("dash", 10, 9), ("letter", 10, 6), ("two-digits", 10, 6), ("scribble", 20, 5))
    for kind, count, at_least in kinds:
        drawn = [predictor.classify(Image.fromarray(image, "L")) for image in nondigits_of_kind(kind, count)]
        assert sum(p.verdict.unsure for p in drawn) >= at_least, (kind, [p.message for p in drawn])
        for p in drawn:
            first, second = p.verdict.top_two
            doubts = ("This does not look like a digit", f"Not sure — it could be {first} or {second}")
            assert p.message in doubts if p.verdict.unsure else p.message == f"Predicted digit: {first}"
    # The rule flags about 1.5% of validation digits by design: a few of 100 clear ones may be.
    images, labels = clear_digits(mnist, predictor, count=100)
    read = [predictor.classify(image) for image in images]  # reduced MNIST-style once, as `predict` does
    assert sum(p.verdict.unsure for p in read) <= 5, [p.message for p in read if p.verdict.unsure]
    assert all(p.message == f"Predicted digit: {label}"
               for p, label in zip(read, labels, strict=True) if not p.verdict.unsure)


def test_digits_varied_as_training_varies_them_are_mostly_answered_and_scribbles_are_not(predictor, mnist):
    """The statistics are fitted on clean and varied training digits, with prototypes per digit:
    test digits varied the same way are mostly answered, where a rule fitted on clean digits only
    (one centre per digit) doubts most of them; scribbles are still doubted far more."""
    from training.core.config import VALIDATION_SIZE
    from training.data.augment import distorted_digits
    from training.reading.doubt import FLAG_RATE, fit_doubt

    varied = distorted_digits(mnist.x_test[:1000], mnist.y_test[:1000], seed=11)
    _, features = predictor.logits_and_doubt_features(varied)
    _, verdicts = predictor.judge_batch(varied)
    flagged = np.mean([verdict.unsure for verdict in verdicts])
    assert flagged <= 0.15, flagged  # the test model never saw a varied digit: the default flags fewer
    clean = fit_doubt(predictor.doubt_features(mnist.x_train[:6000]), mnist.y_train[:6000],
                      predictor.doubt_features(mnist.x_train[-VALIDATION_SIZE:]), np.ones(1),
                      blocks=predictor.doubt_blocks, prototypes=1, flag_rate=FLAG_RATE)
    assert flagged < 0.5 * np.mean(clean.distances(features) > clean.max_distance)
    scribbles = np.stack([predictor.classify(Image.fromarray(image, "L")).image28
                          for image in nondigits_of_kind("scribble", 40)])
    _, verdicts = predictor.judge_batch(scribbles)
    assert np.mean([verdict.unsure for verdict in verdicts]) >= 2 * flagged


def test_the_neighbour_index_built_from_the_shared_pass_is_the_one_built_alone(predictor, mnist):
    """A training's end makes one pass over the training digits for the doubt rule and the index:
    the index is the same as one built on its own, and so is the rule."""
    from training.reading.for_run import build_neighbours_for, fit_doubt_for, training_features

    seen = training_features(predictor)
    shared = build_neighbours_for(predictor, seen=seen)
    alone = build_neighbours_for(predictor)
    np.testing.assert_allclose(fit_doubt_for(predictor, seen=seen).max_distance,
                               fit_doubt_for(predictor).max_distance, rtol=1e-5)
    features = predictor.features(mnist.x_test[:30])
    np.testing.assert_array_equal(shared.positions(features), alone.positions(features))
    np.testing.assert_array_equal(shared.labels, alone.labels)


def test_cli_json_says_unsure_with_the_top_two_for_a_scribble_not_a_digit(trained_store, mnist, tmp_path):
    from training.reading.for_run import load_predictor

    predictor = load_predictor(trained_store)
    images, labels = clear_digits(mnist, predictor, count=1)
    Image.fromarray(images[0]).resize((280, 280)).save(tmp_path / "digit.png")
    flagged = next(image for image in nondigits_of_kind("scribble", 20)
                   if predictor.classify(Image.fromarray(image, "L")).verdict.unsure)
    Image.fromarray(flagged).save(tmp_path / "scribble.png")
    done = cli("training", "predict", "--json", "--models", str(trained_store.root),
               str(tmp_path / "digit.png"), str(tmp_path / "scribble.png"))
    assert done.returncode == 0, done.stderr
    digit, scribble = (json.loads(line) for line in done.stdout.splitlines())
    assert digit["digit"] == labels[0] and digit["unsure"] is False
    assert scribble["unsure"] is True and len(scribble["top_two"]) == 2
    assert scribble["top_two"][0] == scribble["digit"] and scribble["message"]
    # In words, the doubt comes first and the digit only as a guess (not "2 (92.5% sure; not a digit)").
    text = cli("training", "predict", "--models", str(trained_store.root), str(tmp_path / "scribble.png"))
    assert text.stdout.splitlines()[0].startswith(f"{tmp_path / 'scribble.png'}: {scribble['message']} "
                                                  f"(best guess {scribble['digit']}, ")
    assert "% sure" not in text.stdout.splitlines()[0]


def test_the_draw_page_lines_say_the_doubt_first_and_the_best_guess_under_it():
    from training.reading.doubt import Verdict
    from training.reading.predictor import Prediction

    def prediction(unsure: bool, far: bool = False) -> Prediction:
        verdict = Verdict(digit=4, top_two=(4, 9), unsure=unsure, not_a_digit=far)
        return Prediction(digit=4, confidence=0.55, probabilities=probabilities(4, 0.55, 9),
                          image28=np.zeros((28, 28), np.float32), verdict=verdict)

    confident = prediction(False)
    assert (confident.message, confident.detail) == ("Predicted digit: 4", "Probability **55.0%**")
    assert prediction(True).message == "Not sure — it could be 4 or 9"
    assert prediction(True, far=True).message == "This does not look like a digit"
    assert prediction(True).detail == "Best guess: 4, probability **55.0%**"
    # Doubted for being unlike every digit: a high probability alone would read as a contradiction.
    assert prediction(True, far=True).detail.startswith("Best guess: 4, probability **55.0%** among the ten")
    assert "unlike all the digits the model learned from" in prediction(True, far=True).detail
    # Never "100.0%" in one line next to "over 99.9%" in the next.
    certain = Prediction(digit=4, confidence=0.99996, probabilities=probabilities(4, 0.99996, 9),
                         image28=np.zeros((28, 28), np.float32), verdict=None)
    assert certain.detail == "Probability **over 99.9%**"



@pytest.mark.slow
def test_writers_outside_mnist_are_doubted_less_than_by_a_clean_only_rule(predictor, mnist):
    """The confidence threshold is read off validation digits varied as training varies them: with
    clean ones only, ordinary digits written unlike MNIST were doubted (one in seven)."""
    from tests.kit.optdigits import optdigits_inputs
    from training.core.config import VALIDATION_SIZE
    from training.reading.doubt import HESITANT_RATE
    from training.reading.predictor import softmax

    clean = softmax(predictor.logits_batch(mnist.x_train[-VALIDATION_SIZE:]) / predictor.temperature)
    clean_only = np.quantile(clean.max(axis=1), HESITANT_RATE)
    assert predictor.doubt.min_confidence < clean_only
    images, _ = optdigits_inputs(range(300))
    probabilities, verdicts = predictor.judge_batch(images)
    flagged = np.mean([verdict.unsure for verdict in verdicts])
    hesitant_if_clean_only = (probabilities.max(axis=1) < clean_only).mean()
    assert flagged < hesitant_if_clean_only

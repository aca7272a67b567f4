"""Predictor and `python -m training predict`: the digit and ten probabilities a user sees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.kit.cli import cli
from training.data.preprocess import EmptyDrawingError
from training.runs.store import ModelStore, StoreError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def untrained_predictor():
    """A Predictor around a freshly built CNN: random weights are enough to check the plumbing."""
    import keras

    from training.learn.models import build_model
    from training.reading.predictor import Predictor

    keras.utils.set_random_seed(0)
    return Predictor(build_model("cnn"))


def drawn_one() -> Image.Image:
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(140, 40), (140, 240)], fill=(0, 0, 0, 255), width=18)
    return image


def test_probabilities_match_the_model_and_sum_to_one(untrained_predictor, mnist):
    from training.data.shifts import VIEWS, shifted_views
    from training.reading.predictor import softmax

    images = mnist.x_test[:64].astype(np.float32) / 255
    batch = untrained_predictor.probabilities_batch(images)
    # The answer: the mean of the model's logits over the image and its four 1-pixel shifts.
    view_logits = untrained_predictor.model.predict(shifted_views(images), verbose=0)
    expected = softmax(view_logits.reshape(64, VIEWS, 10).mean(axis=1))
    assert batch.shape == (64, 10)
    np.testing.assert_allclose(batch, expected, atol=1e-5)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, atol=1e-9)
    single = untrained_predictor.probabilities(images[5])
    assert single.shape == (10,)
    np.testing.assert_allclose(single, expected[5], atol=1e-5)
    # uint8 images are understood as 0..255.
    np.testing.assert_allclose(untrained_predictor.probabilities_batch(mnist.x_test[:64]), batch, atol=1e-6)


def test_wrong_shapes_are_refused(untrained_predictor):
    with pytest.raises(ValueError, match=r"\(28, 28\)"):
        untrained_predictor.probabilities(np.zeros((280, 280), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        untrained_predictor.probabilities_batch(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        untrained_predictor.probabilities(np.full((28, 28), np.nan, np.float32))
    assert untrained_predictor.probabilities_batch(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


def test_classify_preprocesses_any_drawing(untrained_predictor):
    prediction = untrained_predictor.classify(drawn_one())
    assert 0 <= prediction.digit <= 9
    assert prediction.confidence == pytest.approx(prediction.probabilities.max())
    assert prediction.probabilities.sum() == pytest.approx(1.0)
    assert prediction.image28.shape == (28, 28) and prediction.image28.max() > 0.9
    with pytest.raises(EmptyDrawingError, match="The canvas is empty"):
        untrained_predictor.classify(np.zeros((280, 280, 4), np.uint8))


def test_no_model_is_a_clear_error(tmp_path):
    from training.reading.for_run import load_predictor

    with pytest.raises(StoreError, match="No trained model yet: run `python -m training train`"):
        load_predictor(ModelStore(tmp_path / "empty"))


@pytest.mark.slow
def test_a_trained_model_reads_drawn_digits(trained_store):
    from tests.kit.drawn_digits import evaluate_drawn, plain_resize
    from training.reading.for_run import load_predictor

    predictor = load_predictor(trained_store)
    assert predictor.run_id == trained_store.active_id()
    assert predictor.classify(drawn_one()).digit == 1
    preprocessed = evaluate_drawn(predictor, count=200, seed=1)
    resized = evaluate_drawn(predictor, count=200, seed=1, preprocess=plain_resize)
    assert preprocessed > 0.6
    assert preprocessed > resized + 0.2


# --- The command line --------------------------------------------------------------------------


def run_cli(*args: str, store: Path) -> subprocess.CompletedProcess:
    return cli("training", "predict", *args, env={"MNIST_STUDIO_MODELS": str(store)})


@pytest.fixture
def image_files(tmp_path):
    """A drawn 1 (black on transparent), a blank canvas and a file that is not an image."""
    files = {"one": tmp_path / "one.png", "blank": tmp_path / "blank.png", "text": tmp_path / "notes.png"}
    drawn_one().save(files["one"])
    Image.new("RGB", (280, 280), "white").save(files["blank"])
    files["text"].write_text("not an image")
    return files


@pytest.mark.slow
def test_cli_json_lines(store_copy, image_files):
    result = run_cli("--json", str(image_files["one"]), str(image_files["blank"]),
                     str(image_files["text"]), str(image_files["one"]), store=store_copy.root)
    assert result.returncode == 1, result.stderr  # one file could not be read
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    names = ("one", "blank", "text", "one")
    assert [line["file"] for line in lines] == [str(image_files[name]) for name in names]
    for line in (lines[0], lines[3]):
        assert line["digit"] == 1
        assert len(line["probabilities"]) == 10
        assert sum(line["probabilities"]) == pytest.approx(1.0)
        assert int(np.argmax(line["probabilities"])) == line["digit"]
    assert lines[1] == {"file": str(image_files["blank"]), "error": "empty"}
    assert lines[2]["error"] == "unreadable" and "not a readable image" in lines[2]["message"]


@pytest.mark.slow
def test_cli_human_output(store_copy, image_files):
    result = run_cli(str(image_files["one"]), str(image_files["blank"]), store=store_copy.root)
    assert result.returncode == 0, result.stderr  # an empty drawing is read: not a failure
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{image_files['one']}: 1 (")
    assert all(f"{digit}:" in lines[1] for digit in range(10))
    assert lines[2] == f"{image_files['blank']}: empty drawing, no digit to read"
    missing = image_files["one"].parent / "nope.png"
    result = run_cli(str(missing), store=store_copy.root)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"{missing}: error: does not exist"  # the path once


def test_cli_without_a_model_says_what_to_do(tmp_path, image_files):
    result = run_cli(str(image_files["one"]), store=tmp_path / "no-store")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == ("error: No trained model yet: run `python -m training train` "
                                     "or use the dashboard's Train page.")


def test_cli_usage_errors_exit_2(tmp_path):
    for args in ([], ["one.png", "--no-such-option"]):
        result = run_cli(*args, store=tmp_path)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1
    result = run_cli("--help", store=tmp_path)
    assert result.returncode == 0 and "Exit status" in result.stdout

"""Training: both architectures learn, progress is reported, cancellation stops between batches."""

from __future__ import annotations

import numpy as np
import pytest

from training.core.config import ARCHITECTURE_DEFAULTS, TrainConfig
from training.core.progress import CancelToken, TrainingListener
from training.learn.dataset import split
from training.learn.measure import evaluate
from training.learn.train import train


class Recorder(TrainingListener):
    def __init__(self, cancel_after_batches: int | None = None, cancel: CancelToken | None = None):
        self.began, self.batches, self.epochs, self.statuses = None, [], [], []
        self.cancel_after_batches, self.cancel = cancel_after_batches, cancel

    def on_status(self, message):
        self.statuses.append(message)

    def on_train_begin(self, epochs, batches):
        self.began = (epochs, batches)

    def on_batch(self, progress):
        self.batches.append(progress)
        if self.cancel_after_batches is not None and len(self.batches) >= self.cancel_after_batches:
            self.cancel.cancel()

    def on_epoch_end(self, epoch, metrics):
        self.epochs.append((epoch, metrics))


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_one_epoch_on_a_subset_learns_and_reports(mnist, architecture):
    # Each architecture as it trains by default (the MLP without augmentation, the CNN with it).
    config = TrainConfig.for_architecture(architecture, epochs=1, batch_size=64, learning_rate=2e-3,
                                          train_limit=4000, eval_limit=1000)
    recorder = Recorder()
    result = train(config, mnist, listener=recorder)

    assert recorder.began == (1, 63)
    assert [epoch for epoch, _ in recorder.epochs] == [1]
    metrics = recorder.epochs[0][1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= metrics.keys()
    assert result.record.history == [metrics]
    assert result.record.test_accuracy > 0.80  # chance is 0.10
    assert result.record.examples == {"train": 4000, "validation": 1000, "test": 1000}
    assert sum(map(sum, result.record.confusion_matrix)) == 1000
    assert not result.record.cancelled


@pytest.mark.slow
def test_a_short_runs_validation_curve_agrees_with_its_test_accuracy(mnist):
    # The dashboard's quick run: 2,000 images are 16 steps an epoch, too few for batch norm's
    # moving averages to follow the weights; the curve once showed 10% next to 81% on the test set.
    config = TrainConfig(epochs=2, train_limit=2000, eval_limit=1000)
    recorder = Recorder()
    result = train(config, mnist, listener=recorder)
    validation = [metrics["val_accuracy"] for _, metrics in recorder.epochs]
    assert result.record.test_accuracy > 0.5
    assert abs(validation[-1] - result.record.test_accuracy) < 0.1, (validation, result.record.test_accuracy)


@pytest.mark.slow
def test_cancel_stops_between_batches_and_keeps_a_usable_model(mnist):
    cancel = CancelToken()
    recorder = Recorder(cancel_after_batches=1, cancel=cancel)
    config = TrainConfig(architecture="mlp", epochs=50, batch_size=8, train_limit=20_000,
                         eval_limit=500)
    # A batch of 8 takes about a millisecond: the first throttled report comes after many batches,
    # and cancelling there must stop the run within the first epoch, not after fifty.
    result = train(config, mnist, listener=recorder, cancel=cancel)
    assert result.record.cancelled
    assert result.record.epochs_completed == 0  # only whole epochs are in the history
    epoch, batch = result.record.stopped_at
    assert epoch == 1 and batch <= recorder.batches[-1].batch + 1  # within one batch of the request
    assert 0 <= result.record.test_accuracy <= 1 and sum(map(sum, result.record.confusion_matrix)) == 500


def test_validation_is_held_out_from_training_never_the_test_set(mnist):
    sets = split(mnist, TrainConfig())
    x_train, x_val, x_test = sets["train"][0], sets["validation"][0], sets["test"][0]
    assert len(x_train) == 55_000 and len(x_val) == 5_000 and len(x_test) == 10_000
    np.testing.assert_array_equal(x_val, mnist.x_train[55_000:] / np.float32(255))
    np.testing.assert_array_equal(x_test, mnist.x_test / np.float32(255))
    np.testing.assert_array_equal(x_train, mnist.x_train[:55_000])  # scaled batch by batch


def test_the_training_stream_gives_the_models_float_pixels_in_0_to_1(mnist):
    from training.learn.dataset import training_dataset

    x, y = mnist.x_train[:256], mnist.y_train[:256].astype(np.int32)
    images, _ = next(iter(training_dataset(x, y, TrainConfig(epochs=1, augment=False), 256)))
    assert images.dtype == "float32" and float(images.numpy().max()) == 1.0
    scaled = {image.tobytes() for image in x / np.float32(255)}  # every image, as float32 division gives
    assert {image.tobytes() for image in images.numpy()} == scaled


def test_evaluate_counts_mistakes_most_confident_first():
    probabilities = np.full((4, 10), 0.01, dtype=np.float32)
    probabilities[0, 3] = 0.91  # right
    probabilities[1, 5] = 0.6   # wrong (true 1)
    probabilities[2, 7] = 0.9   # wrong (true 2)
    probabilities[3, 3] = 0.91  # right
    labels = np.array([3, 1, 2, 3])
    evaluation = evaluate(probabilities, labels)
    assert evaluation["test_accuracy"] == 0.5
    assert [m[:3] for m in evaluation["mistakes"]] == [(2, 2, 7), (1, 1, 5)]
    assert evaluation["confusion_matrix"][3][3] == 2 and evaluation["confusion_matrix"][1][5] == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": -3}, "epochs"),
        ({"batch_size": 0}, "batch size"),
        ({"learning_rate": 0.0}, "learning rate"),
        ({"learning_rate": -1e-3}, "learning rate"),
        ({"architecture": "resnet"}, "unknown architecture"),
    ],
)
def test_bad_configs_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_architecture_defaults_keep_the_seed_settings_for_the_mlp():
    seed = TrainConfig.for_architecture("mlp")
    assert (seed.batch_size, seed.learning_rate, seed.epochs) == (32, 1e-3, 10)
    assert TrainConfig.for_architecture("cnn", epochs=3, batch_size=None).epochs == 3


def test_a_short_cnn_run_gets_the_higher_rate_unless_the_user_picks_one():
    assert TrainConfig.for_architecture("cnn").learning_rate == ARCHITECTURE_DEFAULTS["cnn"]["learning_rate"]
    short = TrainConfig.for_architecture("cnn", epochs=2)
    assert short.learning_rate > ARCHITECTURE_DEFAULTS["cnn"]["learning_rate"]
    assert TrainConfig.for_architecture("cnn", epochs=1).learning_rate == short.learning_rate
    assert TrainConfig.for_architecture("cnn", epochs=2, learning_rate=1e-3).learning_rate == 1e-3
    assert TrainConfig.for_architecture("mlp", epochs=2).learning_rate == 1e-3

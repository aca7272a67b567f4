"""One training step of our own, run by `strategy.run`: the same path on one device or many workers.

Keras 3's `fit` cannot run under `MultiWorkerMirroredStrategy` (keras-team/keras#20585), so the
step is written out: forward pass, loss averaged over the *global* batch, gradients all-reduced by
the optimizer (Keras's TensorFlow optimizer sums them across replicas), update. Every replica also
votes on stopping, so all workers stop after the same step.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from training.data.shifts import answer_logits

# Validation and test images go through the model this many at a time.
EVAL_BATCH = 1024


@dataclass
class StepTotals:
    """Running sums over the steps of one epoch (all replicas, all workers)."""

    loss_sum: float = 0.0
    correct: float = 0.0
    count: float = 0.0

    def add(self, loss_sum: float, correct: float, count: float) -> None:
        self.loss_sum += loss_sum
        self.correct += correct
        self.count += count

    def metrics(self) -> dict[str, float]:
        if not self.count:
            return {}
        return {"loss": self.loss_sum / self.count, "accuracy": self.correct / self.count}


class TrainingStep:
    """Compiled train and predict functions for one model, optimizer and strategy.

    Build it inside `strategy.scope()`, after the model and before the first step.
    """

    def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer,
                 strategy: tf.distribute.Strategy, global_batch_size: int):
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.global_batch_size = global_batch_size
        # Slot variables are created now, under the strategy's scope, so they are mirrored too.
        optimizer.build(model.trainable_variables)
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        # No AutoGraph, as in Keras's own steps: the step has no control flow on tensors.
        self._train = tf.function(self._train_step, autograph=False)
        self._logits = tf.function(lambda images: model(images, training=False), reduce_retracing=True,
                                   autograph=False)

    def run(self, iterator, stop: bool) -> tuple[float, float, float, bool]:
        """One step on the next global batch: (loss sum, correct, examples, anyone asked to stop)."""
        totals = self._train(iterator, tf.constant(1.0 if stop else 0.0))
        loss_sum, correct, count, stop_votes = (float(value) for value in totals.numpy())
        return loss_sum, correct, count, stop_votes > 0

    def _train_step(self, iterator, stop_vote):
        def replica_step(images, labels, vote):
            with tf.GradientTape() as tape:
                logits = self.model(images, training=True)
                per_example = self._loss(labels, logits)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)
                if self.model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
            variables = self.model.trainable_variables
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            predicted = tf.argmax(logits, axis=1, output_type=labels.dtype)
            return tf.stack([
                tf.reduce_sum(per_example),
                tf.reduce_sum(tf.cast(predicted == labels, tf.float32)),
                tf.cast(tf.shape(labels)[0], tf.float32),
                vote,
            ])

        images, labels = next(iterator)
        per_replica = self.strategy.run(replica_step, args=(images, labels, stop_vote))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def answer_logits(self, images: np.ndarray) -> np.ndarray:
        """The logits answers are read from: the mean over each image's views (`training.data.shifts`)."""
        return answer_logits(self.logits, images)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Logits for (N, 28, 28) images in 0..1, in batches, on this worker alone."""
        if len(images) == 0:
            return np.zeros((0, 10), np.float32)
        return np.concatenate([self._logits(tf.constant(images[start:start + EVAL_BATCH])).numpy()
                               for start in range(0, len(images), EVAL_BATCH)])

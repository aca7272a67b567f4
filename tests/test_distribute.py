"""The multi-device path: two logical CPU devices under MirroredStrategy match one device."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN_AND_REPORT = """
import json, sys
from training.core.config import TrainConfig
from training.learn.train import train
config = TrainConfig(architecture="mlp", epochs=2, batch_size=int(sys.argv[1]), augment=False,
                     learning_rate=float(sys.argv[2]), train_limit=6000, eval_limit=2000)
result = train(config)
print(json.dumps({"replicas": result.record.replicas, "accuracy": result.record.test_accuracy,
                  "loss": result.record.test_loss}))
"""


def train_in_subprocess(batch_size: int, learning_rate: float, cpu_devices: int) -> dict:
    env = {**os.environ, "MNIST_STUDIO_CPU_DEVICES": str(cpu_devices)}
    done = subprocess.run([sys.executable, "-c", TRAIN_AND_REPORT, str(batch_size), str(learning_rate)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_replicas_match_one_device_with_the_same_global_batch():
    # Two replicas of 32 at a base rate of 1e-3 are scaled to a global batch of 64 at 2e-3:
    # the same optimisation as one device with batch 64 at 2e-3.
    mirrored = train_in_subprocess(batch_size=32, learning_rate=1e-3, cpu_devices=2)
    single = train_in_subprocess(batch_size=64, learning_rate=2e-3, cpu_devices=0)
    assert mirrored["replicas"] == 2 and single["replicas"] == 1
    assert mirrored["accuracy"] == pytest.approx(single["accuracy"], abs=0.01)
    assert mirrored["loss"] == pytest.approx(single["loss"], rel=0.1)
    assert mirrored["accuracy"] > 0.85

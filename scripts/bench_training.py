"""One benchmark training run in its own process: time, accuracy, peak memory, saved model.

`python -m scripts.bench_training '{"architecture": "cnn", "epochs": 4}' STORE_DIR` prints one
JSON line. A separate process per run keeps TensorFlow state and peak memory apart.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(argv: list[str]) -> int:
    from training.core.config import TrainConfig
    from training.core.progress import TrainingListener
    from training.data.mnist import load_mnist
    from training.learn.train import train
    from training.runs.store import ModelStore

    config = TrainConfig.for_architecture(**json.loads(argv[0]))
    store = ModelStore(argv[1])
    data = load_mnist()  # warm cache: the clock starts after this, as in DAWNBench

    class EpochTimes(TrainingListener):
        def __init__(self):
            self.val_accuracy: list[float] = []

        def on_epoch_end(self, epoch, metrics):
            self.val_accuracy.append(round(metrics["val_accuracy"], 4))

    listener = EpochTimes()
    started = time.perf_counter()
    result = train(config, data, listener=listener)
    wall = time.perf_counter() - started
    run = store.save(result.model, result.record)
    print(
        json.dumps(
            {
                "run_id": run.run_id,
                "config": config.to_dict(),
                "test_accuracy": result.record.test_accuracy,
                "train_s": round(result.record.history[-1]["elapsed_s"], 1),
                "wall_s": round(wall, 1),
                "epochs": result.record.epochs_completed,
                "val_accuracy": listener.val_accuracy,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What the dashboard's progress reporting costs: bare `model.fit` against fit with the dashboard's
listener (throttled batch reports, per-epoch metrics, cancel checks), alternated in one process.

`python -m scripts.bench_overhead [REPEATS]` prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def main(argv: list[str]) -> int:
    import keras

    from dashboard.training_session import TrainingSession
    from training.config import TrainConfig
    from training.data import load_mnist
    from training.models import build_model
    from training.progress import CancelToken
    from training.store import ModelStore
    from training.train import _ListenerCallback, split, training_dataset

    repeats = int(argv[0]) if argv else 3
    config = TrainConfig(architecture="cnn", epochs=1, batch_size=128, train_limit=20_000)
    x, y = split(load_mnist(), config)["train"]
    dataset = training_dataset(x, y, config, config.batch_size)
    model = build_model("cnn")
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(dataset.take(5), verbose=0)  # compile the step before timing anything
    batches = -(-len(x) // config.batch_size)

    def timed_epoch(callbacks: list) -> float:
        started = time.perf_counter()
        model.fit(dataset, epochs=1, callbacks=callbacks, verbose=0, shuffle=False)
        return time.perf_counter() - started

    bare, reported = [], []
    for _ in range(repeats):
        bare.append(timed_epoch([]))
        session = TrainingSession(config=config, store=ModelStore("/nonexistent"))
        reported.append(timed_epoch([_ListenerCallback(session, CancelToken(), 1, batches)]))
    bare_s, reported_s = statistics.median(bare), statistics.median(reported)
    print(
        json.dumps(
            {
                "images": len(x),
                "repeats": repeats,
                "bare_s": round(bare_s, 2),
                "reported_s": round(reported_s, 2),
                "overhead_pct": round(100 * (reported_s / bare_s - 1), 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

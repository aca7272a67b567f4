"""What a training job's progress reporting costs: `train()` bare against `train()` writing its
event log (throttled batch events, per-epoch metrics, TensorBoard scalars, stop-file checks),
alternated in one process.

`python -m scripts.bench_overhead [REPEATS]` prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from training.core.config import TrainConfig
    from training.data.mnist import load_mnist
    from training.jobs.runner import TENSORBOARD_DIR, EventLogListener
    from training.jobs.store import StopFileToken
    from training.learn.train import train

    repeats = int(argv[0]) if argv else 3
    config = TrainConfig(architecture="cnn", epochs=1, batch_size=128, train_limit=20_000, eval_limit=1000)
    data = load_mnist()
    train(TrainConfig(architecture="cnn", epochs=1, train_limit=512, eval_limit=100), data)  # warm-up

    def timed(reporting: bool) -> float:
        with tempfile.TemporaryDirectory() as folder:
            listener = (EventLogListener(Path(folder) / "events.jsonl", Path(folder) / TENSORBOARD_DIR)
                        if reporting else None)
            cancel = StopFileToken(Path(folder) / "stop") if reporting else None
            started = time.perf_counter()
            train(config, data, listener=listener, cancel=cancel)
            return time.perf_counter() - started

    bare, reported = [], []
    for _ in range(repeats):
        bare.append(timed(False))
        reported.append(timed(True))
    bare_s, reported_s = statistics.median(bare), statistics.median(reported)
    print(json.dumps({"images": config.train_limit, "repeats": repeats, "bare_s": round(bare_s, 2),
                      "reported_s": round(reported_s, 2),
                      "overhead_pct": round(100 * (reported_s / bare_s - 1), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Two workers on localhost against one process, same global batch and epochs, and the all-reduce
volume per step on paper.

`python -m scripts.bench_multi_worker [STORE RUN_ID]` prints one JSON section (the arguments are
accepted for `make bench` and unused: it trains its own runs in temporary stores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.kit.dashboard_server import free_ports

ROOT = Path(__file__).resolve().parent.parent
EPOCHS, LIMIT, PER_WORKER_BATCH = 1, 20_000, 64
NETWORK_GBIT_S = 10


def train_command(models: Path, batch_size: int, learning_rate: float) -> list[str]:
    return [sys.executable, "-m", "training", "train", "--epochs", str(EPOCHS), "--limit", str(LIMIT),
            "--batch-size", str(batch_size), "--learning-rate", str(learning_rate), "--no-activate",
            "--models", str(models)]


def timed(processes: list[subprocess.Popen]) -> float:
    started = time.perf_counter()
    for process in processes:
        _, err = process.communicate(timeout=1800)
        if process.returncode:
            raise RuntimeError(err.strip().splitlines()[-1] if err.strip() else "worker failed")
    return time.perf_counter() - started


def record(models: Path) -> dict:
    run = next((models / "runs").iterdir())
    return json.loads((run / "record.json").read_text())


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ports = free_ports(2)
        cluster = {"worker": [f"localhost:{port}" for port in ports]}
        started = time.perf_counter()
        workers = [subprocess.Popen(train_command(folder / f"worker{index}", PER_WORKER_BATCH, 1.5e-3),
                                    cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env={**env, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {
                                        "type": "worker", "index": index}})})
                   for index in range(2)]
        timed(workers)
        two_s = time.perf_counter() - started
        two = record(folder / "worker0")
        started = time.perf_counter()
        timed([subprocess.Popen(train_command(folder / "single", 2 * PER_WORKER_BATCH, 3e-3), cwd=ROOT,
                                env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)])
        one_s = time.perf_counter() - started
        one = record(folder / "single")

    from training.learn.models import build_model

    parameters = build_model("cnn").count_params()
    megabytes = parameters * 4 / 1e6
    steps = -(-LIMIT // (2 * PER_WORKER_BATCH))
    # A ring all-reduce sends and receives 2 (N - 1) / N of the gradient per worker per step.
    rows_per_n = []
    for n in (2, 4, 8, 16):
        per_step_mb = 2 * (n - 1) / n * megabytes
        ms = per_step_mb * 8 / (NETWORK_GBIT_S * 1000) * 1000
        rows_per_n.append(f"{n} machines: {per_step_mb:.2f} MB each way per worker per step, "
                          f"≥ {ms:.2f} ms at {NETWORK_GBIT_S} Gb/s")
    command = "python -m scripts.bench_multi_worker"
    print(json.dumps({
        "title": "Training across workers (MultiWorkerMirroredStrategy)",
        "intro": (f"The default CNN, {EPOCHS} epoch on {LIMIT:,} images, global batch "
                  f"{2 * PER_WORKER_BATCH}: two worker processes on this one machine (localhost, "
                  "sharing its cores) against one process. No speed-up is expected here: both "
                  "workers share the same cores; the point is that the path runs and matches."),
        "rows": [
            {"measure": "two workers, wall s (both processes, start to exit)", "value": round(two_s, 1),
             "command": command},
            {"measure": "one process, wall s", "value": round(one_s, 1), "command": command},
            {"measure": "two workers, test accuracy", "value": f"{two['test_accuracy']:.2%}",
             "goal": "within 1 point of one process"},
            {"measure": "one process, test accuracy", "value": f"{one['test_accuracy']:.2%}"},
            {"measure": "replicas in the two-worker run", "value": two["replicas"]},
            {"measure": "CNN parameters × 4 bytes (gradient all-reduced per step)",
             "value": f"{parameters:,} × 4 = {megabytes:.2f} MB"},
            {"measure": "steps per epoch on all 55,000 images, global batch 128",
             "value": -(-55_000 // 128)},
        ],
        "notes": [*rows_per_n,
                  f"This run: {steps} steps; the gradient is small, so on a real network the "
                  "all-reduce costs well under a millisecond per step and compute dominates."],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Two workers on localhost train one model with MultiWorkerMirroredStrategy, as the README says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kit.dashboard_server import free_ports
from training.runs.store import ModelStore

ROOT = Path(__file__).resolve().parent.parent
# Per replica; two workers make a global batch of 128 at twice the rate, like one process below.
TRAIN_ARGS = ["--arch", "mlp", "--epochs", "2", "--limit", "6000", "--seed", "3", "--no-activate"]


def start_worker(index: int, ports: list[int], models: Path, *extra: str,
                 timeout_s: int = 30) -> subprocess.Popen:
    tf_config = {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                 "task": {"type": "worker", "index": index}}
    env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "MNIST_STUDIO_WORKER_TIMEOUT": str(timeout_s)}
    return subprocess.Popen([sys.executable, "-m", "training", "train", *TRAIN_ARGS, *extra,
                             "--models", str(models)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.mark.slow
def test_two_workers_train_one_run_that_matches_a_single_process(tmp_path, mnist):
    ports = free_ports(2)
    chief = start_worker(0, ports, tmp_path / "chief", "--batch-size", "64", "--learning-rate", "1e-3")
    worker = start_worker(1, ports, tmp_path / "worker", "--batch-size", "64", "--learning-rate", "1e-3")
    (chief_code, _chief_out, chief_err), (worker_code, _, worker_err) = finish(chief), finish(worker)
    assert chief_code == 0, chief_err[-3000:]
    assert worker_code == 0, worker_err[-3000:]
    assert "Traceback" not in chief_err + worker_err

    runs = ModelStore(tmp_path / "chief").runs()
    assert len(runs) == 1 and runs[0].record.replicas == 2
    assert not (tmp_path / "worker" / "runs").exists()  # other workers save nothing

    single = subprocess.run([sys.executable, "-m", "training", "train", *TRAIN_ARGS, "--batch-size", "128",
                             "--learning-rate", "2e-3", "--models", str(tmp_path / "single")],
                            cwd=ROOT, env=dict(os.environ),
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    alone = ModelStore(tmp_path / "single").runs()[0]
    assert runs[0].record.test_accuracy == pytest.approx(alone.record.test_accuracy, abs=0.01)
    assert runs[0].record.test_accuracy > 0.85


@pytest.mark.slow
def test_a_worker_that_never_comes_stops_the_chief_with_one_line_and_no_run(tmp_path, mnist):
    ports = free_ports(2)
    started = time.monotonic()
    code, _out, err = finish(start_worker(0, ports, tmp_path / "chief", timeout_s=10), timeout=180)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("Loading")]
    assert lines[-1].startswith("error:") and f"localhost:{ports[1]}" in lines[-1], err[-2000:]
    assert "Traceback" not in err
    assert time.monotonic() - started < 150
    assert ModelStore(tmp_path / "chief").runs() == []


@pytest.mark.slow
def test_a_worker_killed_mid_training_stops_the_other_with_one_line_naming_it(tmp_path, mnist):
    ports = free_ports(2)
    long_run = ["--epochs", "50", "--limit", "40000", "--batch-size", "16"]
    chief = start_worker(0, ports, tmp_path / "chief", *long_run, timeout_s=10)
    worker = start_worker(1, ports, tmp_path / "worker", *long_run, timeout_s=10)
    events = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait until training has started, then kill worker 1
        found = list((tmp_path / "chief" / "jobs").glob("*/events.jsonl"))
        if (found and '"epoch"' in found[0].read_text()) or (found and '"progress"' in found[0].read_text()):
            events = found[0]
            break
        time.sleep(0.5)
    assert events is not None, "training never started"
    worker.kill()
    worker.wait()
    code, _out, err = finish(chief, timeout=180)
    assert code != 0
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert last.startswith("error:") and f"localhost:{ports[1]}" in last, err[-2000:]
    assert "Traceback" not in err
    assert ModelStore(tmp_path / "chief").runs() == []

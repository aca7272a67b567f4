"""Runs and training jobs in a test's model store: a second run to compare, a job run to its end."""

from __future__ import annotations

import json
import shutil


def second_run(store, run_id: str = "20200101-000000-mlp-abcdef") -> str:
    """A copy of the store's run under another id, with its own curves, accuracy and fine-tuning result."""
    source = store.runs()[0]
    target = source.path.parent / run_id
    shutil.copytree(source.path, target)
    record = json.loads((target / "record.json").read_text())
    record.update(run_id=run_id, created_at="2020-01-01T00:00:00+00:00", test_accuracy=0.5, name="older")
    record["history"] = [{"epoch": 1, "accuracy": 0.4, "val_accuracy": 0.45, "loss": 1.9, "val_loss": 1.7},
                         {"epoch": 2, "accuracy": 0.5, "val_accuracy": 0.52, "loss": 1.4, "val_loss": 1.3}]
    record["finetune"] = {"after": {"user_held_out_accuracy": 0.875, "mnist_test_accuracy": 0.5}}
    (target / "record.json").write_text(json.dumps(record))
    return run_id


def wait_for_job(store_root, job_id: str, timeout_s: float = 300):
    """Until the training job (its own process) is no longer running and a partial model it left
    is measured; returns its view."""
    import time

    from training.jobs.job import STOPPED
    from training.jobs.store import JobStore
    from training.runs.store import ModelStore

    jobs = JobStore(ModelStore(store_root))
    deadline = time.monotonic() + timeout_s
    while (view := jobs.view(job_id)).running or (view.phase == STOPPED and not view.measured):
        assert time.monotonic() < deadline, "training did not end"
        time.sleep(0.5)  # polling the job's event log on disk
    return jobs.view(job_id)

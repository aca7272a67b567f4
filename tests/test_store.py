"""The model store: atomic saves (even under SIGKILL), the active pointer, damaged runs skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import zipfile

import pytest

from training.runs.store import ModelStore, StoreError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Saves the store's active model as a new run, killing itself (SIGKILL) at a chosen point.
CRASHING_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    from training.runs import store as store_module
    from training.runs.store import ModelStore
    from training.runs.record import RunRecord

    store = ModelStore(sys.argv[1])
    crash_at = sys.argv[2]
    active = store.active()
    model = store.load_model(active.run_id)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if crash_at == "model":
        original = model.save
        def half_save(path, *args, **kwargs):
            with open(path, "wb") as f:
                f.write(b"PK half a model")
            die()
        model.save = half_save
    elif crash_at == "rename":
        store_module.os.rename = die
    else:  # "record" or "pointer": killed as that JSON file is written
        write_json = store_module.write_json_atomic
        killed_file = store_module.RECORD_FILE if crash_at == "record" else store_module.ACTIVE_FILE
        store_module.write_json_atomic = (
            lambda path, value: die() if path.name == killed_file else write_json(path, value))

    store.save(model, RunRecord(config=active.record.config, test_accuracy=0.5))
    """
)


def saved_runs(store: ModelStore) -> list[str]:
    return [run.run_id for run in store.runs()]


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["model", "record", "rename", "pointer"])
def test_sigkill_during_save_never_lists_a_half_written_run(store_copy, crash_at):
    before, active_before = saved_runs(store_copy), store_copy.active_id()
    child = subprocess.run([sys.executable, "-c", CRASHING_SAVE, str(store_copy.root), crash_at],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    runs, problems = store_copy.scan()
    assert problems == []
    # Killed before the rename: the run is absent. After it ("pointer"): present and whole.
    expected_new = 1 if crash_at == "pointer" else 0
    assert len(runs) == len(before) + expected_new
    assert store_copy.active_id() == active_before  # the pointer was never torn
    for run in runs:
        assert store_copy.load_model(run.run_id) is not None


@pytest.mark.slow
def test_concurrent_saves_both_land_whole(store_copy):
    model_run = store_copy.active()
    from training.core.config import TrainConfig
    from training.runs.record import RunRecord

    model = store_copy.load_model(model_run.run_id)
    results, errors = [], []

    def save():
        try:
            results.append(store_copy.save(model, RunRecord(config=TrainConfig(), test_accuracy=0.9)))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({run.run_id for run in results}) == 2
    listed = saved_runs(store_copy)
    assert all(run.run_id in listed for run in results)
    assert store_copy.active_id() in {run.run_id for run in results}


def test_active_pointer_follows_the_user_and_survives_a_missing_run(store_copy, trained_store):
    only = trained_store.active_id()
    assert store_copy.active_id() == only
    (store_copy.root / "active.json").write_text(json.dumps({"run_id": "20990101-000000-cnn-gone"}))
    assert store_copy.active_id() == only  # falls back to the newest complete run
    (store_copy.root / "active.json").write_text("{torn")
    assert store_copy.active_id() == only
    with pytest.raises(StoreError, match="no run named"):
        store_copy.set_active("20990101-000000-cnn-gone")


@pytest.mark.parametrize("damage", ["truncated model", "garbage record", "missing model", "missing record"])
def test_damaged_runs_are_skipped_with_a_sentence_naming_the_file(store_copy, damage):
    run = store_copy.active()
    if damage == "truncated model":
        run.model_path.write_bytes(run.model_path.read_bytes()[:1000])
        named = "model.keras"
    elif damage == "garbage record":
        (run.path / "record.json").write_text("\x00garbage{")
        named = "record.json"
    elif damage == "missing model":
        run.model_path.unlink()
        named = "model.keras"
    else:
        (run.path / "record.json").unlink()
        named = "record.json"
    runs, problems = store_copy.scan()
    assert runs == []
    assert len(problems) == 1 and named in problems[0] and str(run.path) in problems[0]
    assert "\n" not in problems[0]
    assert store_copy.active_id() is None


def test_run_ids_cannot_escape_the_store(store_copy):
    with pytest.raises(StoreError, match="not a run id"):
        store_copy.get("../../etc")


@pytest.mark.slow
def test_a_model_with_a_lambda_layer_is_refused(store_copy, tmp_path):
    """Safe mode: a .keras file from elsewhere must not run arbitrary Python on load."""
    import keras

    run = store_copy.active()
    inputs = keras.Input((28, 28))
    outputs = keras.layers.Lambda(lambda x: x * 2)(keras.layers.Flatten()(inputs))
    hostile = keras.Model(inputs, keras.layers.Dense(10)(outputs))
    hostile.save(run.model_path)
    record = json.loads((run.path / "record.json").read_text())
    record.pop("model_sha256")
    (run.path / "record.json").write_text(json.dumps(record))
    with pytest.raises(StoreError, match="could not be loaded"):
        store_copy.load_model(run.run_id)


def test_record_holds_what_a_user_needs_to_compare_runs(trained_store):
    run = trained_store.active()
    record = json.loads((run.path / "record.json").read_text())
    assert record["run_id"] == run.run_id == run.record.run_id
    assert record["config"]["architecture"] == "cnn"
    assert len(record["history"]) == record["epochs_completed"] == 1
    assert {"val_accuracy", "accuracy", "loss", "val_loss"} <= record["history"][0].keys()
    assert 0.5 < record["test_accuracy"] <= 1
    assert record["dataset_sha256"] and record["duration_s"] > 0
    assert {"tensorflow", "keras", "numpy"} <= record["versions"].keys()
    assert zipfile.is_zipfile(run.model_path)

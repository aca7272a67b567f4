"""Training jobs on disk: event logs survive torn lines and two writers; a job's state comes from its
log; the active model changes only as the user asked; a dead training reads as interrupted."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time

import pytest

from training.core.config import TrainConfig
from training.core.events import append_event, read_events
from training.jobs.job import DISCARDED, INTERRUPTED, KEPT, STOPPED, TRAINING, fold_events
from training.jobs.store import EVENTS_FILE, JobStore, decide_activation
from training.runs.store import ModelStore, StoreError

CONFIG = TrainConfig(architecture="mlp", epochs=3)


def _write_many(path: str, writer: int) -> None:
    for index in range(300):
        append_event(path, "progress", writer=writer, index=index, padding="x" * 200)


def test_a_torn_last_line_is_skipped_and_everything_before_it_is_read(tmp_path):
    log = tmp_path / EVENTS_FILE
    append_event(log, "started", pid=1)
    append_event(log, "epoch", metrics={"accuracy": 0.9})
    with open(log, "a") as f:
        f.write('{"event": "progress", "epoch": 1, "bat')  # killed mid-write
    assert [event["event"] for event in read_events(log)] == ["started", "epoch"]
    assert read_events(tmp_path / "missing.jsonl") == []


def test_two_writers_at_once_never_tear_each_others_lines(tmp_path):
    log = tmp_path / EVENTS_FILE
    writers = [multiprocessing.Process(target=_write_many, args=(str(log), n)) for n in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    events = read_events(log)
    assert len(events) == 600 and len(log.read_text().splitlines()) == 600
    for writer in range(2):
        assert [e["index"] for e in events if e["writer"] == writer] == list(range(300))


def test_a_job_reads_as_its_log_says(store_copy, request):
    jobs = JobStore(store_copy)
    spec = jobs.create(CONFIG, source="cli")
    log = jobs.folder(spec.job_id) / EVENTS_FILE
    # A process that names the job on its command line stands in for the training.
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", spec.job_id])
    request.addfinalizer(trainer.kill)
    append_event(log, "started", pid=trainer.pid)
    append_event(log, "train_begin", epochs=3, batches=10)
    append_event(log, "progress", epoch=1, epochs=3, batch=4, batches=10, elapsed_s=1.0, eta_s=9.0,
                 metrics={"loss": 1.0})
    append_event(log, "epoch", metrics={"epoch": 1, "accuracy": 0.8})
    view = jobs.view(spec.job_id)
    assert view.phase == TRAINING and view.running and view.progress.batch == 4
    assert view.history == [{"epoch": 1, "accuracy": 0.8}]
    assert [v.job_id for v in jobs.running()] == [spec.job_id]

    jobs.request_stop(spec.job_id)
    assert jobs.view(spec.job_id).stop_requested
    append_event(log, "stopped", stopped_at=[2, 7], batches_per_epoch=10, test_accuracy=0.81)
    view = jobs.view(spec.job_id)
    assert view.phase == STOPPED and not view.running
    assert view.stop_description().startswith("Stopped in epoch 2 at batch 7/10.")


def test_a_training_whose_process_is_gone_reads_as_interrupted(store_copy):
    jobs = JobStore(store_copy)
    spec = jobs.create(CONFIG)
    process = multiprocessing.Process(target=time.sleep, args=(0,))
    process.start()
    process.join()  # a pid that no longer runs
    append_event(jobs.folder(spec.job_id) / EVENTS_FILE, "started", pid=process.pid)
    view = jobs.view(spec.job_id)
    assert view.phase == INTERRUPTED and "nothing was saved" in view.error
    assert jobs.running() == []


def test_the_active_model_changes_only_as_asked(store_copy):
    jobs = JobStore(store_copy)
    first = store_copy.active_id()

    spec = jobs.create(CONFIG, activate=False)
    assert decide_activation(store_copy, spec, first) == (False, "The active model was left as it was, "
                                                                 "as asked.")
    spec = jobs.create(CONFIG, activate=True)
    time.sleep(0.01)
    store_copy.set_active(first)  # a person chooses while the training runs: that choice is kept
    activated, note = decide_activation(store_copy, spec, first)
    assert not activated and "that choice was kept" in note

    later = jobs.create(CONFIG, activate=True)  # another training activating its run is no choice
    store_copy.set_active(first, by="training")
    assert decide_activation(store_copy, later, first)[0]
    assert json.loads((store_copy.root / "active.json").read_text())["by"] == "training"


def test_events_fold_without_a_store(tmp_path):
    spec = JobStore(ModelStore(tmp_path)).create(CONFIG)
    events = [{"event": "created", "time": 1.0}, {"event": "evaluating", "time": 2.0},
              {"event": "finished", "time": 3.0, "run_id": spec.job_id, "test_accuracy": 0.97,
               "activated": True}]
    view = fold_events(spec, events)
    assert view.phase == "finished" and view.outcome["test_accuracy"] == 0.97 and view.ended_at == 3.0


def stopped_job(store: ModelStore) -> str:
    """A stopped job whose partial model (a copy of the store's run, worse) waits to be kept."""
    import shutil

    from training.jobs.store import PARTIAL_DIR

    jobs = JobStore(store)
    spec = jobs.create(CONFIG)
    partial = jobs.folder(spec.job_id) / PARTIAL_DIR
    shutil.copytree(store.active().path, partial)
    record = json.loads((partial / "record.json").read_text())
    (partial / "record.json").write_text(json.dumps(dict(record, run_id=spec.job_id, test_accuracy=0.5)))
    append_event(jobs.folder(spec.job_id) / EVENTS_FILE, "stopped", stopped_at=[1, 5], batches_per_epoch=10,
                 test_accuracy=0.5)
    return spec.job_id


def measuring_job(store: ModelStore, request) -> tuple[JobStore, str]:
    """A job stopped a moment ago whose training process is still measuring its partial model."""
    jobs = JobStore(store)
    spec = jobs.create(CONFIG)
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", spec.job_id])
    request.addfinalizer(trainer.kill)
    log = jobs.folder(spec.job_id) / EVENTS_FILE
    append_event(log, "started", pid=trainer.pid)
    append_event(log, "stopped", stopped_at=[1, 5], batches_per_epoch=10, epochs_completed=0)
    return jobs, spec.job_id


def save_partial(store: ModelStore, job_id: str) -> None:
    """What the training process writes once measured: its partial model (here a copy of the store's run)."""
    import shutil

    from training.jobs.store import PARTIAL_DIR

    partial = JobStore(store).folder(job_id) / PARTIAL_DIR
    shutil.copytree(store.active().path, partial)
    record = json.loads((partial / "record.json").read_text())
    (partial / "record.json").write_text(json.dumps(dict(record, run_id=job_id, test_accuracy=0.5)))


def test_keep_is_offered_at_once_and_a_keep_while_measuring_is_carried_out_when_measured(store_copy, request):
    jobs, job_id = measuring_job(store_copy, request)
    active = store_copy.active_id()
    view = jobs.view(job_id)
    assert view.phase == STOPPED and not view.measured and view.keep_requested is None
    assert view.stop_description().startswith("Stopped in epoch 1 at batch 5/10.")

    said = jobs.keep(job_id)
    assert said.startswith(f"Keeping the partial model as {job_id} as soon as it is measured")
    assert jobs.view(job_id).keep_requested is False and not store_copy.has_run(job_id)
    for decide in (jobs.keep, jobs.discard):  # a second tab's click finds it decided
        with pytest.raises(StoreError, match="no partial model"):
            decide(job_id)

    save_partial(store_copy, job_id)
    jobs.partial_measured(job_id, 0.5)
    view = jobs.view(job_id)
    assert view.phase == KEPT and view.outcome["test_accuracy"] == 0.5
    assert store_copy.has_run(job_id) and store_copy.active_id() == active
    assert "stayed the active model" in view.outcome["note"]


def test_a_discard_while_measuring_leaves_nothing_once_measured(store_copy, request):
    jobs, job_id = measuring_job(store_copy, request)
    jobs.discard(job_id)
    assert jobs.view(job_id).phase == DISCARDED
    save_partial(store_copy, job_id)
    jobs.partial_measured(job_id, 0.5)
    assert jobs.view(job_id).phase == DISCARDED
    assert not (jobs.folder(job_id) / "partial").exists() and not store_copy.has_run(job_id)


def test_a_training_killed_while_measuring_its_partial_model_reads_as_interrupted(store_copy):
    jobs = JobStore(store_copy)
    spec = jobs.create(CONFIG)
    process = multiprocessing.Process(target=time.sleep, args=(0,))
    process.start()
    process.join()
    log = jobs.folder(spec.job_id) / EVENTS_FILE
    append_event(log, "started", pid=process.pid)
    append_event(log, "stopped", stopped_at=[1, 5], batches_per_epoch=10, epochs_completed=0)
    view = jobs.view(spec.job_id)
    assert view.phase == INTERRUPTED and "while measuring" in view.error
    with pytest.raises(StoreError):
        jobs.keep(spec.job_id)


def test_keeping_a_partial_model_leaves_the_active_model_unless_asked(store_copy):
    jobs = JobStore(store_copy)
    better = store_copy.active_id()
    kept = stopped_job(store_copy)
    said = jobs.keep(kept)
    assert store_copy.active_id() == better and store_copy.has_run(kept)
    assert said == (f"Kept the partial model as {kept}. It was not made active: {better} stayed the "
                    "active model.")
    assert jobs.view(kept).outcome["activated"] is False

    chosen = stopped_job(store_copy)
    assert jobs.keep(chosen, activate=True).endswith("It was made active, as asked.")
    assert store_copy.active_id() == chosen and jobs.view(chosen).outcome["activated"] is True
    assert store_copy.user_choice_time() is not None  # a person's choice: a running training leaves it


def test_runs_keep_on_the_command_line_leaves_the_better_active_model_and_says_so(store_copy):
    from tests.kit.cli import cli

    better = store_copy.active_id()
    kept = stopped_job(store_copy)
    done = cli("training", "runs", "--keep", kept, "--models", str(store_copy.root))
    assert done.returncode == 0, done.stderr
    assert f"It was not made active: {better} stayed the active model." in done.stdout
    assert f"`python -m training runs --activate {kept}`" in done.stdout
    assert store_copy.active_id() == better and store_copy.has_run(kept)

    chosen = stopped_job(store_copy)
    done = cli("training", "runs", "--keep", chosen, "--activate", chosen, "--models", str(store_copy.root))
    assert done.returncode == 0 and "It was made active, as asked." in done.stdout, done.stderr
    assert store_copy.active_id() == chosen


def test_dismissed_news_is_dismissed_for_every_reader_and_a_stopped_job_cannot_be(store_copy):
    from training.runs.store import StoreError

    jobs = JobStore(store_copy)
    kept = stopped_job(store_copy)
    with pytest.raises(StoreError, match="keep or discard it first"):
        jobs.dismiss(kept)
    jobs.keep(kept)
    assert not jobs.view(kept).dismissed
    jobs.dismiss(kept)
    assert JobStore(ModelStore(store_copy.root)).view(kept).dismissed  # any other reader sees it
    assert store_copy.has_run(kept)

    failed = jobs.create(CONFIG)
    append_event(jobs.folder(failed.job_id) / EVENTS_FILE, "failed", error="out of memory")
    jobs.dismiss(failed.job_id)  # nothing left to see: the job goes
    assert failed.job_id not in [view.job_id for view in jobs.views()]

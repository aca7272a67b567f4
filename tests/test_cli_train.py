"""`python -m training train`: one-line errors before any data is loaded, a saved run on success."""

from __future__ import annotations

import subprocess

import pytest

from tests.kit.cli import cli


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return cli("training", *args, env=env)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "epochs"),
        (["--epochs", "-2"], "epochs"),
        (["--arch", "transformer"], "invalid choice"),
        (["--learning-rate", "0"], "learning rate"),
        (["--learning-rate", "-0.1"], "learning rate"),
        (["--batch-size", "zero"], "invalid int"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2_before_loading_data(tmp_path, args, message):
    # An empty cache folder and no network: had it tried to load data, it would say so.
    done = run_cli("train", *args, env={"MNIST_STUDIO_CACHE": str(tmp_path / "empty-cache")})
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "empty-cache").exists()


@pytest.mark.slow
def test_train_saves_a_run_and_reports_test_accuracy(tmp_path):
    models = tmp_path / "models"
    done = run_cli("train", "--arch", "mlp", "--epochs", "1", "--limit", "3000",
                   "--models", str(models))
    assert done.returncode == 0, done.stderr
    assert "Epoch 1:" in done.stderr and "val_accuracy" in done.stderr
    assert "Test accuracy:" in done.stdout
    from training.runs.store import ModelStore

    runs = ModelStore(models).runs()
    assert len(runs) == 1 and runs[0].record.config.architecture == "mlp"
    assert ModelStore(models).active_id() == runs[0].run_id
    assert f"{runs[0].record.test_accuracy:.2%}" in done.stdout


def test_runs_lists_the_store_marks_the_active_run_and_names_damaged_files(store_copy):
    run = store_copy.active()
    done = run_cli("runs", "--models", str(store_copy.root))
    assert done.returncode == 0
    assert done.stdout.strip() == f"* {run.summary()}"

    (run.path / "record.json").write_text("{garbage")
    done = run_cli("runs", "--models", str(store_copy.root))
    assert done.returncode == 0 and "No saved runs" in done.stdout
    assert "record.json" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_runs_lists_a_running_training_stop_stops_it_and_discard_forgets_it(tmp_path):
    import os
    import sys
    import time

    from tests.kit.cli import ROOT
    from training.jobs.store import JobStore
    from training.runs.store import ModelStore

    models = tmp_path / "models"
    trainer = subprocess.Popen([sys.executable, "-m", "training", "train", "--arch", "mlp", "--epochs", "300",
                                "--limit", "3000", "--models", str(models)], cwd=ROOT, text=True,
                               env=dict(os.environ),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not any(view.progress for view in JobStore(ModelStore(models)).running()):
            assert time.monotonic() < deadline and trainer.poll() is None, "training never started"
            time.sleep(0.5)  # polling the job's event log
        listed = run_cli("runs", "--models", str(models))
        running = [line for line in listed.stdout.splitlines() if line.startswith("~")]
        (job_id,) = [line.split()[1].rstrip(":") for line in running]
        assert "training (epoch" in listed.stdout

        assert run_cli("stop", job_id, "--models", str(models)).returncode == 0
        out, err = trainer.communicate(timeout=120)
    finally:
        trainer.kill()
    assert trainer.returncode == 130 and "Stopped in epoch" in out and "Traceback" not in err
    listed = run_cli("runs", "--models", str(models))
    assert f"? {job_id}: Stopped in epoch" in listed.stdout and "No saved runs" in listed.stdout
    assert run_cli("stop", job_id, "--models", str(models)).returncode == 1  # not running any more
    assert run_cli("runs", "--discard", job_id, "--models", str(models)).returncode == 0
    assert ModelStore(models).runs() == [] and "?" not in run_cli("runs", "--models", str(models)).stdout
    # A mistyped id, or one already discarded: one line that says so, never a traceback.
    for option, job in (("--discard", "nope"), ("--keep", "nope"), ("--discard", job_id)):
        done = run_cli("runs", option, job, "--models", str(models))
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert "no training named nope" in run_cli("runs", "--keep", "nope", "--models", str(models)).stderr


@pytest.mark.slow
def test_a_run_carries_its_name_tensorboard_scalars_and_doubt_rule(tmp_path):
    models = tmp_path / "models"
    done = run_cli("train", "--arch", "mlp", "--epochs", "2", "--limit", "2000", "--name", "thin pen",
                   "--models", str(models))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "cuInit" not in done.stderr  # TensorFlow's chatter is off
    from training.runs.store import ModelStore

    (run,) = ModelStore(models).runs()
    assert run.record.name == "thin pen" and "“thin pen”" in run.summary()
    assert list((run.path / "tensorboard").glob("events.out.tfevents.*"))
    assert (run.path / "doubt.npz").is_file()  # fitted with the run: the Draw page need not wait
    assert (run.path / "neighbours.npz").is_file()  # so is "It looks like these"'s index

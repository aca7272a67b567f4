"""`python -m training train`: one-line errors before any data is loaded, a saved run on success."""

from __future__ import annotations

import subprocess

import pytest
from cli_support import cli


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
    from training.store import ModelStore

    runs = ModelStore(models).runs()
    assert len(runs) == 1 and runs[0].architecture == "mlp"
    assert ModelStore(models).active_id() == runs[0].run_id
    assert f"{runs[0].test_accuracy:.2%}" in done.stdout


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

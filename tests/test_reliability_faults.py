"""Issue 6's guarantees under faults: a training killed mid-epoch; damaged runs and data files
reported in one sentence, never a traceback.

Each test names the guarantee it holds; RELIABILITY.md maps every guarantee to its tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.kit.apptest import app, texts
from tests.kit.cli import ROOT, cli, one_line
from training.runs.store import ModelStore

pytestmark = pytest.mark.reliability


# --- 1. A training killed mid-epoch leaves the store as it was -------------------------------------


@pytest.mark.slow
def test_training_killed_mid_epoch_leaves_the_store_as_it_was(store_copy):
    runs_before, active_before = [run.run_id for run in store_copy.runs()], store_copy.active_id()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen(
        [sys.executable, "-m", "training", "train", "--arch", "mlp", "--epochs", "50", "--limit", "20000",
         "--models", str(store_copy.root)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(300, child.kill)  # never hang the suite on a stuck child
    watchdog.start()
    try:
        seen = []
        for line in child.stderr:
            seen.append(line)
            if line.startswith("Epoch 1:"):  # epoch 1 is over: the child is inside epoch 2
                break
        assert child.poll() is None, "".join(seen)[-2000:]
        time.sleep(0.5)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        watchdog.cancel()
        child.kill()
        child.stderr.close()

    runs, problems = store_copy.scan()
    assert problems == [] and [run.run_id for run in runs] == runs_before
    assert store_copy.active_id() == active_before
    assert sorted(path.name for path in (store_copy.root / "runs").iterdir()) == sorted(runs_before)
    from training.reading.for_run import load_predictor

    probabilities = load_predictor(store_copy).probabilities(np.zeros((28, 28), np.float32))
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0)

    done = cli("training", "train", "--arch", "mlp", "--epochs", "1", "--limit", "2000",
               "--models", str(store_copy.root))
    assert done.returncode == 0, done.stderr[-2000:]
    runs_after, problems = store_copy.scan()
    assert problems == [] and len(runs_after) == len(runs_before) + 1
    assert store_copy.active_id() not in runs_before


# --- 2. Damaged files: one sentence naming the file, never a traceback ----------------------------


def damage(store: ModelStore, how: str) -> str:
    """Damage the store's only run; returns the name of the file a message must mention."""
    run = store.active()
    if how == "truncated model":
        run.model_path.write_bytes(run.model_path.read_bytes()[:1000])
        return "model.keras"
    if how == "truncated model, no checksum":  # gets past the listing, fails when loaded
        record = json.loads((run.path / "record.json").read_text())
        record.pop("model_sha256")
        (run.path / "record.json").write_text(json.dumps(record))
        with zipfile.ZipFile(run.model_path, "w") as archive:
            archive.writestr("config.json", "{half a model")
        return "model.keras"
    if how == "garbage record":
        (run.path / "record.json").write_bytes(b"\x00\xff garbage {")
        return "record.json"
    if how == "missing model":
        run.model_path.unlink()
        return "model.keras"
    raise ValueError(how)


DAMAGES = ["truncated model", "garbage record", "missing model"]


@pytest.mark.slow
@pytest.mark.parametrize("how", DAMAGES)
def test_cli_runs_names_a_damaged_file_in_one_line(store_copy, how):
    named = damage(store_copy, how)
    done = cli("training", "runs", "--models", str(store_copy.root))
    assert done.returncode == 0
    line = one_line(done.stderr)
    assert named in line and line.startswith("warning:")


@pytest.mark.slow
@pytest.mark.parametrize("how", [*DAMAGES, "truncated model, no checksum"])
def test_cli_predict_with_a_damaged_run_is_one_line(store_copy, tmp_path, how):
    run_id = store_copy.active_id()
    named = damage(store_copy, how)
    image = tmp_path / "one.png"
    one = np.zeros((28, 28), np.uint8)
    one[4:24, 13:15] = 255  # any readable digit: the damaged model is what must be reported
    Image.fromarray(one).save(image)
    done = cli("training", "predict", "--model", run_id, "--models", str(store_copy.root), str(image))
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("error:") and named in line


@pytest.mark.slow
@pytest.mark.parametrize("how", [*DAMAGES, "truncated model, no checksum"])
def test_cli_web_export_with_a_damaged_run_is_one_line(store_copy, tmp_path, how):
    run_id = store_copy.active_id()
    named = damage(store_copy, how)
    done = cli("web_export", "--model", run_id, "--models", str(store_copy.root),
               "--out", str(tmp_path / "site.zip"))
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("error:") and named in line
    assert not (tmp_path / "site.zip").exists()


@pytest.mark.slow
def test_cli_train_refetches_a_truncated_mnist_cache_and_says_so_in_one_line(tmp_path):
    from training.data.mnist import CACHE_FILE, cache_dir

    good = cache_dir() / CACHE_FILE
    if not good.is_file():
        pytest.skip("no MNIST in the user cache (the `mnist` fixture fetches it)")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_FILE).write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    done = cli("training", "train", "--arch", "mlp", "--epochs", "1", "--limit", "1000", "--data", str(good),
               "--models", str(tmp_path / "store"), env={"MNIST_STUDIO_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr[-2000:]
    damaged = [line for line in done.stderr.splitlines() if "damaged" in line]
    assert len(damaged) == 1 and str(cache / CACHE_FILE) in damaged[0] and "fetching it again" in damaged[0]
    assert "Traceback" not in done.stderr
    assert (cache / CACHE_FILE).read_bytes() == good.read_bytes() or zipfile.is_zipfile(cache / CACHE_FILE)
    assert len(ModelStore(tmp_path / "store").runs()) == 1


@pytest.mark.parametrize("how", DAMAGES)
def test_train_page_warns_in_one_line_naming_the_damaged_file(monkeypatch, store_copy, how):
    named = damage(store_copy, how)
    at = app(monkeypatch, store_copy.root).run()
    assert not at.exception
    assert len(at.warning) == 1
    warning = at.warning[0].value
    assert named in warning and "\n" not in warning


@pytest.mark.parametrize("how", [*DAMAGES, "truncated model, no checksum"])
def test_draw_page_says_what_is_wrong_with_the_active_run(monkeypatch, store_copy, how):
    named = damage(store_copy, how)
    at = app(monkeypatch, store_copy.root).run()
    at.switch_page("views/draw.py").run()
    assert not at.exception
    assert len(at.error) == 1
    error = at.error[0].value
    assert named in error and "\n" not in error
    assert "There is no trained model yet" not in texts(at)

"""Fine-tuning on the user's digits: it learns their hand, never trains on the held-out ones, and says so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.kit.cli import cli, one_line
from training.runs.user_digit_records import NewDigit
from training.runs.user_digits import UserDigitStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def user_style():
    from tests.kit.user_style_digits import make_user_style_digits

    return make_user_style_digits(10, seed=0)


@pytest.fixture(scope="module")
def more_user_style():
    """Twice as many: 40 held out, so that learning the hand is more than one digit's luck."""
    from tests.kit.user_style_digits import make_user_style_digits

    return make_user_style_digits(20, seed=0)


def filled(path, user_style) -> UserDigitStore:
    digits = UserDigitStore(path)
    digits.add_many([NewDigit(image, int(label)) for image, label in zip(*user_style, strict=True)])
    return digits


def test_a_fine_tuned_run_learns_the_hand_and_records_what_it_used(store_copy, tmp_path, mnist,
                                                                  more_user_style):
    from training.core.config import FineTuneSettings
    from training.learn.finetune import finetune, save_finetuned
    from training.reading.for_run import load_predictor

    digits = filled(tmp_path / "user_digits.sqlite3", more_user_style)
    base = store_copy.active_id()
    outcome = finetune(store_copy, digits, data=mnist, settings=FineTuneSettings(epochs=3))
    run = save_finetuned(store_copy, outcome)

    assert store_copy.active_id() == run.run_id != base
    finetuned = run.record.finetune
    held_out = {d.digit_id for d in digits.digits() if d.held_out}
    assert len(held_out) == 40 and set(finetuned["held_out_ids"]) == held_out
    assert set(finetuned["user_digit_ids"]) == {d.digit_id for d in digits.digits()} - held_out
    assert finetuned["base_run_id"] == base
    before, after = finetuned["before"], finetuned["after"]
    # It learns the hand: at least 2 more of the 40 held-out digits read right (31 → 34 from this
    # quickly trained base; the bench measures the default model on its own hand).
    read_right = {when: round(numbers["user_held_out_accuracy"] * 40) for when, numbers in
                  (("before", before), ("after", after))}
    assert read_right["after"] >= read_right["before"] + 2
    assert after["mnist_test_accuracy"] > 0.9
    assert run.record.test_accuracy == after["mnist_test_accuracy"]
    assert json.loads((run.path / "record.json").read_text())["finetune"] == finetuned

    # The saved run is a model like any other: the held-out digits read as the record says.
    predictor = load_predictor(store_copy, run.run_id)
    x_held, y_held, _ = digits.arrays(held_out=True)
    accuracy = float((predictor.probabilities_batch(x_held).argmax(1) == y_held).mean())
    assert accuracy == pytest.approx(after["user_held_out_accuracy"])


def test_cli_finetune_prints_before_and_after_then_saves_and_activates(store_copy, tmp_path, user_style):
    database = tmp_path / "user_digits.sqlite3"
    base = store_copy.active_id()
    arguments = ["training", "user-digits", "--db", str(database), "--models", str(store_copy.root),
                 "finetune", "--epochs", "2"]
    empty = cli(*arguments)
    assert empty.returncode == 1 and "no saved digits" in one_line(empty.stderr)

    filled(database, user_style)
    result = cli(*arguments, env={"TF_CPP_MIN_LOG_LEVEL": "0"})  # TensorFlow's logging as a user has it
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    # Before the wait: what the result will be measured on.
    assert lines[0] == "It will be measured on your 20 held-out digits, never trained on."
    assert lines[1].startswith("Accuracy before → after")
    assert "your held-out digits (20):" in lines[2] and "→" in lines[2]
    assert "MNIST test" in lines[3] and "→" in lines[3]
    assert "Fine-tuned on 80 of your digits" in lines[4] and "(active)" in lines[4]
    assert store_copy.active_id() != base
    assert "Traceback" not in result.stderr
    assert "cuInit" not in result.stderr  # TensorFlow's "CUDA error" on a machine without a GPU alarms


def test_the_train_page_shows_a_fine_tuned_runs_numbers_before_and_after(monkeypatch, store_copy, tmp_path,
                                                                         user_style):
    from tests.kit.apptest import app, texts

    database = tmp_path / "user_digits.sqlite3"
    filled(database, user_style)
    done = cli("training", "user-digits", "--db", str(database), "--models", str(store_copy.root),
               "finetune", "--epochs", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    finetune = store_copy.active().record.finetune
    at = app(monkeypatch, store_copy.root).run()  # the new, active run's results are shown
    assert not at.exception
    assert f"from `{finetune['base_run_id']}`" in texts(at)
    table = at.table[0].value
    assert list(table.columns) == ["before", "after"]
    assert table.loc["MNIST test (10,000)", "after"] == f"{finetune['after']['mnist_test_accuracy']:.2%}"
    held = f"your held-out digits ({len(finetune['held_out_ids'])})"
    assert table.loc[held, "before"] == f"{finetune['before']['user_held_out_accuracy']:.2%}"


def test_cli_finetune_without_a_model_is_one_line(tmp_path, user_style):
    database = tmp_path / "user_digits.sqlite3"
    filled(database, user_style)
    result = cli("training", "user-digits", "--db", str(database), "--models", str(tmp_path / "empty"),
                 "finetune")
    assert result.returncode == 1 and "No trained model yet" in one_line(result.stderr)
    assert np.array_equal(UserDigitStore(database).arrays()[1], user_style[1])


def test_fine_tune_from_my_digits_page_runs_as_a_job_and_shows_before_and_after(monkeypatch, store_copy,
                                                                                 tmp_path, user_style):
    import time

    from tests.kit.apptest import app

    database = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(database))
    filled(database, user_style)
    base = store_copy.active_id()
    at = app(monkeypatch, store_copy.root).run()
    at.switch_page("views/my_digits.py").run()
    at.button(key="my_digits_finetune").click().run()
    assert not at.exception and not at.error
    deadline = time.monotonic() + 600
    while not at.success and time.monotonic() < deadline:
        time.sleep(2)
        at.run()
        assert not at.exception and not at.error
    message = at.success[0].value
    assert "your held-out digits (20):" in message and "MNIST test" in message and "→" in message
    assert store_copy.active_id() != base
    assert store_copy.get(store_copy.active_id()).record.finetune["base_run_id"] == base


@pytest.mark.slow
def test_a_full_training_from_the_sidebar_can_include_the_users_digits(monkeypatch, tmp_path, user_style,
                                                                        mnist):
    from tests.kit.apptest import app, texts
    from tests.kit.runs import wait_for_job
    from training.runs.store import ModelStore

    database = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(database))
    at = app(monkeypatch, tmp_path / "store", train_limit=1000).run()
    assert "sidebar_user_digits" not in [toggle.key for toggle in at.toggle]  # nothing saved yet
    filled(database, user_style)
    at.run()
    at.toggle(key="sidebar_user_digits").set_value(True).run()
    at.number_input(key="sidebar_user_weight").set_value(3).run()
    at.number_input(key="sidebar_epochs").set_value(1).run()
    at.button(key="sidebar_train").click().run()
    assert not at.exception
    (job_id,) = at.session_state["train_my_jobs"]
    assert wait_for_job(tmp_path / "store", job_id).phase == "finished"
    at.run()
    report = ModelStore(tmp_path / "store").get(job_id).record.user_digits
    assert report["weight"] == 3 and report["trained"] == 80 and report["held_out"] == 20
    assert 0 <= report["held_out_accuracy"] <= 1
    assert "Trained with 80 of your digits (each counted 3×); on your 20 held-out digits" in texts(at)

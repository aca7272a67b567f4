"""The Train page through Streamlit's AppTest: the sidebar's defaults, the saved runs, trainings
started from the sidebar, stopped runs, renaming and deleting, and the active model menu."""

from __future__ import annotations

import json

import pytest

from tests.kit.apptest import app, texts
from tests.kit.runs import wait_for_job


def test_train_page_with_an_empty_store_offers_one_click_training(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path / "empty").run()
    assert not at.exception
    assert "No trained model yet" in texts(at)
    assert at.button(key="train_first_run").label == "Train the default model"
    # The sidebar starts at the default architecture's defaults.
    from training.core.config import ARCHITECTURE_DEFAULTS

    assert at.selectbox(key="sidebar_architecture").value == "cnn"
    assert at.number_input(key="sidebar_epochs").value == ARCHITECTURE_DEFAULTS["cnn"]["epochs"]
    assert at.select_slider(key="sidebar_batch_size").value == ARCHITECTURE_DEFAULTS["cnn"]["batch_size"]
    assert at.toggle(key="sidebar_augment").value == ARCHITECTURE_DEFAULTS["cnn"]["augment"]


def test_sidebar_switches_to_the_seed_model_defaults(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path / "empty").run()
    from training.core.config import ARCHITECTURE_DEFAULTS

    at.selectbox(key="sidebar_architecture").set_value("mlp").run()
    assert not at.exception
    assert at.number_input(key="sidebar_epochs").value == ARCHITECTURE_DEFAULTS["mlp"]["epochs"]
    assert at.select_slider(key="sidebar_batch_size").value == ARCHITECTURE_DEFAULTS["mlp"]["batch_size"]
    assert at.number_input(key="sidebar_epochs").min == 1


def test_the_learning_rate_follows_the_epochs_until_the_user_picks_one(monkeypatch, tmp_path):
    """A 2-epoch run trains best at a higher rate: the sidebar offers it, and keeps a rate the user chose."""
    from training.core.config import TrainConfig

    at = app(monkeypatch, tmp_path / "empty").run()
    default_rate = at.select_slider(key="sidebar_learning_rate").value
    at.number_input(key="sidebar_epochs").set_value(2).run()
    short_rate = TrainConfig.for_architecture("cnn", epochs=2).learning_rate
    assert short_rate != default_rate and at.select_slider(key="sidebar_learning_rate").value == short_rate
    at.number_input(key="sidebar_epochs").set_value(7).run()
    assert at.select_slider(key="sidebar_learning_rate").value == default_rate
    at.select_slider(key="sidebar_learning_rate").set_value(1e-3).run()
    at.number_input(key="sidebar_epochs").set_value(2).run()
    assert at.select_slider(key="sidebar_learning_rate").value == 1e-3
    assert not at.exception


def test_train_page_lists_the_saved_runs_and_shows_the_active_one(monkeypatch, trained_store):
    at = app(monkeypatch, trained_store.root).run()
    assert not at.exception
    run = trained_store.active()
    table = at.dataframe[0].value
    assert list(table["id"]) == [run.run_id]
    assert table["architecture"].tolist() == ["cnn"]
    assert table["test accuracy"].iloc[0] == pytest.approx(run.record.test_accuracy * 100)  # shown "99.62%"
    assert at.selectbox(key=f"train_active_run_{run.run_id}").value == run.run_id
    assert f"Test accuracy: {run.record.test_accuracy:.2%}" in texts(at)
    assert "Test digits it got wrong" in texts(at)
    assert "No trained model yet" not in texts(at)


def test_train_page_reports_a_damaged_run_in_one_line(monkeypatch, store_copy):
    damaged = store_copy.root / "runs" / "20200101-000000-cnn-badbad"
    damaged.mkdir(parents=True)
    (damaged / "record.json").write_text("{not json")
    at = app(monkeypatch, store_copy.root).run()
    assert not at.exception
    assert len(at.warning) == 1 and "20200101-000000-cnn-badbad" in at.warning[0].value
    assert len(at.dataframe[0].value) == 1


@pytest.mark.slow
def test_news_of_a_run_kept_inactive_says_so_once_and_goes_when_the_run_is_deleted(monkeypatch, store_copy):
    at = app(monkeypatch, store_copy.root, train_limit=1000).run()
    at.number_input(key="sidebar_epochs").set_value(1)
    at.toggle(key="sidebar_activate").set_value(False)
    at.button(key="sidebar_train").click().run()
    (job_id,) = at.session_state["train_my_jobs"]
    assert wait_for_job(store_copy.root, job_id).phase == "finished"
    at.run()
    (news,) = [text for text in texts(at).splitlines() if f"Run {job_id} finished" in text]
    assert news.endswith("The active model was left as it was, as asked.") and news.count(job_id) == 1

    store_copy.delete(job_id)  # from "Rename or delete a run", or another tab
    at.run()
    assert not at.exception
    assert f"Run {job_id} finished" not in texts(at)  # no news that it "was saved"


@pytest.mark.slow
def test_training_from_the_sidebar_saves_an_active_run(monkeypatch, tmp_path, mnist):
    at = app(monkeypatch, tmp_path / "store", train_limit=1000).run()
    at.number_input(key="sidebar_epochs").set_value(1)
    at.button(key="sidebar_train").click().run()
    assert not at.exception
    assert at.button(key="sidebar_train").disabled  # at once: a second click cannot start another
    (job_id,) = at.session_state["train_my_jobs"]
    assert wait_for_job(tmp_path / "store", job_id).phase == "finished"
    at.run()
    assert not at.exception
    assert f"Run {job_id} finished: test accuracy" in texts(at) and "It was made active." in texts(at)
    from training.runs.store import ModelStore

    runs = ModelStore(tmp_path / "store").runs()
    assert len(runs) == 1 and runs[0].record.config.train_limit == 1000
    assert len(runs[0].record.history) == 1
    assert at.dataframe[0].value["id"].tolist() == [runs[0].run_id]


@pytest.mark.slow
def test_a_stopped_run_can_be_kept(monkeypatch, tmp_path, mnist):
    at = app(monkeypatch, tmp_path / "store", train_limit=1000).run()
    at.number_input(key="sidebar_epochs").set_value(30)
    at.button(key="sidebar_train").click().run()
    (job_id,) = at.session_state["train_my_jobs"]
    from training.jobs.store import JobStore
    from training.runs.store import ModelStore

    JobStore(ModelStore(tmp_path / "store")).request_stop(job_id)
    assert wait_for_job(tmp_path / "store", job_id).phase == "stopped"
    at.run()
    assert not at.exception
    assert "Keep it?" in texts(at) and "Stopped in epoch" in texts(at)
    at.button(key=f"train_keep_{job_id}").click().run()
    assert not at.exception
    assert "Kept the partial model as" in texts(at) and "Stopped in epoch" not in texts(at)
    runs = at.dataframe[0].value
    assert len(runs) == 1 and bool(runs["stopped early"].iloc[0])


def test_a_run_is_renamed_and_deleted_only_after_confirming_never_while_active(monkeypatch, store_copy):
    import shutil

    active = store_copy.active()
    other = store_copy.root / "runs" / "20200101-000000-cnn-000000"
    shutil.copytree(active.path, other)
    record = json.loads((other / "record.json").read_text())
    (other / "record.json").write_text(json.dumps({**record, "run_id": other.name,
                                                   "created_at": "2020-01-01T00:00:00+00:00"}))
    at = app(monkeypatch, store_copy.root).run()
    assert at.button(key="train_admin_delete").disabled  # the active run is selected first
    assert "make another run active before deleting it" in texts(at)

    at.selectbox(key="train_admin_run").set_value(other.name).run()
    at.text_input(key=f"train_admin_name_{other.name}").set_value("old one").run()
    at.button(key="train_admin_rename").click().run()
    assert store_copy.get(other.name).record.name == "old one"
    table = at.dataframe[0].value  # the saved runs table says which run has which name
    assert table.set_index("id")["name"][other.name] == "old one"

    at.button(key="train_admin_delete").click().run()
    assert "Delete" in texts(at) and other.exists()  # asked, not done
    at.button(key="train_admin_cancel").click().run()
    assert other.exists()
    at.button(key="train_admin_delete").click().run()
    at.button(key="train_admin_confirm").click().run()
    assert not at.exception
    assert not other.exists() and [run.run_id for run in store_copy.runs()] == [active.run_id]


def test_the_active_model_menu_chooses_and_follows_a_change_made_elsewhere(monkeypatch, store_copy, tmp_path):
    """Choosing in the menu makes the run active (a person's choice); a training that activates
    another run meanwhile gets a fresh menu showing it, and the old menu's value cannot undo it."""
    import shutil

    first = store_copy.active_id()
    second = "20990101-000000-cnn-second"
    shutil.copytree(store_copy.get(first).path, store_copy.root / "runs" / second)
    at = app(monkeypatch, store_copy.root).run()
    at.selectbox(key=f"train_active_run_{first}").set_value(second).run()
    assert not at.exception
    assert store_copy.active_id() == second and store_copy.user_choice_time() is not None

    store_copy.set_active(first, by="training")  # a training finished in another tab
    at.run()
    assert not at.exception
    assert at.selectbox(key=f"train_active_run_{first}").value == first
    assert store_copy.active_id() == first  # the page's own run did not put its old value back

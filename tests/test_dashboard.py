"""The dashboard's pages through Streamlit's AppTest, and its chart builders on their own."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.kit.apptest import app, texts
from tests.kit.runs import wait_for_job

# --- Charts and formatting, without Streamlit -------------------------------------------------


def test_probability_chart_has_ten_ordinal_digits_with_the_top_one_highlighted():
    from dashboard.charts import probability_chart

    probabilities = np.full(10, 0.02)
    probabilities[7] = 0.82
    spec = probability_chart(probabilities).to_dict()
    assert spec["encoding"]["x"]["type"] == "ordinal"
    assert spec["encoding"]["x"]["sort"] == [str(d) for d in range(10)]
    rows = next(iter(spec["datasets"].values()))
    assert [row["digit"] for row in rows] == [str(d) for d in range(10)]
    assert [row["marked"] for row in rows] == [d == 7 for d in range(10)]
    assert "title" not in spec


def test_probability_chart_follows_a_doubting_answer():
    """Not sure: the two likeliest in a paler colour; not a digit: no bar highlighted, titled a guess."""
    from dashboard.charts import GUESS, HIGHLIGHT, probability_chart

    probabilities = np.full(10, 0.01)
    probabilities[[4, 6]] = [0.6, 0.32]
    unsure = probability_chart(probabilities, emphasis="unsure").to_dict()
    rows = next(iter(unsure["datasets"].values()))
    assert [row["marked"] for row in rows] == [d in (4, 6) for d in range(10)]
    assert unsure["encoding"]["color"]["condition"]["value"] == GUESS != HIGHLIGHT
    guess = probability_chart(probabilities, emphasis="guess").to_dict()
    assert not any(row["marked"] for row in next(iter(guess["datasets"].values())))
    assert guess["title"]["text"] == "Only a guess: the drawing does not look like a digit"
    with pytest.raises(ValueError, match="emphasis"):
        probability_chart(probabilities, emphasis="sure")


def test_probability_chart_rejects_the_wrong_length():
    from dashboard.charts import probability_chart

    with pytest.raises(ValueError, match="10 probabilities"):
        probability_chart([0.5, 0.5])


def test_curve_chart_grows_with_the_epochs():
    from dashboard.charts import curve_chart, history_frame

    history = [{"epoch": e, "accuracy": 0.8 + e / 100, "val_accuracy": 0.79 + e / 100,
                "loss": 1 / e, "val_loss": 1.1 / e} for e in (1, 2, 3)]
    frame = history_frame(history, ["accuracy", "val_accuracy"])
    assert sorted(frame["epoch"].unique()) == [1, 2, 3]
    assert set(frame["curve"]) == {"training", "validation"}
    spec = curve_chart(history, "loss", epochs=12).to_dict()
    assert spec["encoding"]["x"]["field"] == "epoch"
    assert spec["encoding"]["x"]["scale"]["domain"] == [0.5, 12.5]
    with pytest.raises(ValueError):
        curve_chart(history, "lr")


def test_confusion_chart_writes_every_count():
    from dashboard.charts import confusion_chart

    matrix = np.diag(np.arange(10, 20)).tolist()
    matrix[3][5] = 4
    spec = confusion_chart(matrix).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 100
    assert {"true": 3, "predicted": 5, "count": 4, "correct": False} in rows
    with pytest.raises(ValueError):
        confusion_chart([[1, 2], [3, 4]])


def test_formatters_and_upscale():
    from dashboard.display import format_bytes, format_duration, upscale

    assert format_duration(None) == "…"
    assert format_duration(42.4) == "42 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_bytes(812) == "812 B"
    assert format_bytes(1_234_567) == "1.2 MB"
    image = np.zeros((28, 28), dtype=np.float32)
    image[3, 4] = 1.0
    big = upscale(image, 5)
    assert big.shape == (140, 140) and big.dtype == np.uint8
    assert big[15:20, 20:25].min() == 255 and big.sum() == 255 * 25


def test_every_digit_gets_its_article():
    from dashboard.labelling import a_digit

    assert [a_digit(d) for d in range(10)] == ["a 0", "a 1", "a 2", "a 3", "a 4", "a 5", "a 6", "a 7",
                                               "an 8", "a 9"]


@pytest.mark.parametrize("limit", [None, 2_000, 5_000, 10_000, 100_000])
def test_the_training_images_offered_are_those_a_training_really_uses(monkeypatch, limit):
    """Each "Training images" choice names the count `with_limits` trains on (no "All 55,000" while
    $MNIST_STUDIO_TRAIN_LIMIT=10000 trains on 10,000), and a smaller choice is kept, not raised."""
    from dashboard.common import TRAIN_LIMIT_ENV, with_limits
    from dashboard.sidebar import training_image_choices
    from training.core.config import TrainConfig

    if limit is None:
        monkeypatch.delenv(TRAIN_LIMIT_ENV, raising=False)
    else:
        monkeypatch.setenv(TRAIN_LIMIT_ENV, str(limit))
    for choice, label in training_image_choices(limit).items():
        used = with_limits(TrainConfig(train_limit=choice)).train_limit or 55_000
        assert f"{used:,}" in label, (limit, choice, label)


def test_the_server_writes_the_apps_root_into_its_pages_only():
    from dashboard.server import is_page_address, with_root_script

    assert all(is_page_address(path, "") for path in ("/", "/draw", "/my_digits", "/draw/"))
    assert not any(is_page_address(path, "") for path in (
        "/_stcore/health", "/draw/_stcore/health", "/static/js/index.js", "/component/canvas/index.html"))
    assert is_page_address("/studio/draw", "studio") and is_page_address("/studio", "/studio/")
    assert not is_page_address("/draw", "studio") and not is_page_address("/studio/static/x.js", "studio")
    html = with_root_script(b"<head><title>t</title><script src='a.js'></script></head>", "studio")
    assert html.startswith(b"<head><title>t</title><script>window.__streamlit = {BACKEND_BASE_URL: ")
    assert b'new URL("/studio", location.href).href};</script><script src=\'a.js\'>' in html
    assert with_root_script(b"<p>no script</p>", "") == b"<p>no script</p>"


# --- Pages --------------------------------------------------------------------------------------


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


def test_draw_page_without_a_model_points_to_the_train_page(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path / "empty").run()
    at.switch_page("views/draw.py").run()
    assert not at.exception
    assert "There is no trained model yet" in texts(at)


def test_draw_page_before_drawing_shows_the_hint(monkeypatch, trained_store):
    pytest.importorskip("training.reading.predictor")
    at = app(monkeypatch, trained_store.root).run()
    at.switch_page("views/draw.py").run()
    assert not at.exception
    assert any("Draw a digit" in info.value for info in at.info)
    assert at.slider(key="draw_stroke_width").value == 20
    assert not at.get("vega_lite_chart")


def test_draw_page_classifies_an_uploaded_digit_and_rejects_a_bad_file(monkeypatch, trained_store, mnist):
    pytest.importorskip("training.reading.predictor")
    from PIL import Image

    # A test digit as a "scan": dark ink on white paper, larger than 28×28.
    digit = Image.fromarray(255 - mnist.x_test[0]).resize((112, 112))
    buffer = io.BytesIO()
    digit.save(buffer, format="PNG")
    at = app(monkeypatch, trained_store.root).run()
    at.switch_page("views/draw.py").run()
    at.file_uploader(key="draw_upload").upload("seven.png", buffer.getvalue(), "image/png").run()
    assert not at.exception
    assert "Predicted digit:" in texts(at)
    assert at.get("vega_lite_chart")

    at.file_uploader(key="draw_upload").upload("notes.png", b"not an image", "image/png").run()
    assert not at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value


def test_export_page_offers_the_zip_with_its_size(monkeypatch, trained_store):
    pytest.importorskip("web_export")
    at = app(monkeypatch, trained_store.root).run()
    at.switch_page("views/export.py").run()
    assert not at.exception
    button = at.download_button(key="export_download")
    assert button.label.startswith("Download the web page (")
    assert "Zip size:" in texts(at)
    # float16 by default: half the download, and the page reads as with float32 weights.
    assert at.selectbox(key="export_quantize").value == "float16"


def test_export_page_without_a_model_says_so(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path / "empty").run()
    at.switch_page("views/export.py").run()
    assert not at.exception
    assert not at.download_button
    assert "no trained model" in texts(at)


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


def test_the_server_does_not_collect_all_garbage_after_every_script_run(monkeypatch, tmp_path):
    """With TensorFlow loaded a full collection holds the GIL ~0.2 s; a Draw stroke is up to three
    runs, so leaving it on made every stroke cost the server about a second (BENCHMARKS.md)."""
    import tomllib
    from pathlib import Path

    from streamlit import config as streamlit_config

    at = app(monkeypatch, tmp_path / "models").run()
    assert not at.exception
    assert streamlit_config.get_option("runner.postScriptGC") is False
    config = tomllib.loads((Path(__file__).parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


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

"""The Draw and Export pages through Streamlit's AppTest, with and without a model, and the server
setting every page's script run relies on (no full garbage collection after each)."""

from __future__ import annotations

import io

import pytest

from tests.kit.apptest import app, texts


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

"""The dashboard's chart builders, formatters and helpers on their own, without Streamlit.

The pages through Streamlit's AppTest are in test_dashboard_train_page.py (the Train page and its
sidebar) and test_dashboard_pages.py (the Draw and Export pages, the server's settings).
"""

from __future__ import annotations

import numpy as np
import pytest


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

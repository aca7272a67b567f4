"""Train page insights: per-digit accuracy, confused pairs, first-layer filters and the run comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.kit.apptest import app, texts
from tests.kit.runs import second_run


def test_per_digit_accuracy_and_confused_pairs_read_the_confusion_matrix():
    from dashboard.charts import per_digit_accuracy, per_digit_chart
    from dashboard.run_insights import confused_pairs, pair_examples

    matrix = np.diag([100] * 10)
    matrix[4, 9], matrix[4, 4] = 20, 80  # fours read as nines
    matrix[7, 1], matrix[7, 7] = 5, 95
    matrix[3] = 0  # no threes in this test set
    accuracy = per_digit_accuracy(matrix)
    assert accuracy[4] == pytest.approx(0.8) and accuracy[7] == pytest.approx(0.95) and accuracy[0] == 1
    assert np.isnan(accuracy[3])
    assert confused_pairs(matrix) == [(4, 9, 20), (7, 1, 5)]
    mistakes = [(11, 4, 9, 0.9), (12, 7, 1, 0.8), (13, 4, 9, 0.6)]
    assert [m[0] for m in pair_examples(mistakes, 4, 9)] == [11, 13]
    bars = per_digit_chart({"run": accuracy}).to_dict()
    # The digit without test images has no bar.
    assert len(bars["datasets"][next(iter(bars["datasets"]))]) == 9
    # The worst digit (4, at 80%) still shows a bar: the axis starts below it.
    assert bars["encoding"]["y"]["scale"]["domain"][0] < 0.8
    # ... and the chart says that its axis does not start at 0.
    start = bars["encoding"]["y"]["scale"]["domain"][0]
    assert bars["title"]["subtitle"] == f"Axis from {start:.1%}, not 0"
    # The 220 px are the bars' own: a legend of compared runs must not squeeze them (fit-x, not fit).
    compared = per_digit_chart({"a": accuracy, "b": accuracy}).to_dict()
    assert compared["height"] == 220 and compared["autosize"] == {"type": "fit-x", "contains": "padding"}


def test_first_layer_filters_are_one_image_per_filter(trained_store):
    pytest.importorskip("tensorflow")
    from dashboard.run_insights import first_layer_filters
    from training.learn.models import build_mlp
    from training.reading.for_run import load_predictor

    name, filters = first_layer_filters(load_predictor(trained_store).model)
    assert name == "conv1" and len(filters) == 16 and filters[0].shape == (3, 3)
    assert all(f.min() >= 0 and f.max() <= 1 for f in filters)
    name, filters = first_layer_filters(build_mlp())
    assert name == "hidden" and len(filters) == 128 and filters[0].shape == (28, 28)


def test_compare_curves_chart_has_one_line_per_run():
    from dashboard.charts import compare_curves_chart

    histories = {"run a": [{"epoch": 1, "val_accuracy": 0.9}, {"epoch": 2, "val_accuracy": 0.95}],
                 "run b": [{"epoch": 1, "val_accuracy": 0.8}]}
    spec = compare_curves_chart(histories, "val_accuracy").to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert sorted({row["run"] for row in rows}) == ["run a", "run b"] and len(rows) == 3
    assert spec["encoding"]["color"]["field"] == "run"


def test_train_page_shows_per_digit_accuracy_and_compares_runs(monkeypatch, store_copy):
    older = second_run(store_copy)
    at = app(monkeypatch, store_copy.root).run()
    assert not at.exception
    shown = texts(at)
    assert "Most confused pairs" in shown
    assert "how sure the model was of its wrong answer" in shown  # what the percentages mean
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert any(chart.get("title", {}).get("text") == "Accuracy per digit" for chart in charts)
    assert [expander.label for expander in at.expander if expander.label == "Compare runs"]

    at.toggle(key=f"train_filters_{store_copy.runs()[0].run_id}").set_value(True).run()
    assert not at.exception
    assert any("16 learned filters of 3×3" in image.caption
               for element in at.get("image") for image in element.proto.imgs)

    newest = store_copy.runs()[0].run_id
    at.multiselect(key="train_compare_runs").set_value([newest, older]).run()
    assert not at.exception
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    titles = [chart.get("title", {}).get("text") for chart in charts]
    assert "Validation accuracy" in titles and "Validation loss" in titles
    table = next(frame.value for frame in at.dataframe if "digit 9" in frame.value.columns)
    # Short labels, as in the legends: the name and what differs; what the runs share said once.
    labels = list(table["run"])
    assert labels[1].startswith("“older”: ") and "2 ep" in labels[1] and "batch" not in "".join(labels)
    assert "Both runs: " in texts(at) and "batch" in texts(at).split("Both runs: ")[1]
    curves = next(chart for chart in charts if chart.get("title", {}).get("text") == "Validation accuracy")
    assert curves["encoding"]["color"]["sort"] == labels  # the legend in the order the runs were picked
    # Percentages, each cell with two decimals (not "99.6%" next to "99.69%").
    newest = store_copy.runs()[0].record
    assert list(table["test accuracy"]) == pytest.approx([newest.test_accuracy * 100, 50.0])
    assert "digit 9" in table.columns and table["your held-out digits"].iloc[1] == pytest.approx(87.5)
    shown_table = next(frame for frame in at.dataframe if "digit 9" in frame.value.columns)
    assert '"%.2f%%"' in shown_table.proto.columns
    assert "Pick two or more runs" not in texts(at)


def test_compare_runs_names_the_training_images_and_user_digits_when_they_differ(tmp_path):
    """A 2,000-image run next to a full one: "Both runs: …" must not claim they were trained alike."""
    from dashboard.run_insights import compare_labels, run_settings
    from training.core.config import TrainConfig
    from training.runs.record import RunRecord
    from training.runs.store import Run

    def run(run_id: str, examples: dict | None = None, **config) -> Run:
        settings = TrainConfig(epochs=2, **config)
        record = RunRecord(run_id=run_id, created_at="2026-11-30T12:00:00+00:00", config=settings,
                           test_accuracy=0.99, name=run_id, history=[{"epoch": 1}, {"epoch": 2}],
                           examples=examples or {})
        return Run(run_id, tmp_path / run_id, record)

    # The full run counts its images as train() does.
    full = run("full", examples={"train": 55_000, "validation": 5_000, "test": 10_000})
    quick, mine = run("quick", train_limit=2000), run("mine", user_digits_weight=5)
    labels, common = compare_labels([full, quick])
    assert labels == ["“full”: 55,000 images", "“quick”: 2,000 images"]
    assert "images" not in common and "2 ep" in common and "your digits" not in common
    labels, common = compare_labels([full, mine])
    assert labels == ["“full”: without your digits", "“mine”: your digits ×5"] and "55,000 images" in common
    assert run_settings(quick) == "“quick”: cnn, 2,000 images, 2 ep, batch 128, lr 0.003, augmented"

"""Explanations on MNIST: the occlusion map sits on the ink, one panel per channel, Draw shows them."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.kit.apptest import app, texts

pytest.importorskip("tensorflow")


def seven_png(mnist) -> bytes:
    """MNIST test digit 0 (a 7) as a photo of dark ink on white paper, 112×112 PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(255 - mnist.x_test[0]).resize((112, 112)).save(buffer, format="PNG")
    return buffer.getvalue()


def draw_page(monkeypatch, root):
    """The dashboard opened on its Draw page, against the store at `root`."""
    at = app(monkeypatch, root).run()
    return at.switch_page("views/draw.py").run()


def upload_seven(at, mnist):
    return at.file_uploader(key="draw_upload").upload("seven.png", seven_png(mnist), "image/png").run()


def near(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The mask grown by `pixels` in every direction (8-neighbour dilation)."""
    grown = mask.copy()
    for _ in range(pixels):
        padded = np.pad(grown, 1)
        grown = np.zeros_like(grown)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                grown |= padded[dy:dy + 28, dx:dx + 28]
    return grown


def test_the_occlusion_map_lies_on_or_next_to_the_ink(trained_store, mnist):
    """Floor: on 200 test digits, ≥ 80% of the map's positive mass (median) lies within 1 px of the ink.

    Ink is a pixel above 0.2; its 1-px neighbourhood is a quarter of the frame on average, so a map
    blind to the strokes would put about 25–35% of its mass there. Measured: median 86%, 5th
    percentile 77% (4 px patches). The 5th percentile's floor (65%) leaves room for a retrained model.
    """
    from training.reading.explain import occlusion_map
    from training.reading.for_run import load_predictor

    model = load_predictor(trained_store).model
    fractions, areas = [], []
    for image in mnist.x_test[:200] / 255.0:
        saliency = occlusion_map(model, image)
        assert saliency.shape == (28, 28) and np.isfinite(saliency).all()
        positive = np.clip(saliency, 0, None)
        assert positive.sum() > 0
        around_ink = near(image > 0.2, 1)
        fractions.append(positive[around_ink].sum() / positive.sum())
        areas.append(around_ink.mean())
    assert np.median(fractions) >= 0.8, np.median(fractions)
    assert np.percentile(fractions, 5) >= 0.65, np.percentile(fractions, 5)
    assert np.median(fractions) > np.median(areas) + 0.4  # far above what a blind map would give


def test_blanking_blank_paper_changes_nothing(trained_store):
    from training.reading.explain import occlusion_map
    from training.reading.for_run import load_predictor

    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0  # a "1" in the middle columns
    saliency = occlusion_map(load_predictor(trained_store).model, image)
    assert np.all(saliency[:, :8] == 0) and np.all(saliency[:, 20:] == 0)


def test_the_feature_map_view_has_one_panel_per_channel_of_each_block(trained_store, mnist):
    from dashboard.explain_ui import channel_grid, channel_panels, layer_caption
    from training.learn.models import CNN_HIDDEN
    from training.reading.explain import feature_maps
    from training.reading.for_run import load_predictor

    layers = feature_maps(load_predictor(trained_store).model, mnist.x_test[0] / 255.0)
    assert [(name, maps.shape) for name, maps in layers] == [
        ("relu1", (28, 28, 16)), ("relu2", (14, 14, 64)), ("relu3", (7, 7, 128)), ("hidden", (CNN_HIDDEN,))]
    for _name, maps in layers:
        panels = channel_panels(maps)
        assert len(panels) == maps.shape[-1]
        assert all(panel.shape == (maps.shape[:2] if maps.ndim == 3 else (1, 1)) for panel in panels)
        grid = channel_grid(panels, 16)
        # Count the tiles: gap-coloured separator rows and columns split the grid into them.
        rows = np.all(grid == (70, 90, 140), axis=(1, 2)).sum() - 1
        columns = np.all(grid == (70, 90, 140), axis=(0, 2)).sum() - 1
        assert rows * columns == maps.shape[-1]
    assert layer_caption(*layers[0]) == "conv1 → relu1 · 28×28×16: 16 feature maps"


def test_one_pass_explains_like_the_two_separate_ones(trained_store, mnist):
    from training.reading.explain import explainer_for
    from training.reading.for_run import load_predictor

    explainer = explainer_for(load_predictor(trained_store).model)
    image = mnist.x_test[1] / 255.0
    saliency, layers = explainer.explain(image, target=2)
    np.testing.assert_allclose(saliency, explainer.occlusion_map(image, target=2), atol=1e-4)
    for (name, maps), (expected_name, expected) in zip(layers, explainer.feature_maps(image), strict=True):
        assert name == expected_name
        np.testing.assert_allclose(maps, expected, atol=1e-4)


def test_the_mlp_shows_its_hidden_units():
    from dashboard.explain_ui import channel_panels
    from training.learn.models import build_mlp
    from training.reading.explain import feature_maps

    layers = feature_maps(build_mlp(), np.zeros((28, 28), np.float32))
    assert [(name, maps.shape) for name, maps in layers] == [("hidden", (128,))]
    assert len(channel_panels(layers[0][1])) == 128


def test_runner_up_and_overlay():
    from dashboard.explain_ui import runner_up, saliency_overlay

    probabilities = np.array([0.01, 0.02, 0.0, 0.0, 0.6, 0.0, 0.0, 0.07, 0.0, 0.3])
    second, gap = runner_up(probabilities, 4)
    assert second == 9 and gap == pytest.approx(0.3)
    saliency = np.zeros((28, 28), np.float32)
    saliency[10, 10] = 2.0
    overlay = saliency_overlay(np.zeros((28, 28)), saliency)
    assert overlay.shape == (224, 224, 3)
    red = tuple(overlay[80, 80])  # the strongest pixel, as an 8×8 square
    assert red[0] > 180 and red[1] < 60 and red[2] < 60, red
    assert tuple(overlay[87, 87]) == red and tuple(overlay[88, 88]) != red


def test_the_heatmap_is_red_and_blue_on_the_strokes_too_and_its_scale_runs_blue_to_red():
    """Red where hiding lowers the answer, as the caption says, over ink as over the background
    (the strokes once came out magenta: the blue channel kept the ink's grey)."""
    from dashboard.explain_ui import saliency_legend, saliency_overlay

    ink = np.zeros((28, 28), np.float32)
    ink[5:20, 10:14] = 1.0
    saliency = np.zeros((28, 28), np.float32)
    saliency[10, 11], saliency[25, 25] = 2.0, -2.0  # on the ink, and off it
    overlay = saliency_overlay(ink, saliency, scale=1)
    red, blue = overlay[10, 11].astype(int), overlay[25, 25].astype(int)
    assert red[0] > 180 and red[1] < 60 and red[2] < 60, red
    assert blue[2] > 180 and blue[0] < 60, blue
    legend = saliency_legend(width=100, height=4)
    assert legend.shape == (4, 100, 3)
    assert legend[0, 0, 2] > 180 and legend[0, -1, 0] > 180  # blue (raises) on the left, red on the right
    assert legend[0, 50].max() - legend[0, 50].min() < 40  # grey, no change, in the middle


def test_draw_page_explains_an_answer(monkeypatch, trained_store, mnist):
    from training.learn.models import CNN_HIDDEN

    at = upload_seven(draw_page(monkeypatch, trained_store.root), mnist)
    assert not at.exception
    shown = texts(at)
    assert "Runner-up:" in shown and "for 7)" in shown
    assert "Where it looks" in shown
    assert [expander.label for expander in at.expander] == ["What each layer sees"]
    assert "bright where the filter finds its pattern" in shown  # what the panels mean, in words
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert "Occlusion sensitivity: how much the score of 7 changes" in shown
    assert "raises 7" in shown and "lowers 7" in shown  # the colour scale's ends
    assert [caption.split(" ·")[0] for caption in captions if "feature maps" in caption] == [
        "conv1 → relu1", "conv2 → relu2", "conv3 → relu3"]
    # The dense layer after the conv blocks is shown last, its squares explained as units.
    assert [caption.split(" (")[0] for caption in captions if "units" in caption] == [
        f"hidden · {CNN_HIDDEN} units"]
    assert "In the last, the hidden layer, each square is one hidden unit" in shown
    # It looks like these: one row of 8 training digits, each captioned with its label, mostly 7s.
    assert "It looks like these" in shown
    rows = [element.proto.imgs for element in at.get("image") if len(element.proto.imgs) == 8]
    assert len(rows) == 1
    labels = [image.caption for image in rows[0]]
    assert all(label in list("0123456789") for label in labels)
    assert labels.count("7") >= 5 and f"{labels.count('7')} of 8 are 7s" in shown


def test_predict_explain_adds_the_pages_saliency_map_and_8_neighbours(trained_store, mnist, tmp_path):
    import json

    from PIL import Image

    from tests.kit.cli import cli
    from training.data.preprocess import to_mnist
    from training.reading.explain import occlusion_map
    from training.reading.for_run import load_predictor

    seven = tmp_path / "seven.png"
    seven.write_bytes(seven_png(mnist))
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    env = {"MNIST_STUDIO_MODELS": str(trained_store.root)}
    result = cli("training", "predict", "--explain", "--json", str(seven), str(blank), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    answer, empty = [json.loads(line) for line in result.stdout.splitlines()]
    assert answer["digit"] == 7 and empty["error"] == "empty" and "saliency" not in empty
    assert "neighbours" not in empty
    # The 8 nearest training digits: indices into the MNIST training set, with their true labels.
    neighbours = answer["neighbours"]
    assert len(neighbours) == 8 and len({n["index"] for n in neighbours}) == 8
    assert all(0 <= n["index"] < len(mnist.x_train) for n in neighbours)
    assert [n["label"] for n in neighbours] == [int(mnist.y_train[n["index"]]) for n in neighbours]
    assert sum(n["label"] == 7 for n in neighbours) >= 5
    saliency = np.array(answer["saliency"])
    assert saliency.shape == (28, 28)
    # The same map the Draw page shows for the same 28×28 input (the JSON keeps 4 decimals).
    expected = occlusion_map(load_predictor(trained_store).model, to_mnist(seven))
    np.testing.assert_allclose(saliency, expected, atol=1e-4)

    # In a terminal: the drawing and its map side by side, the darkest marks on or next to the ink.
    result = cli("training", "predict", "--explain", str(seven), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{seven}: 7 (") and "where it looks for the 7" in lines[2]
    panels = [line for line in lines[3:] if line.startswith("  |")]
    assert len(panels) == 14
    drawing = [line.split("|")[1] for line in panels]
    looks = [line.split("|")[3] for line in panels]
    darkest = [(row, col) for row, line in enumerate(looks) for col, mark in enumerate(line) if mark == "@"]
    def inked_near(row, col):  # a cell is two characters wide
        return any(drawing[r][max(c, 0):c + 1].strip() for r in range(row - 1, row + 2) if 0 <= r < 14
                   for c in range(col - 2, col + 3))

    assert darkest and all(inked_near(row, col) for row, col in darkest)
    assert lines[-1].startswith("  nearest MNIST training digits: ") and "of 8 are 7s" in lines[-1]


def test_runner_up_line_never_claims_zero_or_a_hundred_percent():
    from types import SimpleNamespace

    from dashboard.explain_ui import runner_up, runner_up_line

    certain = np.full(10, 1e-7)
    certain[7] = 1 - 9e-7
    line = runner_up_line(*runner_up(certain, 7), SimpleNamespace(digit=7, probabilities=certain,
                                                                  confidence=certain[7]))
    assert line == "**Runner-up: 0** (under 0.1% against over 99.9% for 7)"
    close = np.full(10, 0.073 / 8)
    close[4], close[9] = 0.526, 0.401
    line = runner_up_line(*runner_up(close, 4), SimpleNamespace(digit=4, probabilities=close,
                                                                confidence=close[4]))
    assert line == "**Runner-up: 9**, 12.5% behind 4 (40.1% against 52.6%)"


def test_while_another_session_is_explaining_the_answer_comes_without_waiting(monkeypatch, trained_store,
                                                                                mnist):
    """Under many sessions one explanation runs at a time; the others get their answer, the runner-up
    and a line saying why the rest is missing, never a queue."""
    from dashboard import explain_ui

    at = draw_page(monkeypatch, trained_store.root)
    assert explain_ui.EXPLAINING.acquire(blocking=False)  # another session's explanation
    try:
        upload_seven(at, mnist)
    finally:
        explain_ui.EXPLAINING.release()
    assert not at.exception
    shown = texts(at)
    assert "Predicted digit: 7" in shown and "Runner-up:" in shown
    assert explain_ui.BUSY in shown and "Where it looks" not in shown

    # Free again: the next run explains.
    at.run()
    assert "Where it looks" in texts(at) and explain_ui.BUSY not in texts(at)


def test_explain_off_gives_the_answer_alone_and_on_brings_the_explanation_back(monkeypatch, trained_store,
                                                                               mnist):
    """Someone who only wants the digit turns Explain off: answer, chart and runner-up stay, the
    heatmap, neighbours and layers go; turned on again, the same drawing is explained."""
    at = draw_page(monkeypatch, trained_store.root)
    assert at.toggle(key="draw_explain").value is True  # on by default
    at.toggle(key="draw_explain").set_value(False).run()
    upload_seven(at, mnist)
    assert not at.exception
    shown = texts(at)
    assert "Predicted digit: 7" in shown and "Runner-up:" in shown
    assert "Where it looks" not in shown and "It looks like these" not in shown
    assert not [expander for expander in at.expander if expander.label == "What each layer sees"]

    at.toggle(key="draw_explain").set_value(True).run()
    assert not at.exception
    assert "Where it looks" in texts(at)
    assert [expander for expander in at.expander if expander.label == "What each layer sees"]

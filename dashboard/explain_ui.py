"""Under a Draw page answer: the runner-up, where the model looks, the nearest training digits, each layer."""

from __future__ import annotations

import io
import math
import threading
import time

import numpy as np
import streamlit as st
from PIL import Image

from dashboard.common import cached_mnist, cached_predictor, get_store, store_root
from training.core.errors import first_line
from training.core.probabilities import percent
from training.reading.explain import Explainer
from training.reading.for_run import index_for_run
from training.runs.store import StoreError

OVERLAY_SCALE = 8  # 28×28 → 224×224, each input pixel a crisp 8×8 square
# The exported page's colours (web_export/static/grid.js): red where hiding a region lowers the
# answer, blue where it raises it; at most this much tint, so the digit still shows under it.
LOWERS = np.array([220, 38, 38], np.float32) / 255
RAISES = np.array([37, 99, 235], np.float32) / 255
TINT = 0.85
LEGEND_HEIGHT = 12
GRID_WIDTH = 480  # about the answer column's width: wider only costs encoding time and bytes
GAP = 1
GAP_COLOUR = (70, 90, 140)
SHOWN_BLOCK = {"relu1": "conv1", "relu2": "conv2", "relu3": "conv3"}
NEIGHBOUR_SIZE = 44  # px: the 8 nearest training digits fit one row of the answer column
# One explanation at a time in this server: it costs as much as many answers (occlusion batch, layers,
# neighbours, PNGs), so under many sessions it is skipped for a stroke rather than queued, and
# answers keep their speed. One user drawing alone always gets it.
EXPLAINING = threading.Semaphore(1)
BUSY = "The server is busy with other drawings: the explanation comes back with a later stroke."
# The answer and its chart are sent before the explanation starts, but the browser still has to draw
# them; where it shares the CPU with this server (`make run` on a laptop, the bench's two cores), the
# explanation's CPU slowed that drawing. Of the waits before explaining tried on bench_dashboard's
# strokes (none, 0.1 s, 0.2 s), this last one brought stroke → answer back to its time without
# explanations, median and slowest strokes alike (see BENCHMARKS.md). The explanation shows up
# that much later, under an answer the user already has.
ANSWER_FIRST_S = 0.2


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_explainer(root: str, run_id: str):
    """The run's Explainer around the cached predictor's model: nothing loads twice, built once per run."""

    return Explainer(cached_predictor(root, run_id).model)


def png(pixels: np.ndarray) -> bytes:
    """PNG bytes at zlib level 1: faster to encode than Streamlit's own (level 6), for a few more bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def runner_up(probabilities: np.ndarray, answer: int) -> tuple[int, float]:
    """The second most likely digit after `answer`, and how many probability points it is behind."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    others = [digit for digit in np.argsort(-probabilities, kind="stable") if digit != answer]
    second = int(others[0])
    return second, float(probabilities[answer] - probabilities[second])


def runner_up_line(second: int, gap: float, prediction) -> str:
    """"Runner-up: 9, 12.5% behind 4 (40.1% against 52.6%)"; just the two shares when it is no
    contest (a gap rounded to "100.0% behind" read as a claim, and "far behind" as a judgement)."""
    shares = f"{percent(prediction.probabilities[second])} against {percent(prediction.confidence)}"
    if gap >= 0.5:
        return f"**Runner-up: {second}** ({shares} for {prediction.digit})"
    return f"**Runner-up: {second}**, {gap:.1%} behind {prediction.digit} ({shares})"


def saliency_colours(grey: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """RGB in 0..1 (…, 3): `grey` (0..1) tinted red where `weight` (-1..1) is positive, blue where negative.

    The tint's strength is |weight|: grey where blanking changed nothing, nearly pure red or blue at
    the strongest, as on the exported page (web_export/static/grid.js), so the two maps read alike.
    """
    weight = np.clip(np.asarray(weight, np.float32), -1, 1)[..., np.newaxis]
    grey = np.asarray(grey, np.float32)[..., np.newaxis]
    colour = np.where(weight > 0, LOWERS, RAISES)
    strength = TINT * np.abs(weight)
    return grey * (1 - strength) + colour * strength


def saliency_overlay(image28: np.ndarray, saliency: np.ndarray, scale: int = OVERLAY_SCALE) -> np.ndarray:
    """RGB uint8 (28·scale)²: the digit in grey, red where blanking lowered the answer, blue where it rose.

    Both colours are scaled by the largest absolute value, so the strongest region is the most tinted.
    """
    image28 = np.clip(np.asarray(image28, dtype=np.float32), 0, 1)
    saliency = np.asarray(saliency, dtype=np.float32)
    if image28.shape != (28, 28) or saliency.shape != (28, 28):
        raise ValueError(f"expected two (28, 28) arrays, got {image28.shape} and {saliency.shape}")
    top = float(np.abs(saliency).max())
    weight = saliency / top if top > 0 else np.zeros_like(saliency)
    grey = 0.15 + 0.45 * image28  # the digit dimmed, so that the colour reads on top of it
    pixels = np.rint(np.clip(saliency_colours(grey, weight), 0, 1) * 255).astype(np.uint8)
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def saliency_legend(width: int = 28 * OVERLAY_SCALE, height: int = LEGEND_HEIGHT) -> np.ndarray:
    """RGB uint8 (height, width): the overlay's colour scale over its background, from the strongest
    raise (blue, left) through no change (grey) to the strongest drop (red, right)."""
    weights = np.broadcast_to(np.linspace(-1, 1, width, dtype=np.float32), (height, width))
    colours = saliency_colours(np.full((height, width), 0.15, np.float32), weights)
    return np.rint(np.clip(colours, 0, 1) * 255).astype(np.uint8)


def channel_panels(activations: np.ndarray) -> list[np.ndarray]:
    """One 2-D panel in 0..1 per channel (H, W, C), or per unit of a hidden layer (units,).

    All panels of a layer share one scale (its largest activation), so a quiet channel looks quiet.
    """
    activations = np.asarray(activations, dtype=np.float32)
    if activations.ndim == 1:
        activations = activations[np.newaxis, np.newaxis, :]
    if activations.ndim != 3:
        raise ValueError(f"expected (H, W, C) maps or (units,) activations, got {activations.shape}")
    top = float(activations.max())
    scaled = np.clip(activations / top, 0, 1) if top > 0 else np.zeros_like(activations)
    return [scaled[:, :, channel] for channel in range(scaled.shape[-1])]


def channel_grid(panels: list[np.ndarray], columns: int, gap: int = GAP) -> np.ndarray:
    """The panels as small multiples, `columns` to a row, each enlarged crisply; RGB uint8.

    `gap` pixels of GAP_COLOUR part them: wider for panels whose own greys would meet at the edges.
    """
    if not panels:
        raise ValueError("no panels to draw")
    height, width = panels[0].shape
    scale = max(1, (GRID_WIDTH - (columns + 1) * gap) // (columns * width))
    tile_h, tile_w = height * scale, width * scale
    rows = math.ceil(len(panels) / columns)
    grid = np.empty((rows * (tile_h + gap) + gap, columns * (tile_w + gap) + gap, 3), np.uint8)
    grid[:] = GAP_COLOUR
    for index, panel in enumerate(panels):
        row, col = divmod(index, columns)
        top, left = gap + row * (tile_h + gap), gap + col * (tile_w + gap)
        tile = np.rint(panel * 255).astype(np.uint8).repeat(scale, axis=0).repeat(scale, axis=1)
        grid[top:top + tile_h, left:left + tile_w] = tile[:, :, np.newaxis]
    return grid


def layer_caption(name: str, activations: np.ndarray) -> str:
    """'conv1 → relu1 · 28×28×16: 16 feature maps' or 'hidden · 128 units'."""
    if activations.ndim == 1:
        return f"{name} · {activations.shape[0]} units (dense layer after ReLU; brighter = more active)"
    height, width, channels = activations.shape
    block = SHOWN_BLOCK.get(name)
    label = f"{block} → {name}" if block else name
    return f"{label} · {height}×{width}×{channels}: {channels} feature maps"


def layer_pictures(layers: list[tuple[str, np.ndarray]]) -> list[tuple[bytes, str]]:
    """Each shown layer's activations as small multiples (PNG) with its caption, in data-flow order."""
    pictures = []
    for name, activations in layers:
        panels = channel_panels(activations)
        # conv1's 32 large maps 8 to a row, so that each stays readable in the column.
        columns = 32 if activations.ndim == 1 else 8 if len(panels) <= 32 else 16
        pictures.append((png(channel_grid(panels, columns)), layer_caption(name, activations)))
    return pictures


def nearest_training_digits(predictor, image28: np.ndarray, *, wait: bool = False):
    """The 8 training digits nearest to a 28×28 input (`Neighbour`s), or None while the run's index is
    still being built (in the background: the page never waits for it).

    Raises:
        ValueError, StoreError: the run or its index cannot be read or built.
    """

    index = index_for_run(get_store().get(predictor.run_id).path, predictor, wait=wait)
    if index is None:
        return None
    features = predictor.features(np.asarray(image28, np.float32)[np.newaxis])
    return index.nearest(features[0])


def neighbour_pictures(neighbours, train_images: np.ndarray) -> list[bytes]:
    """Each neighbour's MNIST training image (uint8, white ink on black, as the model saw it) as PNG,
    smoothly enlarged to NEIGHBOUR_SIZE (MNIST digits are anti-aliased: no pixel grid to keep)."""
    size = (NEIGHBOUR_SIZE, NEIGHBOUR_SIZE)
    return [png(np.asarray(Image.fromarray(train_images[n.index]).resize(size, Image.Resampling.BILINEAR)))
            for n in neighbours]


def neighbours_caption(neighbours, answer: int) -> str:
    """One line under the row: what the digits are and how many carry the answer's label."""
    agreeing = sum(n.label == answer for n in neighbours)
    return (f"The {len(neighbours)} MNIST training digits nearest to this drawing in the model's last "
            f"hidden layer, with their labels: {agreeing} of {len(neighbours)} are {answer}s.")


def neighbours_ui(predictor, prediction, key: str) -> None:
    """'It looks like these': the nearest training digits in a row, each with its label."""
    with st.container(key=f"draw_neighbours_{key}"):
        st.markdown("**It looks like these**")
        try:
            neighbours = nearest_training_digits(predictor, prediction.image28)
        except (ValueError, StoreError, OSError) as error:
            st.caption(f"No nearest training digits: {first_line(error)}")
            return
        if neighbours is None:
            st.caption("Finding the nearest training digits needs an index of this run, built once "
                       "(a few seconds): they appear with your next stroke.")
            return
        st.image(neighbour_pictures(neighbours, cached_mnist().x_train), width=NEIGHBOUR_SIZE,
                 caption=[str(n.label) for n in neighbours], output_format="PNG")
        st.caption(neighbours_caption(neighbours, prediction.digit))


def explanation_ui(predictor, prediction, key: str, *, full: bool = True) -> None:
    """The runner-up, then (when `full`) the occlusion heatmap, the nearest training digits and each
    layer's activations, under an answer already shown."""
    with st.container(key=f"draw_explain_{key}"):
        second, gap = runner_up(prediction.probabilities, prediction.digit)
        st.markdown(runner_up_line(second, gap, prediction))
        if not full:
            return
        if not EXPLAINING.acquire(blocking=False):
            st.caption(BUSY)
            return
        try:
            time.sleep(ANSWER_FIRST_S)  # holds neither a core nor the GIL
            explanation_details_ui(predictor, prediction, key)
        finally:
            EXPLAINING.release()


def where_it_looks_ui(prediction, saliency: np.ndarray, key: str) -> None:
    """The occlusion map over the drawing, its colour scale with what each end means, and a caption."""
    digit = prediction.digit
    with st.container(key=f"draw_where_{key}"):
        st.markdown("**Where it looks**")
        st.image(png(saliency_overlay(prediction.image28, saliency)), width=28 * OVERLAY_SCALE,
                 output_format="PNG", alt=f"Where the model looks for {digit}: red and blue over the drawing")
        # The colour scale right under the map, as wide, with what its two ends and middle mean.
        with st.container(key=f"draw_where_scale_{key}", width=28 * OVERLAY_SCALE, gap=None):
            st.image(png(saliency_legend()), width=28 * OVERLAY_SCALE, output_format="PNG",
                     alt="Colour scale: blue, grey, red")
            with st.container(horizontal=True, horizontal_alignment="distribute", gap=None, wrap=False):
                st.caption(f"raises {digit}", width="content")
                st.caption("no change", width="content")
                st.caption(f"lowers {digit}", width="content")
        st.caption(f"Occlusion sensitivity: how much the score of {digit} changes when each part of the "
                   f"drawing is hidden. Red where it drops (the parts that make it read as {digit}), blue "
                   "where it rises; the stronger the colour, the larger the change.")


def explanation_details_ui(predictor, prediction, key: str) -> None:
    """Where it looks, it looks like these, what each layer sees."""
    try:
        explainer = cached_explainer(store_root(), predictor.run_id)
        saliency, layers = explainer.explain(prediction.image28, target=prediction.digit)
    except (ValueError, OSError) as error:
        st.caption(f"No explanation for this drawing: {error}")
        return
    where_it_looks_ui(prediction, saliency, key)
    neighbours_ui(predictor, prediction, key)
    with st.expander("What each layer sees", icon=":material/layers:"):
        if not layers:
            st.caption("This model has no layer to show.")
        else:
            st.caption(layers_sentence(layers))
        for picture, caption in layer_pictures(layers):
            st.image(picture, caption=caption, output_format="PNG")


def layers_sentence(layers: list[tuple[str, np.ndarray]]) -> str:
    """What the squares mean: a conv block's filter maps, a dense layer's units, or both."""
    maps = ("Each small square is one filter's map of this drawing: bright where the filter finds its "
            "pattern, dark where it finds none. In the order the data flows: the first layer answers to "
            "strokes and edges, later ones, coarser, to parts of a digit.")
    units = "one hidden unit: bright when it fires for this drawing."
    has_maps = any(activations.ndim == 3 for _, activations in layers)
    has_units = any(activations.ndim == 1 for _, activations in layers)
    if has_maps and has_units:
        return f"{maps} In the last, the hidden layer, each square is {units}"
    return maps if has_maps else f"Each square is {units}"

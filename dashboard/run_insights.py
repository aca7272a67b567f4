"""What a saved run learned (per-digit accuracy, confused pairs, first-layer filters); run comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, display
from dashboard.common import cached_mnist, cached_predictor, store_root
from training.core.config import VALIDATION_SIZE
from training.core.errors import first_line
from training.data.mnist import MnistUnavailableError
from training.runs.store import Run, StoreError

PAIRS_SHOWN = 4
EXAMPLES_PER_PAIR = 6
COMPARE_KEY = "train_compare_runs"


def confused_pairs(matrix, top: int = PAIRS_SHOWN) -> list[tuple[int, int, int]]:
    """The `top` most frequent mistakes as (true digit, predicted digit, count), most frequent first."""
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.shape != (10, 10):
        return []
    pairs = [(true, predicted, int(counts[true, predicted]))
             for true in range(10) for predicted in range(10)
             if true != predicted and counts[true, predicted]]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))[:top]


def pair_examples(mistakes: list, true: int, predicted: int, limit: int = EXAMPLES_PER_PAIR) -> list[tuple]:
    """Up to `limit` recorded mistakes (index, true, predicted, confidence) of one pair, surest first."""
    return [m for m in mistakes if int(m[1]) == true and int(m[2]) == predicted][:limit]


def first_layer_filters(model) -> tuple[str, list[np.ndarray]]:
    """The first learned layer's weights as images in 0..1 (grey is 0, white positive, black negative).

    The CNN's conv1 gives 3×3 kernels, the MLP's hidden layer 28×28 weight images, one per unit.
    """
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        kernel = np.asarray(weights[0], dtype=np.float32)
        if kernel.ndim == 4:  # (height, width, input channels, filters): the inputs are grey, one channel
            images = kernel[:, :, 0, :]
        elif kernel.ndim == 2 and kernel.shape[0] == 28 * 28:
            images = kernel.reshape(28, 28, -1)
        else:
            continue
        top = float(np.abs(images).max()) or 1.0
        scaled = 0.5 + 0.5 * images / top
        return layer.name, [scaled[:, :, index] for index in range(scaled.shape[-1])]
    return "", []


def run_insights_ui(run: Run) -> None:
    """Per-digit accuracy, the most confused pairs with examples, and the first layer's filters."""
    info = run.record
    if not info.confusion_matrix:
        return
    left, right = st.columns([2, 3])
    with left:
        accuracies = {run.run_id: charts.per_digit_accuracy(info.confusion_matrix)}
        st.altair_chart(charts.per_digit_chart(accuracies), key=f"train_per_digit_{run.run_id}")
    with right:
        confused_pairs_ui(info.confusion_matrix, info.mistakes)
    filters_ui(run)


def confused_pairs_ui(matrix, mistakes: list) -> None:
    """The most confused pairs, each with a few test digits the model got wrong that way."""
    pairs = confused_pairs(matrix)
    st.markdown("**Most confused pairs** (true → predicted)")
    if not pairs:
        st.caption("No mistakes on the test set.")
        return
    st.caption("Under each test digit: how sure the model was of its wrong answer.")
    try:
        test_images = cached_mnist().x_test
    except MnistUnavailableError:
        test_images = None
    for true, predicted, count in pairs:
        examples = pair_examples(mistakes, true, predicted)
        st.markdown(f"{true} → {predicted}: **{count}** test digit{'s' if count != 1 else ''}")
        if examples and test_images is not None:
            st.image([display.upscale(test_images[int(index)] / 255.0, 2) for index, *_ in examples],
                     caption=[f"{confidence:.0%}" for *_, confidence in examples], width=56)


def filters_ui(run: Run) -> None:
    """The first layer's learned filters, on demand (the model is loaded then, once per run)."""
    from dashboard.explain_ui import channel_grid

    if not st.toggle("Show the first layer's learned filters", key=f"train_filters_{run.run_id}"):
        return
    try:
        model = cached_predictor(store_root(), run.run_id).model
    except (StoreError, ImportError, ValueError, OSError) as error:
        st.error(f"The model could not be loaded: {first_line(error)}")
        return
    name, filters = first_layer_filters(model)
    if not filters:
        st.caption("This model has no first layer to show.")
        return
    size = "×".join(str(side) for side in filters[0].shape)
    # Eight to a row with wide gaps: a 3×3 kernel's grey cells otherwise run into its neighbour's.
    st.image(channel_grid(filters, 8, gap=6), output_format="PNG",
             caption=f"{name}: {len(filters)} learned filters of {size} (white: positive weight, "
                     "black: negative, grey: zero)")


def settings_parts(run: Run) -> list[str]:
    """How a run was trained, in short parts: architecture, training images, epochs, batch, learning
    rate, augmentation, the user's digits ("" when left out: every run has the same parts)."""
    config = run.record.config
    return [config.architecture, f"{training_images(run):,} images", f"{len(run.record.history)} ep",
            f"batch {config.batch_size}", f"lr {config.learning_rate:g}",
            "augmented" if config.augment else "not augmented",
            f"your digits ×{config.user_digits_weight}" if config.user_digits_weight else ""]


def training_images(run: Run) -> int:
    """How many MNIST images the run trained on: as its record counted them, else from its settings
    (runs saved before the count was kept)."""
    counted = run.record.examples.get("train")
    return int(counted) if counted else run.record.config.train_limit or 60_000 - VALIDATION_SIZE


def run_name(run: Run) -> str:
    """The run's name in quotes, or its id's date and time."""
    return f"“{run.record.name}”" if run.record.name else run.run_id[:15]


def run_settings(run: Run) -> str:
    """'“name”: cnn, 55,000 images, 8 ep, batch 128, lr 0.003, augmented': which run, how trained."""
    return f"{run_name(run)}: {', '.join(part for part in settings_parts(run) if part)}"


def compare_labels(runs: list[Run]) -> tuple[list[str], str]:
    """A short label per run (its name and only the settings that differ) and the settings all share.

    Two runs that differ only in their epochs read '“a”: 8 ep' and '“b”: 4 ep' in a legend under a
    half-width chart, instead of two long labels cut off alike.
    """
    parts = [settings_parts(run) for run in runs]
    differ = [len({run_parts[i] for run_parts in parts}) > 1 for i in range(len(parts[0]))]
    labels = []
    for run, run_parts in zip(runs, parts, strict=True):
        detail = ", ".join(part or "without your digits"
                           for part, differs in zip(run_parts, differ, strict=True) if differs)
        labels.append(f"{run_name(run)}: {detail}" if detail else run_name(run))
    labels = [f"{label} ({run.run_id[-6:]})" if labels.count(label) > 1 else label
              for label, run in zip(labels, runs, strict=True)]
    common = ", ".join(part for part, differs in zip(parts[0], differ, strict=True) if part and not differs)
    return labels, common


def compare_frame(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    """One row per run, named by its label: test, per-digit and held-out user-digit accuracy."""
    rows = []
    for run, label in zip(runs, labels, strict=True):
        row = {"run": label, "test accuracy": run.record.test_accuracy}
        per_digit = (charts.per_digit_accuracy(run.record.confusion_matrix) if run.record.confusion_matrix
                     else np.full(10, np.nan))
        row.update({f"digit {digit}": float(value) for digit, value in enumerate(per_digit)})
        finetune = run.record.finetune
        after = finetune.get("after") if isinstance(finetune, dict) else None
        held_out = after.get("user_held_out_accuracy") if isinstance(after, dict) else None
        row["your held-out digits"] = float(held_out) if held_out is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def compare_runs_ui(runs: list[Run]) -> None:
    """Pick two or more saved runs (the two newest at first): their curves overlaid, their accuracies
    side by side."""
    by_id = {run.run_id: run for run in runs}
    # Set on every run, so that the browser never keeps a renamed run's old label (see
    # run_details.run_picker_ui); runs deleted since drop out.
    chosen = st.session_state.get(COMPARE_KEY)
    st.session_state[COMPARE_KEY] = ([run_id for run_id in chosen if run_id in by_id] if chosen is not None
                                     else list(by_id)[:2])
    chosen = st.multiselect("Runs to compare", list(by_id), key=COMPARE_KEY,
                            format_func=lambda run_id: run_settings(by_id[run_id]),
                            placeholder="Pick two or more runs")
    chosen = [by_id[run_id] for run_id in chosen if run_id in by_id]
    if len(chosen) < 2:
        st.caption("Pick two or more runs to see their curves overlaid and their accuracies side by side.")
        return
    labels, common = compare_labels(chosen)
    if common:
        st.caption(f"{'Both runs' if len(chosen) == 2 else f'All {len(chosen)} runs'}: {common}.")
    histories = {label: run.record.history for label, run in zip(labels, chosen, strict=True)}
    left, right = st.columns(2)
    left.altair_chart(charts.compare_curves_chart(histories, "val_accuracy"), key="train_compare_accuracy")
    right.altair_chart(charts.compare_curves_chart(histories, "val_loss"), key="train_compare_loss")
    with_matrix = {label: charts.per_digit_accuracy(run.record.confusion_matrix)
                   for label, run in zip(labels, chosen, strict=True) if run.record.confusion_matrix}
    if with_matrix:
        st.altair_chart(charts.per_digit_chart(with_matrix), key="train_compare_per_digit")
    frame = compare_frame(chosen, labels)  # labelled as in the legends; shared settings are in the caption
    if frame["your held-out digits"].isna().all():
        frame = frame.drop(columns="your held-out digits")
    # Shown as percentages with two decimals in every cell: the "percent" preset drops trailing
    # zeros, which put "99.6%" next to "99.69%" in one column.
    numbers = [column for column in frame.columns if column != "run"]
    frame[numbers] = frame[numbers] * 100
    # Digit columns headed "0".."9" under one caption: eleven "digit N" headers overflowed the page.
    st.dataframe(frame, hide_index=True, key="train_compare_table", column_config={
        column: st.column_config.NumberColumn(column.removeprefix("digit "), format="%.2f%%")
        for column in numbers})
    st.caption("Columns 0–9: accuracy on the test images of each digit.")

"""The dashboard's Altair charts of runs and answers; no Streamlit here, so they test without a browser."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.chart_axes import (
    accuracy_axis,
    decimal_format,
    epoch_ticks,
    linear_axis,
    log_axis,
    percent_format,
)

CURVE_LABELS = {
    "accuracy": "training",
    "val_accuracy": "validation",
    "loss": "training",
    "val_loss": "validation",
}
HIGHLIGHT = "#e4572e"
MUTED = "#9aa5b1"
GUESS = "#f2b49f"  # the highlight, paler: one of two digits the page is not sure between
# How the probability bars follow the answer above them (`probability_chart`).
EMPHASES = ("answer", "unsure", "guess")
CURVE_HEIGHT = 240  # the plot area's height in pixels, axes and legend come on top
# Runs side by side need colours told apart at a glance, not shades of one blue.
RUN_COLOURS = alt.Scale(scheme="tableau10")


def history_frame(history: Sequence[dict[str, float]], metrics: Sequence[str]) -> pd.DataFrame:
    """Long-form rows (epoch, metric, value) for the given metrics, skipping missing values."""
    rows = []
    for index, entry in enumerate(history):
        epoch = int(entry.get("epoch", index + 1))
        for metric in metrics:
            value = entry.get(metric)
            if value is not None and np.isfinite(value):
                rows.append({"epoch": epoch, "metric": metric, "curve": CURVE_LABELS.get(metric, metric),
                             "value": float(value)})
    return pd.DataFrame(rows, columns=["epoch", "metric", "curve", "value"])


def curve_chart(history: Sequence[dict[str, float]], kind: str, epochs: int | None = None, *,
                log_scale: bool = False) -> alt.Chart:
    """Training and validation curves of `kind` ("accuracy" or "loss") against the epoch.

    The plot area is CURVE_HEIGHT pixels tall and fills the width it is given; the y axis is
    fitted to the values (accuracy from just below the lowest, loss from 0) with at least four
    labelled ticks; the x axis has one integer tick per epoch and never moves while a run grows.

    Args:
        history: one metrics dict per finished epoch, as training reports them.
        kind: "accuracy" or "loss".
        epochs: the planned number of epochs; fixes the x axis so the curve grows into it.
        log_scale: a logarithmic y axis (loss only), for telling small losses apart.
    """
    if kind not in ("accuracy", "loss"):
        raise ValueError(f"kind must be 'accuracy' or 'loss', got {kind!r}")
    frame = history_frame(history, [kind, f"val_{kind}"])
    last_epoch = max(epochs or 0, int(frame["epoch"].max()) if len(frame) else 1, 1)
    values = frame["value"].to_numpy()
    if kind == "accuracy":
        domain, ticks = accuracy_axis(values)
        label_format = percent_format(ticks)
        value_format = ".2%"
    elif log_scale and len(values) and values.min() > 0:
        domain, ticks = log_axis(values)
        label_format, value_format = "~g", ".4f"
    else:
        log_scale = False
        domain, ticks = linear_axis(values)
        label_format, value_format = decimal_format(ticks), ".4f"
    # Half an epoch either side, so that a one-epoch run's points sit in the middle, not on an edge.
    x = alt.X("epoch:Q", title="epoch",
              scale=alt.Scale(domain=[0.5, last_epoch + 0.5], nice=False, zero=False),
              axis=alt.Axis(values=epoch_ticks(last_epoch), format="d", grid=False))
    y = alt.Y("value:Q", title="loss (log scale)" if log_scale else kind,
              scale=alt.Scale(domain=domain, nice=False, zero=False, type="log" if log_scale else "linear"),
              axis=alt.Axis(values=ticks, format=label_format))
    color = alt.Color("curve:N", title="", scale=alt.Scale(domain=["training", "validation"],
                                                              range=["#4c78a8", HIGHLIGHT]),
                      legend=alt.Legend(orient="top", offset=6))
    tooltip = [alt.Tooltip("epoch:Q", format="d"), alt.Tooltip("curve:N"),
               alt.Tooltip("value:Q", title=kind, format=value_format)]
    return (
        # Streamlit's theme leaves 26 px under a title and the legend adds its own; 8 is plenty.
        alt.Chart(frame, title=alt.TitleParams(kind.capitalize(), offset=8))
        .mark_line(point=alt.OverlayMarkDef(size=50, filled=True))
        .encode(x=x, y=y, color=color, tooltip=tooltip)
        # fit-x: the width follows the column; the height stays that of the plot area.
        .properties(height=CURVE_HEIGHT, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )


def confusion_chart(matrix: Sequence[Sequence[int]]) -> alt.LayerChart:
    """A heatmap of the confusion matrix (rows: true digit, columns: predicted) with the counts written in."""
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.shape != (10, 10):
        raise ValueError(f"confusion matrix must be 10×10, got {counts.shape}")
    frame = pd.DataFrame(
        [{"true": t, "predicted": p, "count": int(counts[t, p]), "correct": t == p}
         for t in range(10) for p in range(10)]
    )
    # A log-like colour scale keeps the few mistakes visible next to the large diagonal.
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:O", title="predicted digit", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("true:O", title="true digit"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=["true:O", "predicted:O", "count:Q"],
    )
    threshold = max(1, int(counts.max()) // 4)
    labels = base.mark_text(fontSize=11).encode(
        text="count:Q",
        color=alt.condition(alt.datum.count > threshold, alt.value("white"), alt.value("#1f2933")),
    )
    return (cells + labels).properties(height=360, width=360)


def probability_chart(probabilities: Sequence[float], *, emphasis: str = "answer") -> alt.Chart:
    """Bars of the ten class probabilities, digits 0–9 on an ordinal x axis.

    Args:
        probabilities: (10,) the answer's probabilities, digits in order.
        emphasis: what the page answered above the chart. "answer": a digit, its bar highlighted.
            "unsure": not sure which of two, both bars in a softer colour. "guess": the drawing does
            not look like a digit, so no bar is highlighted and the title says the bars are a guess.
    """
    values = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if values.shape != (10,):
        raise ValueError(f"expected 10 probabilities, got {values.shape}")
    if emphasis not in EMPHASES:
        raise ValueError(f"emphasis must be one of {', '.join(EMPHASES)}, not {emphasis!r}")
    order = np.argsort(-values, kind="stable")
    marked = {"answer": order[:1], "unsure": order[:2], "guess": order[:0]}[emphasis]
    colour = GUESS if emphasis == "unsure" else HIGHLIGHT
    frame = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": values,
                          "marked": [d in marked for d in range(10)]})
    title = (alt.TitleParams("Only a guess: the drawing does not look like a digit", fontWeight="normal",
                             color="#6b7280", anchor="start", offset=8)
             if emphasis == "guess" else alt.Undefined)
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X("digit:O", title="digit", sort=[str(d) for d in range(10)],
                    axis=alt.Axis(labelAngle=0, labelOverlap=False)),
            y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%")),
            color=alt.condition(alt.datum.marked, alt.value(colour), alt.value(MUTED)),
            tooltip=["digit:O", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=240)
    )


def per_digit_accuracy(matrix: Sequence[Sequence[int]]) -> np.ndarray:
    """(10,) share of each true digit's test images read right (diagonal / row total); NaN for none."""
    counts = np.asarray(matrix, dtype=np.float64)
    if counts.shape != (10, 10):
        raise ValueError(f"confusion matrix must be 10×10, got {counts.shape}")
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(counts) / totals, np.nan)


def per_digit_chart(accuracies: dict[str, Sequence[float]]) -> alt.Chart:
    """Per-digit accuracy bars, one bar per run (label → 10 accuracies) side by side within each digit.

    The y axis starts a little below the lowest bar (accuracies are all near 100%), so differences show.
    """
    rows = [{"digit": str(digit), "run": label, "accuracy": float(value)}
            for label, values in accuracies.items() for digit, value in enumerate(values)
            if np.isfinite(value)]
    frame = pd.DataFrame(rows, columns=["digit", "run", "accuracy"])
    values = frame["accuracy"].to_numpy()
    # Bars rise from below the lowest one, so that the worst digit still shows a bar, not nothing.
    domain, ticks = accuracy_axis(values - 0.2 * (1 - values.min()) if len(values) else values)
    single = len(accuracies) == 1
    chart = alt.Chart(frame).mark_bar(clip=True).encode(
        x=alt.X("digit:O", title="true digit", sort=[str(d) for d in range(10)], axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=domain, nice=False, zero=False),
                axis=alt.Axis(values=ticks, format=percent_format(ticks))),
        tooltip=["digit:O", "run:N", alt.Tooltip("accuracy:Q", format=".2%")],
    )
    if single:
        chart = chart.encode(color=alt.value("#4c78a8"))
    else:
        chart = chart.encode(xOffset=alt.XOffset("run:N", sort=list(accuracies)), color=alt.Color(
            "run:N", title="", scale=RUN_COLOURS, sort=list(accuracies),
            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=600)))
    # Said in words: bars on an axis that does not start at 0 look further apart than they are.
    subtitle = f"Axis from {domain[0]:.1%}, not 0"
    # fit-x, as the curves: without it the legend under the bars came out of the 220 px and left
    # the bars squashed flat when two runs were compared.
    return chart.properties(height=220, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
                            title=alt.TitleParams("Accuracy per digit", subtitle=subtitle,
                                                  subtitleColor="#6b7280", offset=8))


def compare_curves_chart(histories: dict[str, Sequence[dict[str, float]]], metric: str) -> alt.Chart:
    """One line per run (label → history) of `metric` (e.g. "val_accuracy", "loss") against the epoch."""
    rows = []
    for label, history in histories.items():
        frame = history_frame(history, [metric])
        rows += [{"epoch": int(epoch), "run": label, "value": value}
                 for epoch, value in zip(frame["epoch"], frame["value"], strict=True)]
    frame = pd.DataFrame(rows, columns=["epoch", "run", "value"])
    values = frame["value"].to_numpy()
    is_accuracy = "accuracy" in metric
    domain, ticks = accuracy_axis(values) if is_accuracy else linear_axis(values)
    label_format = percent_format(ticks) if is_accuracy else decimal_format(ticks)
    last_epoch = max(int(frame["epoch"].max()) if len(frame) else 1, 1)
    title = ("validation " if metric.startswith("val_") else "training ") + metric.removeprefix("val_")
    return (
        alt.Chart(frame, title=alt.TitleParams(title.capitalize(), offset=8))
        .mark_line(point=alt.OverlayMarkDef(size=40, filled=True))
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=[0.5, last_epoch + 0.5], nice=False),
                    axis=alt.Axis(values=epoch_ticks(last_epoch), format="d", grid=False)),
            y=alt.Y("value:Q", title=metric.removeprefix("val_"),
                    scale=alt.Scale(domain=domain, nice=False, zero=False),
                    axis=alt.Axis(values=ticks, format=label_format)),
            color=alt.Color("run:N", title="", scale=RUN_COLOURS, sort=list(histories),
                            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=600)),
            tooltip=[alt.Tooltip("epoch:Q", format="d"), "run:N",
                     alt.Tooltip("value:Q", title=metric, format=".2%" if is_accuracy else ".4f")],
        )
        .properties(height=CURVE_HEIGHT, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )

"""Altair charts and small formatters for the dashboard; no Streamlit here, so they test without a browser."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

CURVE_LABELS = {
    "accuracy": "training",
    "val_accuracy": "validation",
    "loss": "training",
    "val_loss": "validation",
}
HIGHLIGHT = "#e4572e"
MUTED = "#9aa5b1"


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


def curve_chart(history: Sequence[dict[str, float]], kind: str, epochs: int | None = None) -> alt.Chart:
    """Training and validation curves of `kind` ("accuracy" or "loss") against the epoch.

    Args:
        history: one metrics dict per finished epoch, as training reports them.
        kind: "accuracy" or "loss".
        epochs: the planned number of epochs; fixes the x axis so the curve grows into it.
    """
    if kind not in ("accuracy", "loss"):
        raise ValueError(f"kind must be 'accuracy' or 'loss', got {kind!r}")
    frame = history_frame(history, [kind, f"val_{kind}"])
    last_epoch = max(epochs or 0, int(frame["epoch"].max()) if len(frame) else 1, 1)
    x = alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=[1, max(last_epoch, 2)], nice=False),
              axis=alt.Axis(tickMinStep=1, format="d"))
    y_scale = alt.Scale(zero=False) if kind == "accuracy" else alt.Scale(zero=True)
    y = alt.Y("value:Q", title=kind, scale=y_scale,
              axis=alt.Axis(format=".1%" if kind == "accuracy" else ".2f"))
    color = alt.Color("curve:N", title=None, scale=alt.Scale(domain=["training", "validation"],
                                                              range=["#4c78a8", HIGHLIGHT]),
                      legend=alt.Legend(orient="bottom"))
    return (
        alt.Chart(frame, title=kind.capitalize())
        .mark_line(point=True)
        .encode(x=x, y=y, color=color,
                tooltip=["epoch:Q", "curve:N", alt.Tooltip("value:Q", format=".4f")])
        .properties(height=240)
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


def probability_chart(probabilities: Sequence[float]) -> alt.Chart:
    """Bars of the ten class probabilities, digits 0–9 on an ordinal x axis, the top one highlighted."""
    values = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if values.shape != (10,):
        raise ValueError(f"expected 10 probabilities, got {values.shape}")
    top = int(values.argmax())
    frame = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": values,
                          "top": [d == top for d in range(10)]})
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("digit:O", title="digit", sort=[str(d) for d in range(10)],
                    axis=alt.Axis(labelAngle=0, labelOverlap=False)),
            y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%")),
            color=alt.condition(alt.datum.top, alt.value(HIGHLIGHT), alt.value(MUTED)),
            tooltip=["digit:O", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=240)
    )


def format_duration(seconds: float | None) -> str:
    """Short human duration: '45 s', '3 min 05 s', '1 h 02 min'; '…' when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return "…"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(size: int) -> str:
    """'812 B', '45.3 KB', '1.2 MB' (powers of 1000, as browsers show downloads)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def upscale(image: np.ndarray, factor: int = 8) -> np.ndarray:
    """A 2-D image in 0..1 enlarged with nearest neighbour, as uint8, so that each pixel stays crisp."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {array.shape}")
    pixels = np.rint(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    return pixels.repeat(factor, axis=0).repeat(factor, axis=1)


def first_line(error: BaseException) -> str:
    """An error's first line, for a one-line st.error."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__

"""The curve charts' Vega-Lite specs: every plotted value inside the axes, readable ticks, a fixed frame."""

from __future__ import annotations

import math

import pytest

from dashboard.charts import CURVE_HEIGHT, curve_chart

# Curves of the shapes training produces: a 1-epoch run, a near-perfect run (the issue's
# 0.98–0.995 accuracy, 0.02–0.06 loss), a slow start, and a loss that spans decades.
HISTORIES = {
    "one epoch": [{"epoch": 1, "accuracy": 0.912, "val_accuracy": 0.9645, "loss": 0.31, "val_loss": 0.12}],
    "near perfect": [{"epoch": e, "accuracy": 0.98 + e / 1000, "val_accuracy": 0.99 + e / 2000,
                      "loss": 0.06 - e / 200, "val_loss": 0.03 - e / 1000} for e in range(1, 4)],
    "slow start": [{"epoch": e, "accuracy": 0.11 + e / 10, "val_accuracy": 0.2 + e / 10,
                    "loss": 2.3 / e, "val_loss": 2.1 / e} for e in range(1, 8)],
    "tiny loss": [{"epoch": e, "accuracy": 1.0, "val_accuracy": 0.9993,
                   "loss": 10.0 ** -e, "val_loss": 2 * 10.0 ** -e} for e in range(1, 6)],
}


def plotted_values(spec: dict) -> list[float]:
    return [row["value"] for row in spec["datasets"][spec["data"]["name"]]]


@pytest.mark.parametrize("name", HISTORIES)
@pytest.mark.parametrize("kind,log_scale", [("accuracy", False), ("loss", False), ("loss", True)])
def test_the_y_domain_contains_every_plotted_value(name, kind, log_scale):
    history = HISTORIES[name]
    spec = curve_chart(history, kind, len(history), log_scale=log_scale).to_dict()
    values = plotted_values(spec)
    assert len(values) == 2 * len(history)
    scale = spec["encoding"]["y"]["scale"]
    low, high = scale["domain"]
    assert scale.get("nice") is False  # Vega may not move the domain after us
    assert all(low <= value <= high for value in values), (low, high, values)
    ticks = spec["encoding"]["y"]["axis"]["values"]
    assert len(ticks) >= 4 and ticks[0] == low and ticks[-1] == high
    if kind == "accuracy":
        assert high == 1.0 and high - low <= max(4 * (1 - min(values)), 0.003) + 1e-9  # zoomed to the curves
    elif not log_scale:
        assert low == 0 and max(values) > high / 2


def test_accuracy_of_the_issue_is_zoomed_with_readable_ticks():
    spec = curve_chart(HISTORIES["near perfect"], "accuracy", 3).to_dict()
    assert spec["encoding"]["y"]["scale"]["domain"] == [0.98, 1.0]
    assert spec["encoding"]["y"]["axis"]["values"] == [0.98, 0.985, 0.99, 0.995, 1.0]
    assert spec["encoding"]["y"]["axis"]["format"] == ".1%"


def test_the_plot_area_is_tall_and_the_width_follows_the_column():
    spec = curve_chart(HISTORIES["slow start"], "loss", 7).to_dict()
    assert spec["height"] == CURVE_HEIGHT >= 220
    # fit-x: the height is the plot area's own, not a box the axes and legend are squeezed into.
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}


def test_a_one_epoch_run_has_one_tick_with_its_points_in_the_middle():
    spec = curve_chart(HISTORIES["one epoch"], "accuracy", 1).to_dict()
    assert spec["encoding"]["x"]["axis"]["values"] == [1]
    low, high = spec["encoding"]["x"]["scale"]["domain"]
    assert low < 1 < high and math.isclose(1 - low, high - 1)


def test_live_curves_grow_in_a_fixed_frame():
    history = HISTORIES["slow start"]
    frames = [curve_chart(history[:done], "loss", 12).to_dict()["encoding"]["x"] for done in (1, 4, 7)]
    assert all(x["scale"]["domain"] == [0.5, 12.5] for x in frames)
    assert frames[0]["axis"]["values"] == list(range(1, 13))


def test_tooltips_give_the_exact_values():
    spec = curve_chart(HISTORIES["near perfect"], "accuracy", 3).to_dict()
    tooltip = {entry["field"]: entry.get("format") for entry in spec["encoding"]["tooltip"]}
    assert tooltip == {"epoch": "d", "curve": None, "value": ".2%"}
    assert curve_chart(HISTORIES["tiny loss"], "loss", 5, log_scale=True).to_dict()["encoding"]["y"]["scale"][
        "type"] == "log"


def test_log_scale_is_refused_quietly_for_a_zero_loss():
    history = [{"epoch": 1, "loss": 0.0, "val_loss": 0.01}]
    spec = curve_chart(history, "loss", 1, log_scale=True).to_dict()
    assert spec["encoding"]["y"]["scale"]["type"] == "linear"

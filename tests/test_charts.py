"""Chart builders through to_dict(): marks, encodings, and a spec that does not change with the data."""

import json

import pandas as pd
import pytest

from core.data import load
from core.engine import TrainConfig, train
from ui import charts
from ui.buffers import LiveBuffers

BUILDERS = {
    "curves": lambda df: charts.curves(df, ("loss", "val_loss"), "Loss", "loss"),
    "heatmap": charts.heatmap,
    "profile": charts.profile,
    "bands": charts.percentile_bands,
    "fractions": charts.fractions,
}


def _frame(steps):
    b = LiveBuffers()
    for r in train(TrainConfig(depth=3, width=16, steps=steps, probe_every=5), load("digits", 0)):
        b.add(r)
    return b.frame()


def _layers(d):
    """Every leaf view of a (possibly nested) layer chart."""
    return [leaf for sub in d["layer"] for leaf in (_layers(sub) if "layer" in sub else [sub])]


@pytest.mark.parametrize("name", BUILDERS)
def test_spec_is_fixed_across_redraws(name):
    small, large = BUILDERS[name](_frame(6)), BUILDERS[name](_frame(40))
    d_small, d_large = small.to_dict(), large.to_dict()
    for d in (d_small, d_large):
        d.pop("datasets"), d.pop("data")
    assert d_small == d_large


def test_curves_encode_step_and_value_and_mark_divergence():
    d = BUILDERS["curves"](_frame(6)).to_dict()
    line, rule, _text = _layers(d)
    assert line["mark"]["type"] == "line"
    assert line["encoding"]["x"]["field"] == "step" and line["encoding"]["y"]["field"] == "value"
    assert line["transform"][0]["filter"]["oneOf"] == ["loss", "val_loss"]
    assert rule["mark"]["type"] == "rule" and rule["encoding"]["x"]["field"] == "value"
    assert "diverged" in json.dumps(rule["transform"])


def test_heatmap_has_log_colour_and_layers():
    d = charts.heatmap(_frame(6)).to_dict()
    assert d["mark"]["type"] == "rect"
    assert d["encoding"]["color"]["scale"]["type"] == "log"
    assert d["encoding"]["y"]["field"] == "layer"


def test_profile_is_log_y_and_bands_use_percentiles():
    assert charts.profile(_frame(6)).to_dict()["encoding"]["y"]["scale"]["type"] == "log"
    bands = charts.percentile_bands(_frame(6)).to_dict()
    area = _layers(bands)[0]
    assert area["encoding"]["y"]["field"] == "preact_p15" and area["encoding"]["y2"]["field"] == "preact_p85"


def test_fractions_axis_is_zero_to_one():
    d = charts.fractions(_frame(6)).to_dict()
    assert d["encoding"]["y"]["scale"]["domain"] == [0, 1]


def test_heatmap_step_axis_is_quantitative_with_cells_to_the_next_probe():
    d = charts.heatmap(_frame(40)).to_dict()
    assert d["encoding"]["x"]["type"] == "quantitative" and d["encoding"]["x2"]["field"] == "step_end"
    assert any(t.get("window") for t in d["transform"])


def test_sweep_draws_diverged_rates_instead_of_dropping_them():
    import pandas as pd

    df = pd.DataFrame({"optimizer": ["adam", "adam"], "lr": [0.01, 1.0], "accuracy": [0.9, 0.0],
                       "diverged": [False, True]})
    d = charts.sweep(df).to_dict()
    marks = [layer["mark"] for layer in d["layer"]]
    assert {"type": "point", "shape": "cross", "size": 90, "filled": True} in marks
    assert len(d["datasets"][next(iter(d["datasets"]))]) == 2  # both rates reach the chart


def test_log_and_symlog_scales():
    df = _frame(6)
    assert charts.curves(df, ("loss",), "", "", log=True).to_dict()["layer"][0]["encoding"]["y"]["scale"] == {
        "type": "log"}
    assert charts.curves(df, ("loss",), "", "", symlog=True).to_dict()["layer"][0]["encoding"]["y"]["scale"] == {
        "type": "symlog"}


def test_a_step_axis_starts_at_zero_with_whole_number_ticks():
    """One point so far (validation at step 20) must not make a zero-width domain with a "20.000000" tick."""
    df = pd.DataFrame({"run": ["a"], "step": [20], "metric": ["val_accuracy"], "layer": [None], "value": [0.3]})
    spec = charts.curves(df, ("val_accuracy",), "t", "y").to_dict()
    x = spec["layer"][0]["encoding"]["x"]
    assert x["scale"]["domainMin"] == 0 and x["axis"]["format"] == "d"

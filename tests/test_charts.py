"""Chart builders through to_dict(): marks, encodings, and a spec that does not change with the data."""

import json

import numpy as np
import pandas as pd
import pytest

from core import seeds
from core.data import load
from core.engine import TrainConfig, train
from ui import charts
from ui.buffers import LiveBuffers


def _over_two_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """The frame as the seeds' band of two members, the second 10% above the first."""
    return seeds.band(pd.concat([df.assign(run="net@seed0"), df.assign(run="net@seed1", value=df["value"] * 1.1)],
                                ignore_index=True))


BUILDERS = {
    "curves": lambda df: charts.curves(df, ("loss", "val_loss"), "Loss", "loss"),
    "curves over seeds": lambda df: charts.curves(_over_two_seeds(df), ("loss", "val_loss"), "Loss", "loss"),
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


def test_a_run_on_seeds_is_drawn_as_its_mean_with_a_band_from_the_lowest_to_the_highest_seed():
    df = _frame(6)
    d = BUILDERS["curves over seeds"](df).to_dict()
    band, line, *_rules = _layers(d)
    assert band["mark"]["type"] == "area" and line["mark"]["type"] == "line"
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("lo", "hi")
    data = _over_two_seeds(df)
    loss = data[data["metric"] == "loss"]
    first = df[df["metric"] == "loss"]["value"].to_numpy()
    assert np.allclose(loss["lo"], first) and np.allclose(loss["hi"], first * 1.1, rtol=1e-6)
    assert np.allclose(loss["value"], first * 1.05, rtol=1e-6)


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


def test_every_registered_entity_has_its_own_colour_and_none_is_red():
    """The palette is keyed by entity: each optimizer, activation, init, transfer variant and BN placement."""
    from core.experiments import batchnorm, transfer
    from core.nets import ACTIVATIONS, INITS
    from core.optim import OPTIMIZERS

    families = {"optimizer": list(OPTIMIZERS), "activation": list(ACTIVATIONS), "init": list(INITS),
                "variant": [*transfer.VARIANTS, transfer.MODEL_A], "mode": list(transfer.CnnConfig.__dataclass_fields__[
                    "mode"].metadata["choices"])}
    for family, names in families.items():
        colours = [charts.entity_colour(family, n) for n in names]
        assert None not in colours, (family, names, colours)
        assert len(set(colours)) == len(colours), family
    bn = [charts.entity_colour("variant", v) for v in batchnorm.VARIANTS]
    assert None not in bn and len(set(bn)) == len(bn)
    assert "#d62728" not in charts.PALETTE  # red marks divergence and the minima only


def _colours_of(chart) -> dict:
    enc = chart.to_dict()
    views = _layers(enc) if "layer" in enc else [enc]
    scale = next(v["encoding"]["color"]["scale"] for v in views if "color" in v.get("encoding", {}))
    return dict(zip(scale["domain"], scale["range"], strict=True))


def _runs_frame(runs, field="optimizer"):
    rows = [(r, s, m, None, 1.0 / s) for r in runs for s in (1, 2, 3) for m in ("loss", "val_loss")]
    df = pd.DataFrame(rows, columns=["run", "step", "metric", "layer", "value"])
    df[field] = df["run"].str.split("@").str[0]
    return df


def test_the_same_optimizer_has_the_same_colour_in_two_different_runs_and_charts():
    one = _colours_of(charts.curves(_runs_frame(["adam", "sgd", "nadam"]), ("loss", "val_loss"), "", ""))
    two = _colours_of(charts.curves(_runs_frame(["rmsprop", "adam"]), ("loss",), "", ""))
    three = _colours_of(charts.fractions(_runs_frame(["adam", "momentum"])))
    assert one["adam"] == two["adam"] == three["adam"] == charts.entity_colour("optimizer", "adam")
    assert len(set(one.values())) == 3
    assert list(one) == ["sgd", "adam", "nadam"]  # the legend in the registry's order, not alphabetical


def test_runs_sharing_an_entity_still_get_distinct_colours():
    """Vanishing runs `sigmoid-normal` and `sigmoid-xavier_uniform` differ by init: they are coloured by init."""
    df = _runs_frame(["sigmoid-normal", "sigmoid-he_normal"], "activation")
    df["activation"] = "sigmoid"
    df["init"] = df["run"].str.split("-").str[1]
    colours = _colours_of(charts.curves(df, ("loss",), "", ""))
    assert colours == {"sigmoid-normal": charts.entity_colour("init", "normal"),
                       "sigmoid-he_normal": charts.entity_colour("init", "he_normal")}


def test_train_and_validation_differ_by_dash_not_colour():
    d = charts.curves(_runs_frame(["adam"]), ("loss", "val_loss"), "", "").to_dict()
    line = _layers(d)[0]["encoding"]
    assert line["color"]["field"] == "run" and line["strokeDash"]["field"] == "metric"
    assert line["strokeDash"]["scale"]["domain"] == ["loss", "val_loss"]  # solid first: train


def test_smoothing_is_tensorboards_debiased_ema_per_run_and_leaves_evaluations_raw():
    df = _runs_frame(["adam", "sgd"])
    df["value"] = [float(v) for v in range(len(df))]
    out = charts.smooth(df, 0.6)
    for run in ("adam", "sgd"):
        raw = df[(df.run == run) & (df.metric == "loss")].sort_values("step")["value"].tolist()
        last, expected = 0.0, []
        for i, x in enumerate(raw, start=1):  # TensorBoard's loop, written out
            last = 0.6 * last + 0.4 * x
            expected.append(last / (1 - 0.6 ** i))
        got = out[(out.run == run) & (out.metric == "loss")].sort_values("step")["value"].tolist()
        assert got == pytest.approx(expected)
    assert out[out.metric == "val_loss"]["value"].tolist() == df[df.metric == "val_loss"]["value"].tolist()
    assert charts.smooth(df, 0.0) is df


def test_the_display_choice_sets_a_log_loss_axis_but_leaves_accuracy_linear():
    df = _runs_frame(["adam"])
    with charts.display(log_loss=True):
        loss = _layers(charts.curves(df, ("loss", "val_loss"), "", "").to_dict())[0]["encoding"]["y"]["scale"]
        acc = _layers(charts.curves(df, ("accuracy",), "", "").to_dict())[0]["encoding"]["y"]["scale"]
    plain = _layers(charts.curves(df, ("loss", "val_loss"), "", "").to_dict())[0]["encoding"]["y"]["scale"]
    assert loss == {"type": "log"} and acc.get("type") is None and plain.get("type") is None


def test_a_step_axis_spans_the_planned_steps_from_the_first_redraw():
    with charts.step_axis(1500):
        early = charts.curves(_frame(6), ("loss",), "", "").to_dict()
        late = charts.curves(_frame(40), ("loss",), "", "").to_dict()
    assert _layers(early)[0]["encoding"]["x"]["scale"] == {"domain": [0, 1500], "nice": False}
    for d in (early, late):
        d.pop("datasets"), d.pop("data")
    assert early == late


@pytest.mark.parametrize("name", BUILDERS)
def test_the_live_redraws_spec_is_streamlits_own_conversion_and_valid(name):
    """ui.vega.spec skips altair's schema validation: against Streamlit's own altair_chart conversion (the
    reference), the same spec to the byte, its datasets' names and Arrow bytes included (so the browser gets the
    same element either way); and the chart validates."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from ui import vega

    df = _frame(40)
    ours, theirs = vega.spec(BUILDERS[name](df)), _convert_altair_to_vega_lite_spec(BUILDERS[name](df))
    assert ours["datasets"] and ours == theirs
    BUILDERS[name](df).to_dict(validate=True)  # raises on a spec Vega-Lite's schema refuses


def test_a_redraw_with_other_data_names_its_data_anew():
    """A dataset's name is a hash of its bytes, as Streamlit names it: new data, a new name; the same data,
    the same name."""
    from ui import vega

    early, late = _frame(10), _frame(40)
    names = [set(vega.spec(charts.heatmap(f))["datasets"]) for f in (early, late, late)]
    assert names[0] != names[1] and names[1] == names[2]


def test_a_cached_spec_is_built_once_per_setting_and_language():
    from core.i18n import using
    from ui import vega

    built = []

    def build(v=1.0):
        built.append(v)
        return charts.bars(pd.DataFrame({"run": ["a"], "seconds": [v]}), "seconds", "run", "t", "s")

    first = vega.cached_spec(("test-bars", 1.0), build)
    assert vega.cached_spec(("test-bars", 1.0), build) is first and built == [1.0]
    vega.cached_spec(("test-bars", 2.0), lambda: build(2.0))
    with using("ko"):
        vega.cached_spec(("test-bars", 1.0), build)
    assert built == [1.0, 2.0, 1.0]


def test_a_loss_curves_data_go_without_the_empty_layer_column_or_pandas_metadata():
    import pyarrow as pa
    from streamlit import dataframe_util

    from ui import vega

    df = _frame(40)
    loss = df[df["metric"].isin(["loss", "val_loss"])]
    table = vega.table(loss)
    assert "layer" not in table.column_names and table.num_rows == len(loss)
    sent = next(iter(vega.spec(charts.curves(loss, ("loss", "val_loss"), "t", "y"))["datasets"].values()))
    assert pa.ipc.open_stream(sent).read_all().column_names == table.column_names
    assert len(sent) < 0.8 * len(dataframe_util.convert_anything_to_arrow_bytes(loss))


def test_the_gallerys_cached_spec_is_streamlits_own_conversion():
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from core import gallery
    from ui import vega

    params = gallery.parameters(gallery.GalleryConfig())
    table = gallery.table(["relu", "sigmoid", "rrelu"], **params)  # once: RReLU's band is sampled

    def build():
        return charts.gallery(table)

    assert vega.spec(build()) == _convert_altair_to_vega_lite_spec(build())
    build().to_dict(validate=True)


def test_the_heatmaps_colour_legend_shows_two_significant_digits():
    legend = charts.heatmap(_frame(10)).to_dict()["encoding"]["color"]["legend"]
    assert legend["format"] == ".2~g"



def _growing_frames(experiment: str, cfg_changes: dict, cuts: tuple[int, ...]):
    """A run's annotated frames as a live run redraws them: after `cuts` steps each."""
    import dataclasses

    from core.experiments import experiments

    exp = experiments()[experiment]
    cfg = dataclasses.replace(exp.config(), **cfg_changes)
    records = list(exp.run(cfg))
    for cut in cuts:
        b = LiveBuffers()
        for r in records:
            if r.step <= cut:
                b.add(r)
        yield exp.runs.annotate(b.frame())


def _filled_or_built(build, frame, built: list):
    """What a live redraw sends for `build(frame)`: a kept template filled in, or the chart built (counted)."""
    from ui import vega

    with vega.filling():
        out = build(frame)
        if isinstance(out, dict):
            return out
        built.append(1)
        return vega.finish(vega.spec(out))


CUTS = (2, 5, 11, 30, 40, 60)
TEMPLATED = {
    **BUILDERS,
    "accuracy": lambda df: charts.curves(df, ("accuracy", "val_accuracy"), "Accuracy", "accuracy"),
    "per_layer": lambda df: charts.per_layer(df, "act_mean", "Mean", "mean", domain=[-1, 1]),
    "band_over_time": lambda df: charts.band_over_time(df, 2, "Layer 2"),
}


@pytest.mark.parametrize(("experiment", "changes"), [
    ("vanishing", {"steps": 60, "probe_every": 5, "eval_every": 10}),
    ("activations", {"activations": ("relu", "elu", "sigmoid"), "steps": 40, "depth": 4}),
    ("batchnorm", {"steps": 40, "depth": 4, "variants": ("no_bn", "bn_before")}),
])
def test_a_kept_template_filled_with_new_data_is_the_chart_built_anew(experiment, changes):
    """ui.vega.templated over a run's redraws, against building every chart anew (ui.vega.spec, itself
    Streamlit's own conversion): the same spec at every redraw, from a kept template at most of them."""
    from ui import vega

    vega._KEPT.clear()
    built = {name: [] for name in TEMPLATED}
    for frame in _growing_frames(experiment, changes, CUTS):
        for name, build in TEMPLATED.items():
            assert _filled_or_built(build, frame, built[name]) == vega.spec(build(frame)), name
    assert all(len(b) < len(CUTS) for b in built.values()), {k: len(v) for k, v in built.items()}


def test_a_second_run_with_the_same_settings_draws_from_kept_templates():
    from ui import vega

    vega._KEPT.clear()
    frames, built = list(_growing_frames("vanishing", {"steps": 30}, (2, 30))), []
    for frame in frames:
        _filled_or_built(charts.heatmap, frame, built)
    assert len(built) == 2  # step 2 and step 30 differ in their metrics present: built each
    for frame in frames:
        _filled_or_built(charts.heatmap, frame, built)
    assert len(built) == 2
    with charts.display(True, 0.0):  # other settings: another template
        _filled_or_built(charts.heatmap, frames[0], built)
    assert len(built) == 3


def test_a_chart_whose_data_is_not_its_frame_is_always_built():
    """Smoothed curves draw a frame of their own (not the one given), so no template is kept for them."""
    from ui import vega

    vega._KEPT.clear()
    built = []

    def build(df):
        with charts.display(False, 0.6):
            return charts.curves(df, ("loss", "val_loss"), "Loss", "loss")

    for frame in _growing_frames("vanishing", {"steps": 40}, (20, 30, 40, 40)):
        assert _filled_or_built(build, frame, built) == vega.spec(build(frame))
    assert len(built) == 4


def test_a_raster_colours_each_value_as_vegas_rgb_scale_would_bottom_row_last():
    """charts.raster against the scale's formula: a value v on stops c0, c1, c2 over [0, 1] is c0 + 2v (c1 − c0)
    below 0.5 and c1 + (2v − 1)(c2 − c1) above, rounded, per RGB channel; an image lists its top row first."""
    import base64
    import io

    from PIL import Image

    stops = ("#2166ac", "#f7f7f7", "#b2182b")
    rgb = [np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in stops]
    values = np.array([[0.0, 0.25, 0.5], [0.75, 1.0, np.nan]])  # row 0: the bottom one
    url = charts.raster(values, stops)
    assert url.startswith("data:image/png;base64,")
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))
    assert image.shape == (2, 3, 4)

    def colour(v):
        low, high, share = (rgb[0], rgb[1], 2 * v) if v <= 0.5 else (rgb[1], rgb[2], 2 * v - 1)
        return np.rint(low + share * (high - low))

    for row in range(2):
        for col in range(3):
            pixel = image[1 - row, col]  # the image's bottom row is the array's row 0
            if np.isnan(values[row, col]):
                assert pixel[3] == 0
            else:
                assert pixel[3] == 255 and np.array_equal(pixel[:3], colour(values[row, col]))

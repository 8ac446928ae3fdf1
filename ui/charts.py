"""Pure altair builders: a long-form records DataFrame in, a chart out (no streamlit here).

Every builder filters its metrics inside the spec, so the spec stays the same from one redraw
to the next and only the data changes: the browser updates the view rather than rebuilding it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
from PIL import Image

from core.experiments import batchnorm, transfer
from core.i18n import N_, _
from core.nets import ACTIVATIONS, INITS
from core.optim import OPTIMIZERS
from ui import vega
from ui.vega import table

HEIGHT = 220
LEGEND_ROW = 22  # pixels per entry of a vertical legend (a row and its padding)

# What a metric is called on a chart (axis titles, legends); the records keep their ids.
METRIC_NAMES = {
    "loss": N_("training loss"), "val_loss": N_("validation loss"), "accuracy": N_("training accuracy"),
    "val_accuracy": N_("validation accuracy"), "grad_norm": N_("gradient norm"), "update_ratio": N_("update ÷ weight"),
    "saturated_fraction": N_("saturated"), "dead_fraction": N_("dead"), "inactive_fraction": N_("inactive"),
    "negative_fraction": N_("negative on every example"), "revived_fraction": N_("revived"),
    "act_mean": N_("mean activation"), "act_std": N_("activation std"), "lr": N_("learning rate"),
    "running_mean_err": N_("running mean error"), "running_var_err": N_("running variance error"),
    "step length": N_("step length"),  # the optimizers page's distance moved per step
}
FIRST, LATEST = "first probe", "latest"  # the `when` values of the first/latest charts
MODES = (N_("eval (running stats)"), N_("train (batch stats)"))  # mode_gap's `mode` values (core.experiments.batchnorm)
# Hangul needs a CJK font (Debian's fonts-noto-cjk): Streamlit's chart font first, then one that has it.
FONT = ('"Source Sans", "Source Sans Pro", "Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", '
        '"Malgun Gothic", sans-serif')


@alt.theme.register("lab", enable=True)
def _theme() -> alt.theme.ThemeConfig:
    """Every chart's text in FONT (a chart's own config overrides Streamlit's theme)."""
    return alt.theme.ThemeConfig(config={"font": FONT})


# One colour per thing, on every chart and every page: each optimizer, activation, initialisation,
# transfer variant and BN placement has its own, whatever else a chart shows. No red in it: red
# marks divergence and the known minima. Families never share a chart, so each starts at the first.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#e7ba52", "#393b79", "#006d5b", "#7f7f7f")  # grey last: no optimizer path is grey on the grey map
# A run's entity families and their members in legend order, from the registries themselves: a new activation,
# optimizer, initialisation or variant gets a colour of its own with no edit here.
FAMILIES = {
    "optimizer": tuple(OPTIMIZERS),
    "activation": tuple(ACTIVATIONS),
    "variant": (*transfer.VARIANTS, transfer.MODEL_A, *batchnorm.VARIANTS),
    "init": tuple(INITS),
    "mode": transfer.VARIANTS,  # the CNN's frozen and finetune keep the colours transfer's variants have
}
_BN = tuple(batchnorm.VARIANTS)  # BN placements: a family of their own within `variant`
ENTITY_FIELDS = tuple(FAMILIES)  # a run's entity: the first of its fields (RunNames.annotate's columns) that varies


def entity_colour(family: str, value: str) -> str | None:
    """The fixed colour of one entity (None for a value its family does not list)."""
    names = _BN if family == "variant" and value in _BN else FAMILIES.get(family, ())
    return PALETTE[names.index(value) % len(PALETTE)] if value in names else None


def _runs(df: pd.DataFrame) -> list[str]:
    """The chart's run names in order of appearance (experiment-wide note rows, run "", aside)."""
    return [r for r in dict.fromkeys(df["run"].astype(str)) if r] if "run" in df.columns and len(df) else []


def _run_entities(df: pd.DataFrame) -> tuple[str | None, dict[str, str]]:
    """Which field names what each run is, and each run's value of it: the first entity field that
    differs between the chart's runs (a lone run: the first it has); runs without one map to nothing."""
    firsts = df.drop_duplicates("run") if "run" in df.columns else df.iloc[:0]
    runs, best = _runs(firsts), None
    for f in ENTITY_FIELDS:
        if f not in firsts.columns:
            continue
        values = dict(zip(firsts["run"].astype(str), firsts[f], strict=True))
        named = {r: values[r] for r in runs if isinstance(values.get(r), str)}
        if not named:
            continue
        if best is None:
            best = (f, named)
        if len(set(named.values())) > 1:
            return f, named
    if best is None:  # no entity column (a frame pivoted by the page): run names that are entities themselves
        family = next((f for f, names in FAMILIES.items() if runs and set(runs) <= set(names)), None)
        return (family, {r: r for r in runs}) if family else (None, {})
    return best


def colour_scale(values, family: str | None = None, entities: dict | None = None) -> alt.Scale:
    """An explicit colour scale over `values`: each value's entity colour where it has one (`family`
    names the values' family, or `entities` maps each to a family value), the next unused palette
    colour otherwise, never one colour twice. Ordered as its family lists them, so the legend is too."""
    values = list(dict.fromkeys(str(v) for v in values))
    entities = entities if entities is not None else {v: v for v in values}
    names = FAMILIES.get(family, ())
    rank = {v: (names.index(entities[v]) if entities.get(v) in names else len(names), i) for i, v in enumerate(values)}
    values.sort(key=rank.get)
    colours, used = [], set()
    for v in values:
        c = entity_colour(family, entities.get(v)) if family and entities.get(v) is not None else None
        if c is None or c in used:
            c = next((p for p in PALETTE if p not in used), PALETTE[len(used) % len(PALETTE)])
        colours.append(c)
        used.add(c)
    return alt.Scale(domain=values, range=colours)


def run_colours(df: pd.DataFrame) -> alt.Scale:
    """The colour scale of a chart's `run` field: each run in its entity's colour."""
    family, entities = _run_entities(df)
    return colour_scale(_runs(df), family, entities)


# What a tooltip calls each field of the charts' data.
TIPS = {"run": N_("run"), "metric": N_("metric"), "step": N_("step"), "value": N_("value"), "layer": N_("layer"),
        "when": N_("when"), "source": N_("source"), "loss": N_("loss"), "lr": N_("learning rate"),
        "accuracy": N_("accuracy"), "variant": N_("variant"), "optimizer": N_("optimizer"), "mode": N_("mode"),
        "batch_size": N_("batch size"), "mean": N_("mean"), "sd": N_("std"), "name": N_("activation"),
        "diverged": N_("diverged"), "preact_p15": N_("15th percentile"), "preact_p50": N_("median"),
        "preact_p85": N_("85th percentile"), "lo": N_("lowest seed"), "hi": N_("highest seed"), "f": "f(x)",
        "df": "f′(x)", "x": "x", "y": "y"}


def _tip(shorthand: str, format: str | None = None) -> alt.Tooltip:  # noqa: A002 (altair's own name)
    """A tooltip field titled in the reader's language."""
    field = shorthand.split(":")[0]
    title = _(TIPS[field]) if field in TIPS else field
    return alt.Tooltip(shorthand, title=title, format=format) if format else alt.Tooltip(shorthand, title=title)


_steps: ContextVar[int | None] = ContextVar("steps", default=None)
LOSSES = ("loss", "val_loss")  # what the log-scale choice applies to
DENSE = ("loss", "accuracy")  # per-step series, which smoothing applies to (evaluations are sparse already)
_display: ContextVar[tuple[bool, float]] = ContextVar("display", default=(False, 0.0))


@contextlib.contextmanager
def display(log_loss: bool = False, smoothing: float = 0.0) -> Iterator[None]:
    """Curves built inside draw loss on a log axis (`log_loss`) and per-step series smoothed with
    TensorBoard's debiased exponential moving average of weight `smoothing` (0 = raw)."""
    token = _display.set((bool(log_loss), float(smoothing)))
    try:
        yield
    finally:
        _display.reset(token)


def smooth(df: pd.DataFrame, weight: float) -> pd.DataFrame:
    """Per-step series (DENSE) replaced by their debiased EMA, per run (and per overlaid series):
    s_t = (w·m_{t−1} + (1−w)·x_t) / (1 − w^t), as TensorBoard's smoothing slider; others as they are."""
    if weight <= 0 or not len(df):
        return df
    dense = df["metric"].isin(DENSE)
    keys = [c for c in ("series", "run", "metric") if c in df.columns]
    part = df[dense].sort_values("step")
    out = df.copy()
    for col in [c for c in ("value", "lo", "hi") if c in df.columns]:  # a seeds' band smoothed as its mean
        values = part.groupby(keys, observed=True, sort=False)[col].transform(
            lambda v: v.ewm(alpha=1 - weight, adjust=True).mean())
        out.loc[values.index, col] = values.astype(out[col].dtype)
    return out


@contextlib.contextmanager
def step_axis(steps: int | None) -> Iterator[None]:
    """Charts built inside span 0…`steps` on their step axis (a run's planned length), so a live chart's
    x axis is the same from its first redraw to its last; None: from 0 to the data's last step."""
    token = _steps.set(steps)
    try:
        yield
    finally:
        _steps.reset(token)


def _step_x() -> alt.X:
    """The step axis: from 0 to the run's planned steps (step_axis), else to the data's end; whole-number
    ticks, so a chart with one point so far shows 0…20 rather than a lone "20.000000" tick."""
    steps = _steps.get()
    scale = alt.Scale(domain=[0, steps], nice=False) if steps else alt.Scale(domainMin=0)
    return alt.X("step:Q", title=_("step"), scale=scale, axis=alt.Axis(format="d", tickMinStep=1))


def metric_name(metric: str) -> str:
    """A metric's name on a chart, in the current language (its id where it has none)."""
    return _(METRIC_NAMES[metric]) if metric in METRIC_NAMES else metric


def _labels(mapping: dict[str, str]) -> str:
    """A legend labelExpr that shows each data value as its translated name (others as they are)."""
    expr = "datum.label"
    for value, name in mapping.items():
        expr = f"datum.label == {json.dumps(value)} ? {json.dumps(name)} : ({expr})"
    return expr


def metric_legend(metrics, **kwargs) -> alt.Legend:
    """A legend of metric ids labelled with their names."""
    return alt.Legend(labelExpr=_labels({m: metric_name(m) for m in metrics}), **kwargs)


def _when_dash() -> alt.StrokeDash:
    """Latest probe solid, first probe dashed (colour stays the run's)."""
    return alt.StrokeDash("when:N", title=None, sort=[LATEST, FIRST], scale=alt.Scale(domain=[LATEST, FIRST]),
                          legend=alt.Legend(labelExpr=_labels({FIRST: _("first probe"), LATEST: _("latest")})))


def _metric_is(*metrics: str) -> alt.FieldOneOfPredicate:
    return alt.FieldOneOfPredicate(field="metric", oneOf=list(metrics))


def _templated(builder: Callable) -> Callable:
    """A live builder whose spec, but for its data, follows from its arguments, the settings and its frame's
    fingerprint: inside ui.vega.filling it may return a kept spec with the frame as its data."""

    @functools.wraps(builder)
    def build(df: pd.DataFrame, *args, **kwargs):
        key = (builder.__qualname__, args, tuple(sorted(kwargs.items())), _steps.get(), _display.get())
        return vega.templated(key, df, lambda: builder(df, *args, **kwargs))

    return build


def _data(df: pd.DataFrame) -> pa.Table:
    """A chart's data as Arrow without pandas' metadata and without columns empty throughout (ui.vega.table):
    Streamlit sends an Arrow table as it is, and a 100-step loss redraw's dataset shrinks from 3,440 bytes to 2,096
    (the metadata is a JSON description of every column; `layer` is empty on a loss curve)."""
    return table(df)


def _layer(df: pd.DataFrame, *layers) -> alt.LayerChart:
    """Layers drawn from one frame, the frame given to the layer rather than to each layer: the spec is the
    same (altair moves a frame its layers share up to the layer), but altair's `+` hashes each layer's
    spec, its frame's printout included, which cost a live redraw a fifth of its time."""
    return alt.layer(*layers, data=_data(df))


def _diverged_rule(base: alt.Chart) -> alt.Chart:
    """A red rule and label at the step where a run diverged (nothing if none did)."""
    marks = base.transform_filter(alt.datum.metric == "diverged")
    rule = marks.mark_rule(color="#d62728", strokeWidth=2).encode(x=alt.X("value:Q"))
    text = marks.mark_text(color="#d62728", align="left", dx=4, dy=-4, baseline="bottom").encode(
        x=alt.X("value:Q"), y=alt.YValue(12), text=alt.TextValue(_("diverged")))
    return rule + text


@_templated
def curves(df: pd.DataFrame, metrics: tuple[str, ...], title: str, y_title: str,
           log: bool = False, symlog: bool = False) -> alt.LayerChart:
    """Metric against step: a colour per run (its entity's, run_colours), a dash per metric (solid:
    the first, e.g. train; dashed: the next, e.g. validation); a red rule marks divergence. `log`
    for values that span decades; `symlog` where they also cross zero (a saddle's loss)."""
    log_loss, weight = _display.get()
    log = log or (log_loss and not symlog and set(metrics) <= set(LOSSES))
    df = smooth(df, weight)
    base = alt.Chart()  # the data goes on the layer (see _layer)
    scale = alt.Scale(type="log") if log else alt.Scale(type="symlog") if symlog else alt.Scale(zero=False)
    overlay = "series" in df.columns  # runs of the history drawn together: a colour per run (per network)
    if overlay:
        labels = list(df["series"].cat.categories) if isinstance(df["series"].dtype, pd.CategoricalDtype) \
            else list(dict.fromkeys(df["series"]))
        hue = alt.Color("series:N", title=None, scale=colour_scale(labels),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400))
    else:
        hue = alt.Color("run:N", title=None, scale=run_colours(df))
    dash = alt.StrokeDash("metric:N", title=None, sort=list(metrics), scale=alt.Scale(domain=list(metrics)),
                          legend=metric_legend(metrics)) if len(metrics) > 1 else alt.Undefined
    lines = base.transform_filter(_metric_is(*metrics)).mark_line(point=False, clip=True).encode(
        x=_step_x(),
        y=alt.Y("value:Q", title=y_title, scale=scale),
        color=hue,
        strokeDash=dash,
        detail=alt.Detail("run:N") if overlay else alt.Undefined,
        tooltip=[*([_tip("source:N")] if overlay else []), _tip("run:N"), _tip("metric:N"), _tip("step:Q"),
                 _tip("value:Q", format=".4g")],
    )
    # an overlay's legend sits below the plot, a row per run; the chart grows by it, so the plot keeps its height
    height = HEIGHT + (LEGEND_ROW * len(labels) + 20 if overlay else 0)
    layers = [lines, _diverged_rule(base)]
    if "lo" in df.columns:  # a run on several seeds (core.seeds.band): the lines are the mean, a band the range
        layers.insert(0, base.transform_filter(_metric_is(*metrics)).mark_area(opacity=0.18, clip=True).encode(
            x=_step_x(), y=alt.Y("lo:Q", scale=scale), y2=alt.Y2("hi:Q"), color=hue,
            detail=alt.Detail("metric:N"),
            tooltip=[_tip("run:N"), _tip("metric:N"), _tip("step:Q"), _tip("lo:Q", format=".4g"),
                     _tip("hi:Q", format=".4g")]))
    return _layer(df, *layers).properties(title=title, height=height)


@_templated
def heatmap(df: pd.DataFrame, metric: str = "grad_norm", title: str | None = None) -> alt.Chart:
    """Layer × step heat map of a per-layer metric on a log colour scale (input layer at the bottom);
    the step axis is quantitative, each cell spanning from its probe to the next."""
    return alt.Chart(_data(df)).transform_filter(
        (alt.datum.metric == metric) & (alt.datum.value > 0)
    ).transform_window(
        next_step="lead(step)", groupby=["run", "layer"], sort=[alt.SortField("step")]
    ).transform_calculate(
        step_end="isValid(datum.next_step) ? datum.next_step : datum.step + 1"
    ).mark_rect().encode(
        x=_step_x(), x2=alt.X2("step_end:Q"),
        y=alt.Y("layer:O", title=_("layer (1 = input side)"), sort="descending"),
        color=alt.Color("value:Q", title=metric_name(metric), scale=alt.Scale(type="log", scheme="viridis"),
                        legend=alt.Legend(format=".2~g")),  # a narrow range's ends read 2.5, not 2.51202201843
        tooltip=[_tip("step:Q"), _tip("layer:O"), _tip("value:Q", format=".3g")],
    ).properties(title=title or _("Gradient norm by layer"), height=HEIGHT)


def _first_and_latest(chart: alt.Chart) -> alt.Chart:
    """Keep the first and the latest probe step of each run, labelled in a `when` field."""
    return chart.transform_joinaggregate(
        first="min(step)", latest="max(step)", groupby=["run"]
    ).transform_filter(
        (alt.datum.step == alt.datum.first) | (alt.datum.step == alt.datum.latest)
    ).transform_calculate(
        when=alt.expr.if_(alt.datum.step == alt.datum.latest, LATEST, FIRST)
    )


@_templated
def profile(df: pd.DataFrame, metric: str = "grad_norm", title: str | None = None) -> alt.Chart:
    """A per-layer metric against layer at the first and the latest probe step, log y."""
    base = _first_and_latest(alt.Chart(_data(df)).transform_filter(
        (alt.datum.metric == metric) & (alt.datum.value > 0)))
    return base.mark_line(point=True).encode(
        x=alt.X("layer:Q", title=_("layer (1 = input side)"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=metric_name(metric), scale=alt.Scale(type="log")),
        color=alt.Color("run:N", title=None, scale=run_colours(df)),
        strokeDash=_when_dash(),
        tooltip=[_tip("run:N"), _tip("when:N"), _tip("layer:Q"), _tip("value:Q", format=".3g")],
    ).properties(title=title or _("Gradient profile"), height=HEIGHT)


@_templated
def percentile_bands(df: pd.DataFrame, title: str | None = None) -> alt.LayerChart:
    """Per-layer band of the activation input's 15th–85th percentiles with the median, first and latest."""
    base = _first_and_latest(alt.Chart().transform_filter(
        _metric_is("preact_p15", "preact_p50", "preact_p85")
    ).transform_pivot("metric", value="value", groupby=["run", "step", "layer"]))
    x = alt.X("layer:Q", title=_("layer (1 = input side)"), axis=alt.Axis(tickMinStep=1))
    color = alt.Color("run:N", title=None, scale=run_colours(df))
    band = base.mark_area().encode(
        x=x, y=alt.Y("preact_p15:Q", title=_("activation input")), y2=alt.Y2("preact_p85:Q"), color=color,
        opacity=alt.Opacity("when:N", legend=None, scale=alt.Scale(domain=[FIRST, LATEST], range=[0.12, 0.3])),
        detail=alt.Detail("when:N"))
    median = base.mark_line(point=True).encode(
        x=x, y=alt.Y("preact_p50:Q"), color=color, strokeDash=_when_dash(),
        tooltip=[_tip("run:N"), _tip("when:N"), _tip("layer:Q"), _tip("preact_p15:Q", format=".3g"),
                 _tip("preact_p50:Q", format=".3g"), _tip("preact_p85:Q", format=".3g")])
    return _layer(df, band, median).properties(title=title or _("Activation input: 15th–85th percentile"),
                                               height=HEIGHT)


@_templated
def fractions(df: pd.DataFrame, title: str | None = None) -> alt.Chart:
    """Saturated (bounded activations) or dead and inactive (ReLU-like) fractions against layer at
    the latest probe step."""
    return alt.Chart(_data(df)).transform_filter(
        _metric_is("saturated_fraction", "dead_fraction", "inactive_fraction")
    ).transform_joinaggregate(latest="max(step)", groupby=["run"]).transform_filter(
        alt.datum.step == alt.datum.latest
    ).mark_line(point=True).encode(
        x=alt.X("layer:Q", title=_("layer (1 = input side)"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=_("fraction of units"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", title=None, scale=run_colours(df)),
        strokeDash=alt.StrokeDash("metric:N", title=None,
                                  legend=metric_legend(("saturated_fraction", "dead_fraction", "inactive_fraction"))),
        tooltip=[_tip("run:N"), _tip("metric:N"), _tip("layer:Q"), _tip("value:Q", format=".2f")],
    ).properties(title=title or _("Saturated, dead and inactive units (latest probe)"), height=HEIGHT)


def gallery(df: pd.DataFrame, columns: int = 4) -> alt.FacetChart:
    """One panel per activation: f and f' against x, saturation shaded, RReLU's training band."""
    base = alt.Chart()
    x = alt.X("x:Q", title=_("x"))
    shade = base.transform_filter(alt.datum.saturated).mark_rect(color="#d62728", opacity=0.12).encode(
        x=x, x2=alt.X2("x_next:Q"))
    band = base.transform_filter("isValid(datum.band_lo)").mark_area(opacity=0.3, color="#4c78a8", clip=True).encode(
        x=x, y=alt.Y("band_lo:Q"), y2=alt.Y2("band_hi:Q"))
    lines = base.transform_fold(["f", "df"], as_=["curve", "y"]).transform_calculate(
        curve=alt.expr.if_(alt.datum.curve == "f", "f(x)", "f′(x)")
    ).mark_line(clip=True).encode(
        x=x, y=alt.Y("y:Q", title=None, scale=alt.Scale(domain=[-2, 3])),
        color=alt.Color("name:N", legend=None, scale=colour_scale(df["name"], "activation")),
        strokeDash=alt.StrokeDash("curve:N", title=None, sort=["f(x)", "f′(x)"]),
        tooltip=[_tip("name:N"), _tip("x:Q", format=".2f"), _tip("f:Q", format=".3f"),
                 _tip("df:Q", format=".3f")],
    )
    order = list(dict.fromkeys(df["label"]))  # the caller's order, not alphabetical
    return alt.layer(shade, band, lines, data=_data(df)).properties(width=170, height=150).facet(
        facet=alt.Facet("label:N", title=None, sort=order, header=alt.Header(labelFontSize=12)), columns=columns)


@_templated
def per_layer(df: pd.DataFrame, metric: str, title: str, y_title: str, domain: list | None = None,
              zero: bool = False) -> alt.FacetChart:
    """A per-layer metric over steps, one panel (row) per run, one line per layer (coloured input → output);
    `zero` keeps zero on the axis (for a claim about closeness to zero)."""
    scale = alt.Scale(domain=domain) if domain else alt.Scale(zero=zero)
    return alt.Chart(_data(df)).transform_filter(alt.datum.metric == metric).mark_line().encode(
        x=_step_x(),
        y=alt.Y("value:Q", title=y_title, scale=scale),
        color=alt.Color("layer:O", title=_("layer"), scale=alt.Scale(scheme="viridis")),
        tooltip=[_tip("run:N"), _tip("layer:O"), _tip("step:Q"), _tip("value:Q", format=".3f")],
    ).properties(width=280, height=90).facet(
        row=alt.Row("run:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
    ).properties(title=title)


@_templated
def bars(df: pd.DataFrame, x: str, y: str, title: str, x_title: str, fmt: str = ".2f") -> alt.Chart:
    """A horizontal bar per row: `y` names it, `x` is its value."""
    return alt.Chart(_data(df), title=title).mark_bar().encode(
        x=alt.X(f"{x}:Q", title=x_title), y=alt.Y(f"{y}:N", title=None, sort="-x"),
        color=alt.Color(f"{y}:N", legend=None, scale=run_colours(df) if y == "run" else colour_scale(df[y])),
        tooltip=[_tip(f"{y}:N"), _tip(f"{x}:Q", format=fmt)],
    ).properties(height=alt.Step(24))


@_templated
def band_over_time(df: pd.DataFrame, layer: int, title: str) -> alt.LayerChart:
    """One layer's activation-input percentiles over steps: a 15th–85th band and the median, per run."""
    base = alt.Chart().transform_filter(
        _metric_is("preact_p15", "preact_p50", "preact_p85") & (alt.datum.layer == layer)
    ).transform_pivot("metric", value="value", groupby=["run", "step"])
    color = alt.Color("run:N", title=None, scale=run_colours(df))
    band = base.mark_area(opacity=0.25).encode(
        x=_step_x(), y=alt.Y("preact_p15:Q", title=_("activation input")), y2=alt.Y2("preact_p85:Q"),
        color=color)
    median = base.mark_line().encode(
        x=alt.X("step:Q"), y=alt.Y("preact_p50:Q"), color=color,
        tooltip=[_tip("run:N"), _tip("step:Q"), _tip("preact_p15:Q", format=".2f"),
                 _tip("preact_p50:Q", format=".2f"), _tip("preact_p85:Q", format=".2f")])
    return _layer(df, band, median).properties(title=title, height=HEIGHT)


@_templated
def mode_gap(df: pd.DataFrame) -> alt.Chart:
    """Validation accuracy against evaluation batch size, in eval mode and in train mode, per run."""
    return alt.Chart(_data(df), title=_("Eval mode vs train mode (batch statistics)")).mark_line(point=True).encode(
        x=alt.X("batch_size:Q", title=_("evaluation batch size"), scale=alt.Scale(type="log", base=2)),
        y=alt.Y("accuracy:Q", title=_("validation accuracy"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", title=None, scale=run_colours(df)),
        strokeDash=alt.StrokeDash("mode:N", title=None, sort=list(MODES),
                                  legend=alt.Legend(labelExpr=_labels({m: _(m) for m in MODES}))),
        tooltip=[_tip("run:N"), _tip("mode:N"), _tip("batch_size:Q"), _tip("accuracy:Q", format=".3f")],
    ).properties(height=HEIGHT)


MAP_RAMP = ["#fbfbfb", "#8d8d8d"]  # the surface's greys: every path colour (PALETTE) stands out on them


def surface_map(grid: pd.DataFrame, paths: pd.DataFrame, minima: pd.DataFrame, window: tuple, title: str,
                cell: tuple[float, float], contours: pd.DataFrame | None = None) -> alt.LayerChart:
    """The surface as a grey map (loss on a symmetric-log scale, with its legend; click a cell to
    start there), contour lines over it, each optimizer's path in its own colour on top, and the
    known minima as red diamonds. `grid` holds cell centres (x, y, loss) of size `cell`."""
    x_lo, x_hi, y_lo, y_hi = window
    xs, ys = alt.Scale(domain=[x_lo, x_hi], nice=False), alt.Scale(domain=[y_lo, y_hi], nice=False)
    pick = alt.selection_point(name="start", fields=["x", "y"], on="click", empty=False)
    dx, dy = (0.56 * c for c in cell)  # half a cell and a little: neighbours overlap, no anti-aliasing seams
    heat = alt.Chart(_data(grid)).transform_calculate(
        x0=f"datum.x - {dx!r}", x1=f"datum.x + {dx!r}", y0=f"datum.y - {dy!r}", y1=f"datum.y + {dy!r}"
    ).mark_rect().encode(
        x=alt.X("x0:Q", scale=xs, title=_("x")), x2=alt.X2("x1:Q"),
        y=alt.Y("y0:Q", scale=ys, title=_("y")), y2=alt.Y2("y1:Q"),
        color=alt.Color("loss:Q", title=_("loss"), scale=alt.Scale(type="symlog", range=MAP_RAMP),
                        legend=alt.Legend(orient="top", direction="horizontal", gradientLength=260,
                                          format=".2~s", titleOrient="left")),
        tooltip=[_tip("x:Q", format=".2f"), _tip("y:Q", format=".2f"), _tip("loss:Q", format=".3g")],
    ).add_params(pick)
    layers = [heat]
    if contours is not None and len(contours):
        layers.append(alt.Chart(_data(contours)).mark_line(color="#4a4a4a", strokeWidth=0.8, opacity=0.55, clip=True)
                      .encode(x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), detail=alt.Detail("line:N"),
                              order=alt.Order("order:Q")))
    path = alt.Chart(_data(paths)).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), order=alt.Order("step:Q"),
        color=alt.Color("run:N", title=None, scale=run_colours(paths)),
        tooltip=[_tip("run:N"), _tip("step:Q"), _tip("x:Q", format=".3f"), _tip("y:Q", format=".3f"),
                 _tip("loss:Q", format=".3g")],
    )
    layers.append(alt.layer(path.mark_line(clip=True, strokeWidth=2.5),  # one legend for line and dots
                            path.mark_circle(size=26, clip=True, opacity=1)))
    stars = alt.Chart(_data(minima)).mark_point(shape="diamond", size=140, color="#d62728", filled=True).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys))
    # canvas, whatever the cell count (Streamlit picks SVG for smaller data): thousands of cells and contour points
    return alt.layer(*layers, stars).resolve_scale(color="independent").properties(
        width=560, height=440, title=title, usermeta={"embedOptions": {"renderer": "canvas"}})


@_templated
def loss_vs_lr(df: pd.DataFrame) -> alt.Chart:
    """The LR range test: training loss against a growing learning rate (log x), per optimizer."""
    return alt.Chart(_data(df), title=_("LR range test: loss as the learning rate grows")).transform_filter(
        _metric_is("loss", "lr")
    ).transform_pivot("metric", value="value", groupby=["run", "step"]).transform_filter(
        "isValid(datum.lr) && isValid(datum.loss)"
    ).mark_line().encode(
        x=alt.X("lr:Q", title=_("learning rate"), scale=alt.Scale(type="log")),
        y=alt.Y("loss:Q", title=_("training loss"), scale=alt.Scale(type="log")),
        color=alt.Color("run:N", title=None, scale=run_colours(df)),
        tooltip=[_tip("run:N"), _tip("lr:Q", format=".2g"), _tip("loss:Q", format=".3g")],
    ).properties(height=HEIGHT)


def sweep(df: pd.DataFrame) -> alt.LayerChart:
    """Fair mode: each optimizer's final selection-split accuracy at each rate of the sweep; a rate
    that diverged is drawn as a cross at zero, not dropped."""
    base = alt.Chart(_data(df), title=_("Fair mode: sweep accuracy per learning rate (× diverged)")).encode(
        x=alt.X("lr:Q", title=_("learning rate"), scale=alt.Scale(type="log")),
        y=alt.Y("accuracy:Q", title=_("selection accuracy"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("optimizer:N", title=None,
                        scale=colour_scale(df["optimizer"] if len(df) else [], "optimizer")),
        tooltip=[_tip("optimizer:N"), _tip("lr:Q", format=".0e"), _tip("accuracy:Q", format=".3f"),
                 _tip("diverged:N")],
    )
    lines = base.transform_filter("!datum.diverged").mark_line(point=True)
    crosses = base.transform_filter("datum.diverged").mark_point(shape="cross", size=90, filled=True)
    return (lines + crosses).properties(height=HEIGHT)


@_templated
def seed_bands(df: pd.DataFrame, metric: str = "val_accuracy", title: str | None = None) -> alt.LayerChart:
    """Per variant: every seed's curve (thin) and the mean ± std band across seeds (the frame's
    `variant` column, parsed from the run names by the experiment)."""
    base = alt.Chart().transform_filter(alt.datum.metric == metric)
    variants = [v for v in dict.fromkeys(df["variant"].astype(str)) if v] if len(df) else []
    color = alt.Color("variant:N", title=None, scale=colour_scale(variants, "variant"))
    seeds = base.mark_line(opacity=0.25, strokeWidth=1).encode(
        x=_step_x(), y=alt.Y("value:Q", title=metric_name(metric), scale=alt.Scale(zero=False)),
        color=color, detail=alt.Detail("run:N"))
    stats = base.transform_aggregate(mean="mean(value)", sd="stdev(value)", groupby=["variant", "step"]
                                     ).transform_calculate(lo="datum.mean - (isValid(datum.sd) ? datum.sd : 0)",
                                                           hi="datum.mean + (isValid(datum.sd) ? datum.sd : 0)")
    band = stats.mark_area(opacity=0.2).encode(x=alt.X("step:Q"), y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q"), color=color)
    mean = stats.mark_line(strokeWidth=3).encode(
        x=alt.X("step:Q"), y=alt.Y("mean:Q"), color=color,
        tooltip=[_tip("variant:N"), _tip("step:Q"), _tip("mean:Q", format=".3f"), _tip("sd:Q", format=".3f")])
    return _layer(df, band, seeds, mean).properties(title=title or _("Task B validation accuracy"), height=HEIGHT)


def raster(values: np.ndarray, stops: tuple[str, ...]) -> str:
    """`values` (a 2-D array of numbers in [0, 1], its first row the bottom one) as a PNG data URL, one pixel a
    value: coloured on `stops` (hex colours spread evenly over [0, 1]) interpolated linearly in RGB, as Vega's
    scale with interpolate "rgb" colours them; a missing value (NaN) is transparent. One image costs the browser
    one element where a rect per cell cost it thousands (the playground's boundary)."""
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in stops], dtype=float)
    values = values[::-1]  # top row first, as images go
    at = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(stops) - 1)
    low = np.minimum(at.astype(int), len(stops) - 2)
    share = (at - low)[..., None]
    colours = np.rint(rgb[low] * (1 - share) + rgb[low + 1] * share)
    alpha = np.where(np.isnan(values), 0, 255)[..., None]
    out = io.BytesIO()
    Image.fromarray(np.concatenate([colours, alpha], axis=-1).astype(np.uint8)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")

"""Lesson 6: the playground — a decision boundary on 2-D points, with the chapter's knobs."""

import altair as alt
import pandas as pd
import streamlit as st

from core.i18n import N_, _
from core.nets import BOUNDED
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/playground.py")  # first: a fresh server's deep link hands over at once

from core.experiments import playground  # noqa: E402
from ui import charts, controls, lesson  # noqa: E402
from ui.page import run_section  # noqa: E402
from ui.results import ChartSpec, accuracy_chart, loss_chart  # noqa: E402

EXP = playground.EXPERIMENT
SIDE = 280  # pixels: the plane is drawn square
STOPS = ("#2166ac", "#f7f7f7", "#b2182b")  # P(class 1) = 0, 0.5, 1
COLOURS = alt.Scale(domain=[0, 1], range=list(STOPS), interpolate="rgb")  # the image's colours, as a Vega scale


def boundary_chart(df: pd.DataFrame, grid: int) -> alt.LayerChart:
    """The probability of class 1 over the plane (blue 0, red 1), one image of grid×grid pixels, with the training
    points over it."""
    values, points, step = playground.plane(df, grid)
    axis = alt.Scale(domain=[-playground.EXTENT, playground.EXTENT], nice=False)
    title = (_("Decision boundary at step {step:,}").format(step=step) if step is not None
             else _("Decision boundary"))
    # the image fills the plane: its top left corner at (-EXTENT, EXTENT), SIDE pixels a side
    image = alt.Chart(pd.DataFrame({"x": [-playground.EXTENT], "y": [playground.EXTENT],
                                    "url": [charts.raster(values, STOPS)]})).mark_image(
        width=SIDE, height=SIDE, align="left", baseline="top", aspect=False).encode(
        x=alt.X("x:Q", scale=axis, title="x₁"), y=alt.Y("y:Q", scale=axis, title="x₂"), url="url:N")
    dots = alt.Chart(points).mark_circle(size=22, stroke="white", strokeWidth=0.8, opacity=1, clip=True).encode(
        x=alt.X("x:Q", scale=axis), y=alt.Y("y:Q", scale=axis),
        color=alt.Color("label:Q", scale=COLOURS, title=_("P(class 1)"),
                        legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=SIDE - 80)),
        tooltip=[alt.Tooltip("label:Q", title=_("class"))])
    # pad: the plane itself is SIDE×SIDE, the axes and the legend around it (Streamlit's default, fit, would squeeze
    # the plane into SIDE×SIDE with them)
    return alt.layer(image, dots).properties(title=title, width=SIDE, height=SIDE,
                                             autosize=alt.AutoSizeParams(type="pad", contains="padding"))


def charts_for(cfg: playground.Config) -> list[ChartSpec]:
    """The boundary beside its cause (the gradient across the layers), then loss, accuracy and dead units."""
    return [
        ChartSpec(lambda df: boundary_chart(df, cfg.grid), (playground.BOUNDARY, *playground.POINTS), at_start=True),
        ChartSpec(lambda df: charts.profile(df, "grad_norm", _("Gradient norm per layer (first and latest probe)")),
                  ("grad_norm",)),
        loss_chart(),
        accuracy_chart(train=True),
        units_chart(cfg.activation),
    ]


def units_chart(activation: str) -> ChartSpec:
    """Per layer against step: the units that pass no gradient. A bounded activation's probe measures saturated
    units (core.probes): a sigmoid or tanh unit is never dead, but one saturated on most examples passes little."""
    metric, title = (("saturated_fraction", N_("Saturated units per layer")) if activation in BOUNDED else
                     ("dead_fraction", N_("Dead units per layer (pass no gradient)")))
    return ChartSpec(lambda df: charts.per_layer(df, metric, _(title), _("share"), zero=True), (metric,))


st.title(_("Playground"))
lesson.lead(EXP.name)
cfg = controls.config_controls(EXP)
run_section(EXP, cfg, charts_for, help=_("Train the network; the boundary is redrawn as it learns."))
lesson.folded(EXP.name, "charts", _("What the charts show"))

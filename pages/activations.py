"""Lesson 2: activation functions — the gallery, then the same network trained with each."""

import streamlit as st

from core.i18n import _
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/activations.py")  # first: a fresh server's deep link hands over at once

from core import gallery  # noqa: E402
from core.experiments import activations  # noqa: E402
from core.nets import BOUNDED  # noqa: E402
from ui import charts, controls, lesson, nav, vega  # noqa: E402
from ui.page import run_section  # noqa: E402
from ui.results import ChartSpec, accuracy_chart, loss_chart  # noqa: E402

EXP = activations.EXPERIMENT
DEAD = ChartSpec(lambda df: charts.per_layer(df, "dead_fraction", _("Dead units per layer"), _("dead fraction"),
                                             [0, 1]), ("dead_fraction",))
SATURATED = ChartSpec(lambda df: charts.per_layer(df, "saturated_fraction", _("Saturated units per layer"),
                                                  _("saturated fraction"), [0, 1]), ("saturated_fraction",))
CHARTS = [
    loss_chart(),
    accuracy_chart(),
    DEAD,
    ChartSpec(lambda df: charts.per_layer(df, "act_mean", _("Mean activation per layer (bias shift)"),
                                          _("mean activation"), zero=True), ("act_mean",)),
    ChartSpec(lambda df: charts.per_layer(df, "act_std", _("Activation std per layer"), _("std")), ("act_std",)),
    SATURATED,
    ChartSpec(lambda df: charts.bars(df.rename(columns={"value": "seconds"}), "seconds", "run",
                                     _("Wall time per activation"), _("seconds")), ("wall_seconds",)),
]

st.title(_("Activation functions"))
lesson.lead(EXP.name, then=("compare",))


@st.fragment
def draw_gallery() -> None:
    """The gallery reruns on its own: moving its controls redraws it without stopping a network that
    trains further down the page (a fragment's rerun never preempts the page's run)."""
    shown = st.multiselect(_("Activations to draw"), list(gallery.ACTIVATIONS), default=list(gallery.ACTIVATIONS),
                           key="gallery.shown", help=_("Each panel shows f(x), f′(x) (by autograd on the torch module) "
                                                     "and, shaded red, where f′ is below 1% of its maximum."))
    params = controls.field_controls(gallery.GalleryConfig, "gallery", ns="gallery", columns=4)
    if shown and params is not None:
        values = gallery.parameters(params)  # built once per choice: a Train click reruns the gallery too
        st.vega_lite_chart(vega.cached_spec(("gallery", tuple(shown), tuple(sorted(values.items()))),
                                            lambda: charts.gallery(gallery.table(shown, **values))), width="content")


with st.expander(_("Gallery: every activation, its slope, and where it saturates")):
    lesson.show(EXP.name, "gallery")
    draw_gallery()
cfg = controls.config_controls(EXP)


def charts_for(cfg) -> list[ChartSpec]:
    """No empty chart: dead units only where a ReLU-like activation trains, saturated ones only where a
    bounded one (sigmoid, tanh) does; the probes record each for those alone."""
    bounded = [a in BOUNDED for a in cfg.activations]
    return [c for c in CHARTS if (c is not DEAD or not all(bounded)) and (c is not SATURATED or any(bounded))]


run_section(EXP, cfg, charts_for, help=_("Train one network per activation, step by step."))
lesson.folded(EXP.name, "charts", _("What the charts show"))
